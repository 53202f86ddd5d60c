package gateway

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"syscall"

	"github.com/portolan/portolan/internal/loopback"
)

// oidcDiscovery is what the gateway reads of an issuer's discovery
// document (OpenID Connect Discovery 1.0 section 3).
type oidcDiscovery struct {
	Issuer string   `json:"issuer"`
	JWKS   string   `json:"jwks_uri"`
	Algs   []string `json:"id_token_signing_alg_values_supported"`
}

// discover reads the discovery document under endpoint, as APIcast's
// resty/oidc/discovery.lua does: <endpoint>/.well-known/openid-configuration,
// a single 200 answer (its HTTP client follows no redirect).
//
// Tokens' iss is then checked against the document's issuer, as APIcast
// checks it ("issuer = config.issuer"), not against the endpoint: an issuer
// reached by an internal address (http://keycloak:8080/realms/x) names
// itself by its public one, and the endpoint that serves the document
// chooses the keys anyway, so its issuer name adds no trust. The document
// must name an issuer, and a jwks_uri that keeps HTTPS when the endpoint
// has it (a key set read in clear could be anyone's) and reaches no
// link-local address.
//
// Neither the endpoint nor the jwks_uri may be plain HTTP off loopback
// unless x.insecure: an address is judged here, a name when it is dialled
// (refuseOffLoopback).
func (x *oidcIssuers) discover(ctx context.Context, endpoint string) (oidcDiscovery, error) {
	var d oidcDiscovery
	base, err := url.Parse(endpoint)
	if err != nil {
		return d, fmt.Errorf("oidc_issuer_endpoint: %w", err)
	}
	if ip, err := netip.ParseAddr(strings.Trim(base.Hostname(), "[]")); err == nil && forbiddenIssuerAddr(ip) {
		return d, errors.New("oidc_issuer_endpoint names a link-local address, refused: set the issuer's own address")
	}
	if err := x.checkPlainHTTP(base); err != nil {
		return d, fmt.Errorf("oidc_issuer_endpoint %s: %w", endpoint, err)
	}
	if err := getJSON(ctx, x.client, strings.TrimSuffix(endpoint, "/")+"/.well-known/openid-configuration", "discovery document", &d); err != nil {
		return d, err
	}
	if strings.TrimSpace(d.Issuer) == "" {
		return d, errors.New("the discovery document names no issuer: check oidc_issuer_endpoint")
	}
	if d.JWKS == "" {
		return d, errors.New("the discovery document has no jwks_uri")
	}
	if err := x.checkJWKSURL(base, d.JWKS); err != nil {
		return d, err
	}
	return d, nil
}

// checkJWKSURL refuses a jwks_uri that is not absolute http(s), that leaves
// HTTPS for HTTP, that names a link-local address, or that is plain HTTP to
// an address off loopback.
func (x *oidcIssuers) checkJWKSURL(endpoint *url.URL, jwks string) error {
	u, err := url.Parse(jwks)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("the discovery document's jwks_uri %q is not an absolute http(s) URL", clip(jwks))
	}
	if endpoint.Scheme == "https" && u.Scheme != "https" {
		return fmt.Errorf("the discovery document's jwks_uri %q is not HTTPS while the issuer is: fix the issuer's URL settings", clip(jwks))
	}
	if ip, err := netip.ParseAddr(strings.Trim(u.Hostname(), "[]")); err == nil && forbiddenIssuerAddr(ip) {
		return fmt.Errorf("the discovery document's jwks_uri %q names a link-local address, refused", clip(jwks))
	}
	if err := x.checkPlainHTTP(u); err != nil {
		return fmt.Errorf("the discovery document's jwks_uri %q: %w", clip(u.Redacted()), err)
	}
	return nil
}

// checkPlainHTTP refuses u when it is plain HTTP to an address off
// loopback, unless x.insecure. A name passes: what it resolves to is
// judged when dialled.
func (x *oidcIssuers) checkPlainHTTP(u *url.URL) error {
	if u.Scheme != "http" || x.insecure {
		return nil
	}
	if ip, err := netip.ParseAddr(strings.Trim(u.Hostname(), "[]")); err == nil && !plainHTTPAllowed(ip) {
		return errPlainOffLoopback(ip.String())
	}
	return nil
}

