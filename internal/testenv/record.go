package testenv

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"sort"
	"sync"
	"testing"
	"time"
)

// Recorder records the requests that coordinators answer with a 2xx, by
// method and path, so that a package can check which routes its tests
// exercised (e.g. every operation of 3scale's Account Management API).
//
// This is the package's one piece of test-wide state, made explicit: a
// TestMain installs it with RecordOperations before m.Run and reads it
// after; while it is installed, every StartCoordinator puts a recording
// reverse proxy in front of its coordinator and points Coordinator.URL at
// the proxy (Coordinator.Addr stays the coordinator's own address).
type Recorder struct {
	mu   sync.Mutex
	seen map[string]bool // "METHOD /path"
}

var installed struct {
	mu  sync.Mutex
	rec *Recorder
}

// RecordOperations installs a new Recorder for the coordinators started from
// now on, replacing any installed before, and returns it. Call it from
// TestMain before m.Run.
func RecordOperations() *Recorder {
	r := &Recorder{seen: map[string]bool{}}
	installed.mu.Lock()
	installed.rec = r
	installed.mu.Unlock()
	return r
}

func installedRecorder() *Recorder {
	installed.mu.Lock()
	defer installed.mu.Unlock()
	return installed.rec
}

// Answered returns the requests answered with a 2xx so far, each as
// "METHOD /path" (no query), sorted.
func (r *Recorder) Answered() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]string, 0, len(r.seen))
	for k := range r.seen {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func (r *Recorder) record(method, path string) {
	r.mu.Lock()
	r.seen[method+" "+path] = true
	r.mu.Unlock()
}

// startRecordingProxy serves a reverse proxy to the coordinator at addr on a
// free loopback port, recording the 2xx answers in r, and returns its URL.
// It is closed when t ends. The proxy streams bodies both ways, keeps the
// client's Host and X-Forwarded-* headers and the coordinator's status and
// headers; when the coordinator is down it drops the client's connection,
// as the coordinator's closed port would, rather than answering 502.
func startRecordingProxy(t testing.TB, r *Recorder, addr string) string {
	t.Helper()
	target := &url.URL{Scheme: "http", Host: addr}
	transport := &http.Transport{
		Proxy:               nil, // straight to loopback, whatever $HTTP_PROXY says
		DialContext:         (&net.Dialer{Timeout: 5 * time.Second}).DialContext,
		MaxIdleConnsPerHost: 16,
		IdleConnTimeout:     30 * time.Second,
	}
	rp := &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetURL(target)
			pr.Out.Host = pr.In.Host
			// Rewrite drops the client's forwarding headers; the coordinator
			// is to see the request as the client sent it.
			for _, h := range []string{"Forwarded", "X-Forwarded-For", "X-Forwarded-Host", "X-Forwarded-Proto"} {
				if v, ok := pr.In.Header[h]; ok {
					pr.Out.Header[h] = v
				}
			}
		},
		Transport:     transport,
		FlushInterval: -1, // stream: watches and long polls pass as they come
		ModifyResponse: func(resp *http.Response) error {
			if resp.StatusCode >= 200 && resp.StatusCode < 300 {
				r.record(resp.Request.Method, resp.Request.URL.Path)
			}
			return nil
		},
		ErrorHandler: func(w http.ResponseWriter, req *http.Request, err error) {
			if errors.Is(err, context.Canceled) {
				return // the client went away
			}
			if hj, ok := w.(http.Hijacker); ok {
				if conn, _, herr := hj.Hijack(); herr == nil {
					_ = conn.Close()
					return
				}
			}
			w.WriteHeader(http.StatusBadGateway)
		},
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("recording proxy: %v", err)
	}
	srv := &http.Server{Handler: rp, ReadHeaderTimeout: 10 * time.Second}
	done := make(chan struct{})
	go func() { _ = srv.Serve(ln); close(done) }()
	t.Cleanup(func() {
		_ = srv.Close()
		<-done
		transport.CloseIdleConnections()
	})
	return "http://" + ln.Addr().String()
}
