package policy

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
)

// oauthMTLS is APIcast's oauth_mtls ("OAuth 2.0 Mutual TLS Client
// Authentication"): "This policy executes OAuth 2.0 Mutual TLS Client
// Authentication (https://tools.ietf.org/html/rfc8705) for every API
// call": the access token is bound to the client's certificate (RFC 8705
// section 3), its cnf claim's "x5t#S256" being the base64url SHA-256 of
// the certificate's DER, without padding.
//
// In the access phase, as APIcast's, a request is refused unless the
// apicast element verified a token (an OpenID Connect service: Context.JWT)
// and the client presented, in the TLS handshake, a certificate whose
// thumbprint is the token's cnf "x5t#S256": 401 with APIcast's body
// {"error": "invalid_token"} (application/json; charset=utf-8). A request
// over plain HTTP or h2c has no certificate and is refused. The policy has
// no configuration. The certificate is not checked against any CA (the
// binding is to the key the client proved it holds in the handshake);
// tls_validation does that when wanted, as in APIcast.
type oauthMTLS struct {
	denied prometheus.Counter
}

// oauthMTLSRefused is APIcast's answer, byte for byte.
var oauthMTLSRefused = []byte(`{"error": "invalid_token"}`)

func newOAuthMTLS(conf json.RawMessage, env *Env) (Policy, error) {
	var cfg struct{}
	if err := Decode(conf, &cfg); err != nil {
		return nil, err
	}
	return &oauthMTLS{denied: env.Metrics.Policy.WithLabelValues("oauth_mtls", "denied")}, nil
}

func (p *oauthMTLS) Name() string { return "oauth_mtls" }

// UsesClientCertificate: the handshake must ask for the certificate the
// token is bound to.
func (p *oauthMTLS) UsesClientCertificate() bool { return true }

func (p *oauthMTLS) Access(c *Context) {
	if !certificateBound(c) {
		p.denied.Inc()
		c.Respond(http.StatusUnauthorized, "application/json; charset=utf-8", oauthMTLSRefused)
	}
}

// certificateBound reports whether c's token is bound to the certificate
// its client presented.
func certificateBound(c *Context) bool {
	if c.JWT == nil || c.R.TLS == nil || len(c.R.TLS.PeerCertificates) == 0 {
		return false
	}
	cnf, _ := c.JWT["cnf"].(map[string]any)
	want, _ := cnf["x5t#S256"].(string)
	if want == "" {
		return false
	}
	sum := sha256.Sum256(c.R.TLS.PeerCertificates[0].Raw)
	return base64.RawURLEncoding.EncodeToString(sum[:]) == want
}
