package composition

import (
	"encoding/json"
	"net/url"
	"strings"
)

// A proxy's secrets are its secret_token and the client credentials 3scale
// keeps in its OIDC issuer URL (https://client:secret@issuer); a deployed
// proxy config carries both in its content. An export without secrets and
// an agent's view leave the credentials out of the URL, keeping the issuer.

// withoutUserinfo is the URL s without its user:password@ part; s itself
// when it has none. It reads s as the gateway does, the spaces around it
// trimmed, so that an issuer a gateway can use is never dropped. A value
// that is not a URL but holds an '@' may hide credentials where a parser
// cannot find them: it is dropped whole, as no gateway could use it anyway.
func withoutUserinfo(s string) string {
	u, err := url.Parse(strings.TrimSpace(s))
	if err != nil {
		if strings.Contains(s, "@") {
			return ""
		}
		return s
	}
	if u.User == nil {
		return s
	}
	u.User = nil
	return u.String()
}

// IssuerWithoutCredentials is an OIDC issuer URL as shown without secrets:
// without the client credentials 3scale keeps in it; "" for a value that
// is no URL yet holds an '@'.
func IssuerWithoutCredentials(issuer string) string { return withoutUserinfo(issuer) }

// hideProxySecrets is the proxy kind's HideSecrets.
func hideProxySecrets(p *Proxy) {
	p.SecretToken = ""
	p.OIDCIssuerEndpoint = withoutUserinfo(p.OIDCIssuerEndpoint)
}

// hideProxyConfigSecrets is the proxy config kind's HideSecrets: the
// content's proxy without its secret token and issuer credentials. A
// content it cannot read is left out whole, being no proxy a gateway reads.
// Keys are matched in any case, as encoding/json reads them (threescale's
// proxy config reader does): "Proxy" or "Secret_Token" is hidden too. It
// assigns a new content, never writing into the one it was given.
func hideProxyConfigSecrets(pc *ProxyConfig) {
	var content map[string]json.RawMessage
	if json.Unmarshal(pc.Content, &content) != nil || content == nil {
		pc.Content = json.RawMessage(`{}`)
		return
	}
	found := false
	for key, raw := range content {
		if !strings.EqualFold(key, "proxy") || string(raw) == "null" {
			continue
		}
		found = true
		var proxy map[string]json.RawMessage
		if json.Unmarshal(raw, &proxy) != nil || proxy == nil {
			delete(content, key)
			continue
		}
		hideContentSecrets(proxy)
		content[key] = mustMarshal(proxy)
	}
	if found { // a content without a proxy is kept as it was, byte for byte
		pc.Content = mustMarshal(content)
	}
}

// hideContentSecrets clears the secrets of a proxy config content's proxy,
// under keys of any case.
func hideContentSecrets(proxy map[string]json.RawMessage) {
	for key, raw := range proxy {
		switch {
		case strings.EqualFold(key, "secret_token"):
			proxy[key] = json.RawMessage(`""`)
		case strings.EqualFold(key, "oidc_issuer_endpoint"):
			var issuer string
			if json.Unmarshal(raw, &issuer) == nil && issuer != "" {
				proxy[key] = mustMarshal(withoutUserinfo(issuer))
			}
		}
	}
}

// mustMarshal encodes what is known to encode: decoded JSON, a string.
func mustMarshal(v any) json.RawMessage {
	b, err := json.Marshal(v)
	if err != nil {
		panic("composition: marshal decoded JSON: " + err.Error())
	}
	return b
}
