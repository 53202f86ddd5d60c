package consulacl

import (
	"net"
	"strings"

	"github.com/hashicorp/consul/api"

	"github.com/portolan/portolan/internal/loopback"
)

// ClearText reports whether a client of the Consul agent at address, as
// api.NewClient makes it, would send an ACL token in clear across a
// network: plain http to a host other than loopback, with token set or one
// NewClient falls back on (CONSUL_HTTP_TOKEN, CONSUL_HTTP_TOKEN_FILE, or
// CONSUL_HTTP_AUTH's Basic credentials).
//
// address is read as NewClient reads it: "http://", "https://", "unix://"
// or no scheme, which takes CONSUL_HTTP_SSL's (http unless it is true; it
// keeps an http:// address on TLS too). Host names are not resolved, as
// loopback.Host says why.
//
// It is for a warning, not a refusal: Consul's own default is plain http to
// the node's agent, and that agent is often reached at an address that is
// not loopback yet never leaves the machine (Kubernetes' status.hostIP,
// Docker's bridge gateway).
func ClearText(address, token string) bool {
	def := api.DefaultNonPooledConfig() // what NewClient takes from the environment
	if token == "" && def.Token == "" && def.TokenFile == "" && def.HttpAuth == nil {
		return false
	}
	if address == "" {
		address = def.Address
	}
	scheme, rest, found := strings.Cut(address, "://")
	if !found || scheme == "http" {
		scheme, rest = def.Scheme, strings.TrimPrefix(address, "http://")
	}
	if scheme != "http" {
		return false // https, or a unix socket
	}
	host, _, _ := strings.Cut(rest, "/") // after it, a path prefix
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	return !loopback.Host(strings.Trim(host, "[]"))
}
