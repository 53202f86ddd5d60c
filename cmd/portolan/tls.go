//go:build !agentonly

package main

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"net"
	"os"
	"path/filepath"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/portolan/portolan/internal/atomicfile"
	"github.com/portolan/portolan/internal/pki"
)

// tlsCommand is `portolan tls`: a CA and certificates for those who manage
// their own, as `consul tls` makes them. --tls auto needs none of it.
func tlsCommand() *cli.Command {
	return &cli.Command{
		Name:  "tls",
		Usage: "create a CA and certificates for the coordinator (--tls-cert, --tls-client-ca) and agents (--ca-file, --tls-client-cert)",
		Description: `The coordinator needs none of this: with --tls auto it makes its own CA in its
data dir. These commands are for a CA of your own, as consul tls does:

  portolan tls ca create
  portolan tls cert create --server --dns home.example.com --ip 203.0.113.7
  portolan coordinator --tls-cert portolan-server.pem --tls-key portolan-server-key.pem \
    --tls-client-ca ca.pem ...
  portolan tls cert create --agent
  portolan agent --ca-file ca.pem --tls-client-cert portolan-agent.pem \
    --tls-client-key portolan-agent-key.pem ...

Every file is written 0600 and never overwritten.`,
		Subcommands: []*cli.Command{
			{Name: "ca", Usage: "manage the CA", Subcommands: []*cli.Command{tlsCACreateCommand()}},
			{Name: "cert", Usage: "manage certificates", Subcommands: []*cli.Command{tlsCertCreateCommand()}},
		},
	}
}

func tlsCACreateCommand() *cli.Command {
	return &cli.Command{
		Name:      "create",
		Usage:     "create a CA: " + pki.CACertFile + " and " + pki.CAKeyFile,
		UsageText: "portolan tls ca create [--dir D] [--name NAME]",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "dir", Value: ".", Usage: "directory to write the CA to (created 0700)"},
			&cli.StringFlag{Name: "name", Value: pki.DefaultCAName, Usage: "the CA's common name"},
		},
		Action: func(c *cli.Context) error {
			if err := noArguments(c); err != nil {
				return err
			}
			dir := c.String("dir")
			ca, err := pki.NewAuthority(c.String("name"), time.Now())
			if err != nil {
				return fmt.Errorf("tls ca create: %w", err)
			}
			keyPEM, err := ca.KeyPEM()
			if err != nil {
				return fmt.Errorf("tls ca create: %w", err)
			}
			certFile, keyFile := filepath.Join(dir, pki.CACertFile), filepath.Join(dir, pki.CAKeyFile)
			if err := writeNewFiles(c.App.Writer, dir, []newFile{
				{keyFile, "CA key", keyPEM}, {certFile, "CA certificate", ca.CertPEM()},
			}); err != nil {
				return fmt.Errorf("tls ca create: %w", err)
			}
			_, err = fmt.Fprintf(c.App.Writer, "CA pin: %s\n", ca.Pin())
			return err
		},
	}
}

func tlsCertCreateCommand() *cli.Command {
	return &cli.Command{
		Name:  "create",
		Usage: "issue a server (coordinator) or agent (client) certificate from the CA",
		UsageText: "portolan tls cert create --server [--dns NAME]... [--ip ADDR]... [--ca D] [--days N] [--dir D]\n" +
			"portolan tls cert create --agent [--dns NAME]... [--ca D] [--days N] [--dir D]",
		Description: `Writes portolan-server.pem (the certificate followed by the CA: serve it whole,
so that agents find the CA they pin) and portolan-server-key.pem, or
portolan-agent.pem and portolan-agent-key.pem. A server certificate names
localhost and 127.0.0.1 besides --dns and --ip.`,
		Flags: []cli.Flag{
			&cli.BoolFlag{Name: "server", Usage: "a server certificate, for the coordinator's --tls-cert"},
			&cli.BoolFlag{Name: "agent", Usage: "a client certificate, for --tls-client-cert (mutual TLS)"},
			&cli.StringSliceFlag{Name: "dns", Usage: "DNS name the certificate names (repeatable)"},
			&cli.StringSliceFlag{Name: "ip", Usage: "IP address the certificate names (repeatable)"},
			&cli.StringFlag{Name: "ca", Value: ".", Usage: "directory of the CA (" + pki.CACertFile + ", " + pki.CAKeyFile + ")"},
			&cli.IntFlag{Name: "days", Value: int(pki.DefaultLeafLifetime / (24 * time.Hour)), Usage: "days the certificate is valid"},
			&cli.StringFlag{Name: "dir", Value: ".", Usage: "directory to write the certificate to (created 0700)"},
		},
		Action: func(c *cli.Context) error {
			if err := noArguments(c); err != nil {
				return err
			}
			leaf, name, err := leafFromFlags(c)
			if err != nil {
				return fmt.Errorf("tls cert create: %w", err)
			}
			caDir := c.String("ca")
			ca, err := pki.LoadAuthority(filepath.Join(caDir, pki.CACertFile), filepath.Join(caDir, pki.CAKeyFile))
			if err != nil {
				return fmt.Errorf("tls cert create: %w (see --ca, or portolan tls ca create)", err)
			}
			chainPEM, keyPEM, err := ca.Issue(leaf, time.Now())
			if err != nil {
				return fmt.Errorf("tls cert create: %w", err)
			}
			dir := c.String("dir")
			if err := writeNewFiles(c.App.Writer, dir, []newFile{
				{filepath.Join(dir, name+"-key.pem"), leaf.Role.String() + " key", keyPEM},
				{filepath.Join(dir, name+".pem"), leaf.Role.String() + " certificate", chainPEM},
			}); err != nil {
				return fmt.Errorf("tls cert create: %w", err)
			}
			_, err = fmt.Fprintf(c.App.Writer, "CA pin: %s\n", ca.Pin())
			return err
		},
	}
}

