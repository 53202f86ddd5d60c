package coordinator

import (
	"fmt"
	"net/http"
	"net/netip"
	"net/url"

	"github.com/portolan/portolan/console"
)

// ProxyConfig describes a reverse proxy in front of home that terminates
// TLS (nginx, Traefik, an OpenShift route): what browsers see of home, and
// who may say where a request came from. The zero value is no proxy: the
// console then trusts only what its own connection shows.
type ProxyConfig struct {
	// PublicURL is the URL operators open (--public-url), such as
	// https://home.example.com: its scheme decides whether the console's
	// cookies are Secure, and its origin is the one the console's forms
	// must come from.
	PublicURL string
	// TrustedProxies are the addresses and CIDR blocks of the proxies
	// (--trusted-proxies) whose X-Forwarded-For is believed when failed
	// console logins are counted by client address.
	TrustedProxies []string
}

// proxySettings is ProxyConfig parsed.
type proxySettings struct {
	public  *url.URL // nil: none
	trusted []netip.Prefix
}

// parse checks p, naming the flag at fault.
func (p ProxyConfig) parse() (proxySettings, error) {
	var s proxySettings
	if p.PublicURL != "" {
		u, err := console.ParsePublicURL(p.PublicURL)
		if err != nil {
			return s, fmt.Errorf("--public-url: %w", err)
		}
		s.public = u
	}
	proxies, err := console.ParseTrustedProxies(p.TrustedProxies)
	if err != nil {
		return s, fmt.Errorf("--trusted-proxies: %w", err)
	}
	s.trusted = proxies
	return s, nil
}

// newConsole returns the web console over this coordinator's composition,
// instance registry and usage, logging in with its access tokens. Its
// session cookie is Secure when the API is served over TLS, or when the
// public URL operators use is https.
func (c *Coordinator) newConsole() (http.Handler, error) {
	public, proxies := c.proxy.public, c.proxy.trusted
	log := c.cfg.Logger.With().Str("component", "console").Logger()
	if c.tls.insecure && public == nil {
		// Plain HTTP off loopback is served behind a proxy terminating
		// TLS: without the URL it serves, the session cookie is not Secure
		// and browsers without Sec-Fetch-Site cannot post the login form.
		log.Warn().Msg("the console behind a proxy that terminates TLS: give --public-url https://<the host operators open>, " +
			"so its session cookie is Secure and its forms are checked against that origin")
	}
	ui, err := console.New(console.Config{
		Snapshot:       c.store.Snapshot,
		Map:            c.instances,
		Usage:          c.usage,
		Tokens:         c.tokens,
		Secure:         c.tls.config != nil,
		PublicURL:      public,
		TrustedProxies: proxies,
		Version:        c.cfg.Version,
		Logger:         log,
	})
	if err != nil {
		return nil, fmt.Errorf("coordinator: the web console: %w", err)
	}
	return ui, nil
}
