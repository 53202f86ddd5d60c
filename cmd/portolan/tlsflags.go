package main

import (
	"fmt"
	"net/http"

	"github.com/urfave/cli/v2"

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
