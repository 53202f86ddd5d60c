package client

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"time"

	"github.com/portolan/portolan/internal/loopback"
	"github.com/portolan/portolan/internal/redact"
	"github.com/portolan/portolan/registry"
)

// Bounds on what the client reads from home.
const (
	// MaxReplyBytes bounds the answer to a write (register, heartbeat, usage batch).
	MaxReplyBytes = 16 << 20
	// MaxDocumentBytes bounds a read: a composition document or a service map.
	MaxDocumentBytes = 64 << 20
	// MaxExportBytes bounds an exported composition (with secrets, every entity).
	MaxExportBytes = 256 << 20
	// maxErrorBytes bounds the body kept in a StatusError.
	maxErrorBytes = 4 << 10
)

// Config says where home is and how to reach it.
type Config struct {
	// Address is home's base URL: http:// or https://, such as
	// http://127.0.0.1:7070 (a trailing slash is dropped; a path prefix is
	// kept). With a Token, http:// is refused but on loopback.
	Address string
	// Token is the credential the client starts with. Register sends it
	// as a Bearer token (a join token, or the bootstrap agent token); the
	// other calls of the agent protocol send the instance credential
	// Register got instead, and Token only until there is one (an admin
	// access token reading the map). The admin API (ExportComposition,
	// ImportComposition, the join token calls) sends it as the password of
	// Basic auth, as 3scale's admin APIs take an access token. Empty sends
	// none.
	Token string
	// Timeout bounds each call that does not block; 0 leaves it to the
	// caller's context. A blocking read (Map, Composition, MapQuery or
	// Query with an index above 0, which home holds for the wait asked,
	// or its default wait) is bounded by the caller's context alone: it
	// outlives any ordinary timeout by design.
	Timeout time.Duration
	// Transport sends the requests; nil is http.DefaultTransport, or one
	// made for TLS when TLS sets anything.
	Transport http.RoundTripper
	// TLS says how an https:// home is trusted (CA file, CA pin) and the
	// client certificate for mutual TLS; exclusive with Transport.
	TLS TLS
}

// Client calls one home. It is safe for concurrent use.
type Client struct {
	base  string // no trailing slash
	token string
	// credential is the instance credential of the last registration: what
	// every agent call but Register presents. "" until then.
	credential atomic.Pointer[string]
	// http sends the calls that do not block, within Config.Timeout; watch
	// sends blocking reads, with no timeout of its own.
	http, watch *http.Client
}

// New returns a client of the home at cfg.Address.
func New(cfg Config) (*Client, error) {
	addr := strings.TrimSpace(cfg.Address)
	u, err := url.Parse(addr)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("%q: want an http:// or https:// URL such as http://127.0.0.1:7070", cfg.Address)
	}
	if u.Scheme == "http" && cfg.Token != "" && !loopback.Host(u.Hostname()) {
		// Every call carries a credential: off this machine, plain HTTP
		// hands it to whoever is on the way. Home serves HTTPS there.
		shown := strings.TrimSuffix(u.Redacted(), "/")
		return nil, fmt.Errorf("%s: plain http to a host other than loopback would send the token in clear: use https://%s", shown, strings.TrimPrefix(shown, "http://"))
	}
	transport, err := transportFor(cfg, u.Scheme)
	if err != nil {
		return nil, err
	}
	return &Client{
		base:  strings.TrimSuffix(u.String(), "/"),
		token: cfg.Token,
		http:  &http.Client{Transport: transport, Timeout: cfg.Timeout, CheckRedirect: noRedirect},
		watch: &http.Client{Transport: transport, CheckRedirect: noRedirect},
	}, nil
}

// Address is home's base URL without its user information: fit for
// messages. A user name alone may be a token, as 3scale's toolbox writes
// its remotes (https://TOKEN@host), which url.URL.Redacted keeps.
func (c *Client) Address() string {
	u, err := url.Parse(c.base)
	if err != nil {
		return "the home URL"
	}
	u.User = nil
	return u.String()
}

// withoutUserInfo is err, a failed call's, with the URL that net/http
// quotes in it (a *url.Error's) shown without its user information:
// net/http hides a password there, never a user name.
func withoutUserInfo(err error) error {
	var ue *url.Error
	if !errors.As(err, &ue) {
		return err
	}
	if u, perr := url.Parse(ue.URL); perr == nil && !strings.Contains(u.Host, "@") {
		u.User = nil
		ue.URL = u.String()
	} else {
		ue.URL = cmp.Or(redact.URL(ue.URL), "the home URL")
	}
	return err
}

