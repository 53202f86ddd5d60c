package agent

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/portolan/portolan/agent/supervise"
	"github.com/portolan/portolan/registry"
)

// CheckConfig is the health check of the app: at most one of HTTP, TCP, Exec.
type CheckConfig struct {
	HTTP     string // GET this URL: 2xx passing, 429 warning, anything else critical
	TCP      string // connect to this address: passing when it accepts
	Exec     string // run this command: exit 0 passing, 1 warning, else critical
	Interval time.Duration
}

// check runs one probe and returns a status and its output.
type check func(ctx context.Context) (status, output string)

func (c CheckConfig) describe() string {
	switch {
	case c.HTTP != "":
		return "http GET " + c.HTTP
	case c.TCP != "":
		return "tcp " + c.TCP
	case c.Exec != "":
		return "exec " + c.Exec
	}
	return ""
}

// build validates the configuration and returns the probe, or nil without one.
func (c CheckConfig) build() (check, error) {
	n := 0
	for _, s := range []string{c.HTTP, c.TCP, c.Exec} {
		if s != "" {
			n++
		}
	}
	if n > 1 {
		return nil, errors.New("give at most one of --check-http, --check-tcp and --check-exec")
	}
	switch {
	case c.HTTP != "":
		if !strings.HasPrefix(c.HTTP, "http://") && !strings.HasPrefix(c.HTTP, "https://") {
			return nil, fmt.Errorf("--check-http %q: want an http(s) URL", c.HTTP)
		}
		client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
		return func(ctx context.Context) (string, string) { return httpCheck(ctx, client, c.HTTP) }, nil
	case c.TCP != "":
		if _, _, err := net.SplitHostPort(c.TCP); err != nil {
			return nil, fmt.Errorf("--check-tcp %q: %w", c.TCP, err)
		}
		return func(ctx context.Context) (string, string) { return tcpCheck(ctx, c.TCP) }, nil
	case c.Exec != "":
		args := strings.Fields(c.Exec)
		return func(ctx context.Context) (string, string) { return execCheck(ctx, args) }, nil
	}
	return nil, nil
}

func httpCheck(ctx context.Context, client *http.Client, url string) (string, string) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return registry.StatusCritical, err.Error()
	}
	resp, err := client.Do(req)
	if err != nil {
		return registry.StatusCritical, err.Error()
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	out := fmt.Sprintf("HTTP GET %s: %s %s", url, resp.Status, strings.TrimSpace(string(body)))
	switch {
	case resp.StatusCode >= 200 && resp.StatusCode < 300:
		return registry.StatusPassing, out
	case resp.StatusCode == http.StatusTooManyRequests:
		return registry.StatusWarning, out
	}
	return registry.StatusCritical, out
}

func tcpCheck(ctx context.Context, addr string) (string, string) {
	conn, err := (&net.Dialer{}).DialContext(ctx, "tcp", addr)
	if err != nil {
		return registry.StatusCritical, err.Error()
	}
	conn.Close()
	return registry.StatusPassing, "TCP connect " + addr + ": success"
}

func execCheck(ctx context.Context, args []string) (string, string) {
	// Through the supervisor's reaper: nothing else in the agent may wait
	// for children (see doc.go).
	code, out, err := supervise.CombinedOutput(ctx, args)
	text := strings.TrimSpace(string(out))
	if len(text) > registry.MaxOutputLen {
		text = text[:registry.MaxOutputLen]
	}
	switch {
	case err != nil:
		return registry.StatusCritical, strings.TrimSpace(err.Error() + " " + text)
	case code == 0:
		return registry.StatusPassing, text
	case code == 1:
		return registry.StatusWarning, text
	case ctx.Err() != nil:
		return registry.StatusCritical, "timed out: " + text
	}
	return registry.StatusCritical, fmt.Sprintf("exit %d: %s", code, text)
}
