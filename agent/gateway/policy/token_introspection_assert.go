package policy

import (
	"crypto"
	"crypto/hmac"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"strings"
	"time"
)

// The client assertions of token_introspection's client_secret_jwt and
// private_key_jwt (RFC 7523 section 2.2): what they are signed with, and
// the signing.

// assertionSettings reads what client_secret_jwt and private_key_jwt sign
// their client assertion with.
func (p *tokenIntrospection) assertionSettings(cfg tokenIntrospectionConfig, secret string, env *Env) error {
	var err error
	if p.audience, err = required("client_jwt_assertion_audience", cfg.AssertionAudience); err != nil {
		return err
	}
	p.lifetime = 60 * time.Second
	if v := cfg.AssertionExpiresIn; v != nil {
		if *v < 1 || time.Duration(*v)*time.Second > maxAssertionLifetime {
			return Invalid("client_jwt_assertion_expires_in", "must be between 1 and %d seconds, not %d", int(maxAssertionLifetime.Seconds()), *v)
		}
		p.lifetime = time.Duration(*v) * time.Second
	}
	if p.authType == authSecretJWT {
		p.hmacKey = []byte(secret)
		return nil
	}
	typ, err := OneOf("certificate_type", cfg.CertificateType, "path", "path", "embedded")
	if err != nil {
		return err
	}
	cert, err := required("certificate", cfg.Certificate)
	if err != nil {
		return err
	}
	var pemBytes []byte
	switch {
	case typ == "embedded":
		if pemBytes, err = dataURL(cert); err != nil {
			return Invalid("certificate", "%v", err)
		}
	case env.Saving:
		return nil // home's check: the file is on the agents, not here
	default:
		f, err := os.Open(cert)
		if err != nil {
			return Invalid("certificate", "cannot read the private key: %v", err)
		}
		defer f.Close()
		if pemBytes, err = io.ReadAll(io.LimitReader(f, maxCertificateBytes)); err != nil {
			return Invalid("certificate", "cannot read the private key %s: %v", cert, err)
		}
	}
	if p.rsaKey, err = parseRSAKey(pemBytes); err != nil {
		return Invalid("certificate", "%v", err)
	}
	if _, err := p.sign([]byte("probe")); err != nil {
		return Invalid("certificate", "the key cannot sign RS256: %v", err)
	}
	return nil
}

// dataURL decodes a data: URL (RFC 2397), base64 or percent-encoded.
func dataURL(s string) ([]byte, error) {
	rest, ok := strings.CutPrefix(strings.TrimSpace(s), "data:")
	meta, data, found := strings.Cut(rest, ",")
	if !ok || !found {
		return nil, errors.New("must be a data: URL with certificate_type embedded, such as data:application/x-pem-file;base64,<the PEM in base64>")
	}
	if len(data) > 2*maxCertificateBytes {
		return nil, fmt.Errorf("is over %d bytes", 2*maxCertificateBytes)
	}
	if strings.HasSuffix(strings.ToLower(meta), ";base64") {
		b, err := base64.RawStdEncoding.DecodeString(strings.TrimRight(strings.Join(strings.Fields(data), ""), "="))
		if err != nil {
			return nil, errors.New("the data: URL's base64 does not decode")
		}
		return b, nil
	}
	b, err := url.PathUnescape(data)
	if err != nil {
		return nil, errors.New("the data: URL's percent-encoding does not decode")
	}
	return []byte(b), nil
}

// parseRSAKey finds an RSA private key in PEM (PKCS #1 or PKCS #8).
func parseRSAKey(b []byte) (*rsa.PrivateKey, error) {
	for {
		block, rest := pem.Decode(b)
		if block == nil {
			return nil, errors.New("holds no RSA private key in PEM (BEGIN RSA PRIVATE KEY or BEGIN PRIVATE KEY): private_key_jwt signs RS256")
		}
		switch block.Type {
		case "RSA PRIVATE KEY":
			k, err := x509.ParsePKCS1PrivateKey(block.Bytes)
			if err != nil {
				return nil, errors.New("its RSA PRIVATE KEY does not parse")
			}
			return k, nil
		case "PRIVATE KEY":
			k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
			if err != nil {
				return nil, errors.New("its PRIVATE KEY does not parse")
			}
			rk, ok := k.(*rsa.PrivateKey)
			if !ok {
				return nil, fmt.Errorf("its key is %T, not RSA: private_key_jwt signs RS256", k)
			}
			return rk, nil
		}
		b = rest
	}
}

// assertion is the signed JWT the client authenticates with.
func (p *tokenIntrospection) assertion(jti string, now time.Time) (string, error) {
	alg := "HS256"
	if p.authType == authKeyJWT {
		alg = "RS256"
	}
	head, _ := json.Marshal(map[string]string{"typ": "JWT", "alg": alg})
	claims, _ := json.Marshal(map[string]any{"iss": p.clientID, "sub": p.clientID, "aud": p.audience, "jti": jti,
		"iat": now.Unix(), "exp": now.Add(p.lifetime).Unix()})
	b64 := base64.RawURLEncoding
	input := b64.EncodeToString(head) + "." + b64.EncodeToString(claims)
	sig, err := p.sign([]byte(input))
	if err != nil {
		return "", fmt.Errorf("signing the client assertion: %w", err)
	}
	return input + "." + b64.EncodeToString(sig), nil
}

func (p *tokenIntrospection) sign(input []byte) ([]byte, error) {
	if p.authType == authSecretJWT {
		m := hmac.New(sha256.New, p.hmacKey)
		_, _ = m.Write(input)
		return m.Sum(nil), nil
	}
	if p.rsaKey == nil {
		return nil, errors.New("no private key was read")
	}
	d := sha256.Sum256(input)
	return rsa.SignPKCS1v15(nil, p.rsaKey, crypto.SHA256, d[:])
}
