package mgmt

import (
	"bytes"
	"compress/flate"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/stretchr/testify/require"

	"github.com/portolan/portolan/internal/testenv"
	"github.com/portolan/portolan/swagger/openapischema"
)

// recorder sits between the proxy and the real coordinator: it records what
// the upstream received and forwards it unchanged. Its fault modes stand in
// for upstream failures a healthy coordinator does not produce (a 500, a
// hang, an answer echoing the request).
type recorder struct {
	mu    sync.Mutex
	reqs  []recorded
	fail  atomic.Int32 // answer this status instead of forwarding
	delay atomic.Int64 // wait this long first
	echo  atomic.Bool  // answer with the request URI, in the body and a header
	// deflate compresses forwarded answers with Content-Encoding: deflate,
	// which the proxy never asks for
	deflate atomic.Bool
	extra   http.Header // added to every forwarded answer
	srv     *httptest.Server
}

type recorded struct {
	Method, URI string
	Header      http.Header
	Body        []byte
}

func newRecorder(t *testing.T, upstream string) *recorder {
	target, err := url.Parse(upstream)
	require.NoError(t, err)
	rec := &recorder{extra: http.Header{}}
	rp := &httputil.ReverseProxy{
		Rewrite: func(r *httputil.ProxyRequest) { r.SetURL(target) },
		ModifyResponse: func(resp *http.Response) error {
			for k, vs := range rec.extra {
				resp.Header[k] = vs
			}
			if rec.deflate.Load() {
				b, err := io.ReadAll(resp.Body)
				if err != nil {
					return err
				}
				var z bytes.Buffer
				fw, _ := flate.NewWriter(&z, flate.BestSpeed)
				_, _ = fw.Write(b)
				_ = fw.Close()
				resp.Body = io.NopCloser(&z)
				resp.ContentLength = int64(z.Len())
				resp.Header.Set("Content-Length", strconv.Itoa(z.Len()))
				resp.Header.Set("Content-Encoding", "deflate")
			}
			return nil
		},
	}
	rec.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		rec.mu.Lock()
		rec.reqs = append(rec.reqs, recorded{Method: r.Method, URI: r.RequestURI, Header: r.Header.Clone(), Body: body})
		rec.mu.Unlock()
		if d := rec.delay.Load(); d > 0 {
			select {
			case <-time.After(time.Duration(d)):
			case <-r.Context().Done():
				return
			}
		}
		if rec.echo.Load() {
			w.Header().Set("X-Echo", r.RequestURI)
			_, _ = io.WriteString(w, "you asked for "+r.RequestURI)
			return
		}
		if s := rec.fail.Load(); s != 0 {
			http.Error(w, "injected failure", int(s))
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		rp.ServeHTTP(w, r)
	}))
	t.Cleanup(rec.srv.Close)
	return rec
}

func (rec *recorder) requests() []recorded {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	return slices.Clone(rec.reqs)
}

func (rec *recorder) last(t *testing.T) recorded {
	t.Helper()
	reqs := rec.requests()
	require.NotEmpty(t, reqs, "the upstream received nothing")
	return reqs[len(reqs)-1]
}

// proxyEnv is a management proxy served on loopback.
type proxyEnv struct {
	url  string
	addr string
	logs *testenv.SyncBuffer
}

// testSelection keeps services, backend APIs and accounts, and omits
// deleting services and everything under /admin/api/accounts/.
var testSelection = Config{
	Include: []string{"tag:Services", "tag:Backend APIs", "tag:Accounts"},
	Omit:    []string{"DELETE /admin/api/services/*", "* /admin/api/accounts/**"},
}

func specFile(t testing.TB) string {
	return filepath.Join(testenv.ThreescaleDir(t), "account_management_api.json")
}

func startProxy(t testing.TB, upstream, token string, cfg Config) *proxyEnv {
	t.Helper()
	return startProxyLogging(t, upstream, token, cfg, zerolog.DebugLevel)
}

// startProxyLogging is startProxy logging at level.
func startProxyLogging(t testing.TB, upstream, token string, cfg Config, level zerolog.Level) *proxyEnv {
	t.Helper()
	if cfg.Spec == "" {
		cfg.Spec = specFile(t)
	}
	if cfg.SchemaCheck == nil {
		cfg.SchemaCheck = openapischema.Check // as the full build's agent does
	}
	cfg.Token = token
	logs := &testenv.SyncBuffer{}
	p, err := New(context.Background(), cfg, upstream, zerolog.New(logs).Level(level))
	require.NoError(t, err)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); p.Serve(ctx, ln) }()
	t.Cleanup(func() { cancel(); <-done })
	return &proxyEnv{url: "http://" + ln.Addr().String(), addr: ln.Addr().String(), logs: logs}
}

func call(t testing.TB, method, u, contentType, body string, header ...string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, u, strings.NewReader(body))
	require.NoError(t, err)
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Add(header[i], header[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp, b
}

func jsonError(t *testing.T, b []byte) map[string]string {
	t.Helper()
	var m map[string]string
	require.NoError(t, json.Unmarshal(b, &m), "not a JSON error body: %s", b)
	require.NotEmpty(t, m["error"], "%s", b)
	return m
}

var serviceIDRE = regexp.MustCompile(`<service>\s*<id>(\d+)</id>`)