// plainHTTPAllowed reports whether an issuer's metadata may be read in
// clear from ip: only from this host, where no one else is on the way.
func plainHTTPAllowed(ip netip.Addr) bool { return ip.Unmap().IsLoopback() }

// errPlainOffLoopback says why plain HTTP to host is refused, and the way
// out.
func errPlainOffLoopback(host string) error {
	return fmt.Errorf("plain HTTP to %s, off loopback, is refused: anyone on the way could serve their own keys "+
		"and mint tokens the gateway accepts (use the issuer's https URL, or start the agent with "+
		"--oidc-insecure-issuers to take that risk)", host)
}

// plainOffLoopback reports whether rawURL is plain HTTP to a host not
// known as loopback by its name: what an insecure issuer is warned of.
func plainOffLoopback(rawURL string) bool {
	u, err := url.Parse(rawURL)
	return err == nil && u.Scheme == "http" && !loopback.Host(u.Hostname())
}

// getJSON GETs url with the issuer client and decodes its 200 answer,
// bounded by maxOIDCMetadata.
func getJSON(ctx context.Context, client *http.Client, url, what string, v any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return fmt.Errorf("%s request: %w", what, err)
	}
	req.Header.Set("Accept", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		return fmt.Errorf("fetching the issuer's %s: %w", what, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("fetching the issuer's %s: status %d (redirects are not followed: set the URL that answers)", what, resp.StatusCode)
	}
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxOIDCMetadata+1))
	if err != nil {
		return fmt.Errorf("reading the issuer's %s: %w", what, err)
	}
	if len(b) > maxOIDCMetadata {
		return fmt.Errorf("the issuer's %s is over %d bytes", what, maxOIDCMetadata)
	}
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("the issuer's %s is not JSON of the expected shape: %w", what, err)
	}
	return nil
}

// noRedirects is the issuer client's CheckRedirect: APIcast's client
// follows none, and a redirect could lead from HTTPS to HTTP or to a host
// the endpoint never named.
func noRedirects(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }

// refuseLinkLocal is the issuer client's dialer Control: no fetch of a
// discovery document or key set connects to a link-local address, whatever
// name or redirect led there. Those hold cloud metadata services
// (169.254.169.254, fd00:ec2::254), which a discovery document naming them
// as its jwks_uri would otherwise have the gateway query.
func refuseLinkLocal(_, address string, _ syscall.RawConn) error {
	host, _, err := net.SplitHostPort(address)
	if err != nil {
		return nil
	}
	if ip, err := netip.ParseAddr(host); err == nil && forbiddenIssuerAddr(ip) {
		return fmt.Errorf("%s is a link-local address: OpenID Connect metadata is never fetched from one", host)
	}
	return nil
}

// refuseOffLoopback is the dialer Control of plain-HTTP fetches: besides
// what refuseLinkLocal refuses, a connection in clear reaches loopback only,
// whatever name (http://keycloak:8080) led elsewhere. Those fetches go
// through no proxy (oidcIssuers.plain), which would be what is judged here.
func refuseOffLoopback(network, address string, c syscall.RawConn) error {
	if err := refuseLinkLocal(network, address, c); err != nil {
		return err
	}
	host, _, err := net.SplitHostPort(address)
	if err != nil {
		return fmt.Errorf("plain HTTP to %q: not a host and port, refused", address)
	}
	ip, err := netip.ParseAddr(host)
	if err != nil || !plainHTTPAllowed(ip) {
		return errPlainOffLoopback(host)
	}
	return nil
}

// awsIMDSv6 is the IPv6 address of EC2's instance metadata service.
var awsIMDSv6 = netip.MustParseAddr("fd00:ec2::254")

func forbiddenIssuerAddr(ip netip.Addr) bool {
	ip = ip.Unmap()
	return ip.IsLinkLocalUnicast() || ip.IsLinkLocalMulticast() || ip.IsMulticast() || ip.IsUnspecified() || ip == awsIMDSv6
}
