package threescale

import (
	"net/http"
	"net/url"
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
// by c reports to: this coordinator, at its public URL, or as the request
// reached it. X-Forwarded-Host and X-Forwarded-Proto are not read: anything
// between a client and home could write them, and every gateway would then
// report usage to their host (behind a proxy, --public-url says the URL).
func proxyBackendOf(c *call) proxyBackend {
	u := c.base()
	return proxyBackend{Endpoint: u.String(), Host: u.Hostname()}
}
