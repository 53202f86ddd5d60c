//go:build !agentonly

package main

import (
	"fmt"
	"net"

	"github.com/urfave/cli/v2"

	"github.com/portolan/portolan/coordinator"
)

// coordinatorTLSFlags are the coordinator's flags saying how it serves.
func coordinatorTLSFlags() []cli.Flag {
	return inCategory("TLS", []cli.Flag{
		&cli.StringFlag{Name: "tls", Value: string(coordinator.TLSAuto), Usage: "auto: HTTPS with a CA of its own (in <data-dir>/" + coordinator.TLSDir + ") unless --listen is loopback; on: HTTPS on loopback too; off: plain HTTP, on loopback only unless --insecure-http"},
		&cli.StringFlag{Name: "tls-cert", Usage: "serve this PEM certificate chain (server certificate first, its CA last: the CA's pin is what agents pin) instead of one of its own CA; re-read when the file changes (a renewal needs no restart; a pair that does not load keeps the one served, logged)"},
		&cli.StringFlag{Name: "tls-key", Usage: "PEM key of --tls-cert; re-read with it when it changes"},
		&cli.StringFlag{Name: "tls-client-ca", Usage: "require every client to present a certificate signed by a CA of this PEM file (mutual TLS); re-read when it changes"},
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