// leafFromFlags is the certificate --server or --agent, --dns, --ip and
// --days describe, and the base name of its files.
func leafFromFlags(c *cli.Context) (pki.Leaf, string, error) {
	var leaf pki.Leaf
	var name string
	switch {
	case c.Bool("server") == c.Bool("agent"):
		return leaf, "", errors.New("want one of --server and --agent")
	case c.Bool("server"):
		leaf.Role, name = pki.RoleServer, "portolan-server"
		leaf.DNSNames = []string{"localhost"}
		leaf.IPs = []net.IP{net.IPv4(127, 0, 0, 1).To4(), net.IPv6loopback}
	default:
		leaf.Role, name = pki.RoleClient, "portolan-agent"
	}
	// The first --dns given names the certificate (its common name).
	leaf.DNSNames = append(nonEmpty(c.StringSlice("dns")), leaf.DNSNames...)
	for _, s := range nonEmpty(c.StringSlice("ip")) {
		ip := net.ParseIP(s)
		if ip == nil {
			return leaf, "", fmt.Errorf("--ip %q: not an IP address", s)
		}
		leaf.IPs = append(leaf.IPs, ip)
	}
	if c.Int("days") <= 0 {
		return leaf, "", fmt.Errorf("--days %d: want a positive number of days", c.Int("days"))
	}
	leaf.Lifetime = daysLifetime(c.Int("days"))
	return leaf, name, nil
}

// daysLifetime is days as a lifetime, saturated at the longest
// time.Duration rather than wrapped around: the CA caps a lifetime at its
// own end anyway, so a huge --days means "as long as the CA lasts", never
// minutes.
func daysLifetime(days int) time.Duration {
	const day = 24 * time.Hour
	if int64(days) > int64(math.MaxInt64/day) {
		return math.MaxInt64
	}
	return time.Duration(days) * day
}

// newFile is a file writeNewFiles writes.
type newFile struct {
	path, what string
	data       []byte
}

// writeNewFiles writes files 0600 into dir (created 0700), none of which
// may exist yet, and says what it wrote. Nothing is written when one
// exists: a CA key overwritten is every certificate it signed orphaned.
// When a write fails, the files written before it are removed, so that a
// key is not left without its certificate to block the next attempt.
func writeNewFiles(out io.Writer, dir string, files []newFile) (err error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("create %s: %w", dir, err)
	}
	for _, f := range files {
		if _, err := os.Stat(f.path); err == nil {
			return fmt.Errorf("%s exists: it is not overwritten (move it, or write elsewhere with --dir)", f.path)
		} else if !errors.Is(err, fs.ErrNotExist) {
			return err
		}
	}
	var written []string
	defer func() {
		if err != nil {
			for _, path := range written {
				os.Remove(path)
			}
		}
	}()
	for _, f := range files {
		if err := writeExclusive(f.path, f.data); err != nil {
			return err
		}
		written = append(written, f.path)
	}
	for _, f := range files {
		fmt.Fprintf(out, "==> Wrote %s %s\n", f.what, f.path)
	}
	return nil
}

// writeExclusive creates path 0600 (failing if it exists) holding data,
// whole or not at all (atomicfile.WriteNew): a run killed while writing a
// key leaves none, rather than a partial one the next run refuses to
// overwrite.
func writeExclusive(path string, data []byte) error {
	return atomicfile.WriteNew(path, data, 0o600)
}
