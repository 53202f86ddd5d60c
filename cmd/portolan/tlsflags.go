package main

import (
	"fmt"
	"net"
	"net/http"

	"github.com/urfave/cli/v2"

	"github.com/portolan/portolan/coordinator"
	"github.com/portolan/portolan/internal/pki"
	"github.com/portolan/portolan/registry/client"
)

// Names of the flags saying how home is trusted.
const (
	flagCAFile        = "ca-file"
	flagCAPin         = "ca-pin"
	flagTLSClientCert = "tls-client-cert"
	flagTLSClientKey  = "tls-client-key"
)

// homeTLSFlags are the flags of every command that calls home: how an
// https:// home is trusted, and the client certificate mutual TLS asks
// for. There is deliberately no flag that skips verification.
func homeTLSFlags() []cli.Flag {
	return inCategory("TLS", []cli.Flag{
		&cli.StringFlag{Name: flagCAFile, Usage: "PEM file of the CA that signed home's certificate (e.g. the coordinator's <data-dir>/tls/ca.pem); host names are checked"},
		&cli.StringFlag{Name: flagCAPin, Usage: "trust the CA whose public key has this hash (sha256:<64 hex>, logged by the coordinator at start), whatever name home is reached by"},
		&cli.StringFlag{Name: flagTLSClientCert, Usage: "PEM certificate to present to a home that requires one (its --tls-client-ca)"},
		&cli.StringFlag{Name: flagTLSClientKey, Usage: "PEM key of --tls-client-cert"},
	})
}

// homeTLS reads homeTLSFlags.
func homeTLS(c *cli.Context) (client.TLS, error) {
	t := client.TLS{CAFile: c.String(flagCAFile), CertFile: c.String(flagTLSClientCert), KeyFile: c.String(flagTLSClientKey)}
	if s := c.String(flagCAPin); s != "" {
		pin, err := pki.ParsePin(s)
		if err != nil {
			return client.TLS{}, fmt.Errorf("--%s: %w", flagCAPin, err)
		}
		t.CAPin = pin
	}
	return t, nil
}

// homeHTTPClient is an HTTP client trusting home as homeTLSFlags say, for
// code that takes an *http.Client rather than the home client; nil (the
// default client) when they say nothing.
func homeHTTPClient(c *cli.Context) (*http.Client, error) {
	t, err := homeTLS(c)
	if err != nil || t.IsZero() {
		return nil, err
	}
	cfg, err := t.Config()
	if err != nil {
		return nil, err
	}
	return &http.Client{Transport: client.NewTransport(cfg)}, nil
}

// coordinatorTLSFlags are the coordinator's flags saying how it serves.
func coordinatorTLSFlags() []cli.Flag {
	return inCategory("TLS", []cli.Flag{
		&cli.StringFlag{Name: "tls", Value: string(coordinator.TLSAuto), Usage: "auto: HTTPS with a CA of its own (in <data-dir>/" + coordinator.TLSDir + ") unless --listen is loopback; on: HTTPS on loopback too; off: plain HTTP"},
		&cli.StringFlag{Name: "tls-cert", Usage: "serve this PEM certificate chain (server certificate first, its CA last: the CA's pin is what agents pin) instead of one of its own CA"},
		&cli.StringFlag{Name: "tls-key", Usage: "PEM key of --tls-cert"},
		&cli.StringFlag{Name: "tls-client-ca", Usage: "require every client to present a certificate signed by a CA of this PEM file (mutual TLS)"},
		&cli.StringSliceFlag{Name: "tls-dns", Usage: "DNS name its own certificate names besides the host's (repeatable): the name agents reach home by"},
		&cli.StringSliceFlag{Name: "tls-ip", Usage: "IP address its own certificate names besides the host's (repeatable): a NAT's or a load balancer's"},
		&cli.BoolFlag{Name: "insecure-http", Usage: "serve plain HTTP on an address other than loopback (behind a proxy that terminates TLS); warned of every hour"},
	})
}

// coordinatorTLS reads coordinatorTLSFlags.
func coordinatorTLS(c *cli.Context) (coordinator.TLSConfig, error) {
	mode, err := coordinator.ParseTLSMode(c.String("tls"))
	if err != nil {
		return coordinator.TLSConfig{}, err
	}
	cfg := coordinator.TLSConfig{
		Mode: mode, CertFile: c.String("tls-cert"), KeyFile: c.String("tls-key"), ClientCAFile: c.String("tls-client-ca"),
		DNSNames: nonEmpty(c.StringSlice("tls-dns")), InsecureHTTP: c.Bool("insecure-http"),
	}
	for _, s := range nonEmpty(c.StringSlice("tls-ip")) {
		ip := net.ParseIP(s)
		if ip == nil {
			return coordinator.TLSConfig{}, fmt.Errorf("--tls-ip %q: not an IP address", s)
		}
		cfg.IPs = append(cfg.IPs, ip)
	}
	return cfg, nil
}
