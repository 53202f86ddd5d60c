//go:build !agentonly

package main

import (
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"

	"github.com/urfave/cli/v2"

	"github.com/portolan/portolan/coordinator"
)

// maxReadinessBody bounds what is read of a /health/ready answer: a few
// words of JSON.
const maxReadinessBody = 4 << 10

// coordinatorReadiness asks the coordinator on --listen for GET
// /health/ready and returns its answer and the exit code it means.
//
// The coordinator serves HTTPS or plain HTTP depending on --tls and its
// address, which a health check in its container cannot see: HTTPS is
// tried first, and plain HTTP when the server does not speak TLS. The
// certificate is not verified, as Kubernetes' HTTPS probes do not verify
// it: nothing is sent but the path, and only the status code is believed,
// from a listener of this very host.
func coordinatorReadiness(c *cli.Context) ([]byte, int, error) {
	ctx, cancel := contextWithTimeout(c)
	defer cancel()
	addr, err := localAddr(c.String("listen"))
	if err != nil {
		return nil, 0, fmt.Errorf("status: --listen %q: %w", c.String("listen"), err)
	}
	// Not verified: see above. No proxy either (the zero Transport's).
	hc := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}
	defer hc.CloseIdleConnections()
	ask := func(scheme string) (*http.Response, error) {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, scheme+"://"+addr+coordinator.PathHealthReady, nil)
		if err != nil {
			return nil, err
		}
		return hc.Do(req)
	}
	resp, err := ask("https")
	var notTLS tls.RecordHeaderError
	if errors.Is(err, http.ErrSchemeMismatch) || errors.As(err, &notTLS) {
		resp, err = ask("http")
	}
	if err != nil {
		return nil, 0, fmt.Errorf("status: cannot reach the coordinator at %s: %w (see --listen)", addr, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxReadinessBody))
	if err != nil {
		return nil, 0, fmt.Errorf("status: reading the coordinator's answer: %w", err)
	}
	switch resp.StatusCode {
	case http.StatusOK:
		return body, statusPassing, nil
	case http.StatusServiceUnavailable:
		return body, statusCritical, nil
	}
	return nil, 0, fmt.Errorf("status: the coordinator answered %s to %s (is it a coordinator?)", resp.Status, coordinator.PathHealthReady)
}

// localAddr is a listen address as this host dials it: a wildcard host
// (":7070", "0.0.0.0:7070", "[::]:7070") is the loopback address.
func localAddr(listen string) (string, error) {
	host, port, err := net.SplitHostPort(listen)
	if err != nil {
		return "", err
	}
	if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
		host = "127.0.0.1"
		if ip != nil && ip.To4() == nil {
			host = "::1"
		}
	}
	return net.JoinHostPort(host, port), nil
}