// auth is how a call presents the credential.
type auth int

const (
	bearer auth = iota // the agent protocol: the instance credential, else Token
	join               // registration: Token, the join token
	basic              // the admin API: Token
)

// request is one call to home.
type request struct {
	method, path string
	query        url.Values
	body         []byte // JSON; nil for none
	contentType  string // of body, when not JSON
	auth         auth
	blocking     bool // a blocking read: no client timeout
}

// jsonBody encodes v as a request body.
func jsonBody(v any) ([]byte, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("encode request: %w", err)
	}
	return b, nil
}

// newRequest builds the HTTP request of r.
func (c *Client) newRequest(ctx context.Context, r *request) (*http.Request, error) {
	target := c.base + r.path
	if len(r.query) > 0 {
		target += "?" + r.query.Encode()
	}
	var body io.Reader
	if r.body != nil {
		body = bytes.NewReader(r.body)
	}
	req, err := http.NewRequestWithContext(ctx, r.method, target, body)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "application/json")
	if r.body != nil {
		req.Header.Set("Content-Type", cmp.Or(r.contentType, "application/json"))
	}
	switch tok := c.token; r.auth {
	case basic:
		if tok != "" {
			req.SetBasicAuth("", tok)
		}
	case bearer:
		if cred := c.Credential(); cred != "" {
			tok = cred
		}
		fallthrough
	case join:
		if cred := c.Credential(); r.auth == join && cred != "" {
			// The credential of the last registration: through a join
			// token past its lifetime, home lets the instance it was
			// issued to register again (registry/rejoin.go).
			req.Header.Set(registry.CredentialHeader, cred)
		}
		fallthrough
	default:
		if tok != "" {
			req.Header.Set("Authorization", "Bearer "+tok)
		}
	}
	return req, nil
}

// Credential is the instance credential the client presents, from its last
// registration (or SetCredential); "" for none.
func (c *Client) Credential() string {
	if p := c.credential.Load(); p != nil {
		return *p
	}
	return ""
}

// SetCredential makes the client present cred (an instance credential) on
// every agent call but Register; "" goes back to Token. Register sets it.
func (c *Client) SetCredential(cred string) { c.credential.Store(&cred) }

// do sends r and returns home's answer when its status is want (any 2xx
// when want is 0), else a *StatusError. An answer that never came is
// ErrUnreachable.
func (c *Client) do(ctx context.Context, r *request, want int) (*http.Response, error) {
	req, err := c.newRequest(ctx, r)
	if err != nil {
		return nil, err
	}
	hc := c.http
	if r.blocking {
		hc = c.watch
	}
	resp, err := hc.Do(req)
	if err != nil {
		return nil, unreachable(c.Address(), withoutUserInfo(err))
	}
	if err := requireStatus(r, resp, want); err != nil {
		resp.Body.Close()
		return nil, explainRedirect(explainPlainHTTP(err, c.Address()), resp, c.Address())
	}
	return resp, nil
}

// requireStatus turns an answer other than want (any 2xx when 0) into a
// *StatusError holding the start of its body.
func requireStatus(r *request, resp *http.Response, want int) error {
	if (want == 0 && resp.StatusCode/100 == 2) || resp.StatusCode == want {
		return nil
	}
	b, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBytes))
	return &StatusError{
		Method: r.method, Path: r.path, Code: resp.StatusCode, Status: resp.Status,
		Body: string(bytes.TrimSpace(b)),
	}
}

// readBody reads an answer of at most limit bytes and closes it.
func readBody(ctx context.Context, resp *http.Response, limit int64) ([]byte, error) {
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, limit+1))
	if err != nil {
		if ctx.Err() != nil {
			return nil, unreachable("", ctx.Err())
		}
		return nil, unreachable("", fmt.Errorf("read reply: %w", err))
	}
	if int64(len(b)) > limit {
		return nil, fmt.Errorf("home's answer is over the %d-byte limit", limit)
	}
	return b, nil
}

// decodeBody reads a JSON answer of at most limit bytes into out; what names
// it in errors.
func decodeBody(ctx context.Context, resp *http.Response, limit int64, what string, out any) error {
	b, err := readBody(ctx, resp, limit)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(b, out); err != nil {
		return &DecodeError{What: what, Err: err}
	}
	return nil
}
