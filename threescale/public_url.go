package threescale

import (
	"net/http"
	"net/url"
	"strings"
)

// SetPublicURL sets the scheme and host clients reach the API at through a
// reverse proxy that terminates TLS (the coordinator's --public-url): the
// URLs answers carry (the provider account's base URLs, links, callback
// URLs, the endpoint a deployed proxy config reports to) then start with
// it instead of home's own address. nil: the request's own scheme and Host.
func (a *API) SetPublicURL(u *url.URL) {
	if u != nil {
		u = &url.URL{Scheme: u.Scheme, Host: u.Host}
	}
	a.public = u
}

// base is the scheme and host the URLs of c's answer start with: the
// public URL when one is set, else what the request reached.
func (c *call) base() *url.URL {
	if c.api.public != nil {
		return c.api.public
	}
	return requestOrigin(c.r)
}

// baseString is base as "scheme://host", which porta's hrefs start with.
func (c *call) baseString() string { return c.base().String() }

// requestOrigin is the scheme and Host r reached home with.
func requestOrigin(r *http.Request) *url.URL {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return &url.URL{Scheme: scheme, Host: r.Host}
}

// proxyBackendOf is the Service Management endpoint a proxy config deployed
// by c reports to: this coordinator, at its public URL; without one, as
// the request reached it, where X-Forwarded-Proto and X-Forwarded-Host (a
// proxy in front of home) are taken as the caller's word: the caller holds
// an admin token and writes only its own configs.
func proxyBackendOf(c *call) proxyBackend {
	u := c.base()
	if c.api.public == nil {
		u = &url.URL{Scheme: u.Scheme, Host: u.Host}
		if p := c.r.Header.Get("X-Forwarded-Proto"); p == "http" || p == "https" {
			u.Scheme = p
		}
		if h, _, _ := strings.Cut(c.r.Header.Get("X-Forwarded-Host"), ","); strings.TrimSpace(h) != "" {
			u.Host = strings.TrimSpace(h)
		}
	}
	return proxyBackend{Endpoint: u.String(), Host: u.Hostname()}
}
