package coordinator

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// The API's request metrics, as promhttp's InstrumentHandlerCounter and
// InstrumentHandlerDuration would record them (the same names, labels,
// label values and series, each created at its first request), without
// their cost on every request: promhttp wraps the writer in a new delegator,
// builds a label map and looks the series up by its label values each time.
// Here the series of an API are looked up once and kept, the writer that
// catches the status comes from a pool, and a request allocates nothing.

// httpMetrics are portolan_http_requests_total{api,code,method} and
// portolan_http_request_duration_seconds{api}.
type httpMetrics struct {
	requests *prometheus.CounterVec
	latency  *prometheus.HistogramVec
}

func newHTTPMetrics() httpMetrics {
	return httpMetrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "portolan_http_requests_total", Help: "HTTP requests by API and status code.",
		}, []string{"api", "code", "method"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "portolan_http_request_duration_seconds", Help: "HTTP request latency by API.",
			Buckets: prometheus.ExponentialBuckets(0.0005, 4, 8),
		}, []string{"api"}),
	}
}

// apiMetrics are the series of one API.
type apiMetrics struct {
	api      string
	requests *prometheus.CounterVec
	// counters holds the counter of each (method, code) seen so far, by
	// counterKey; replaced whole, under mu, when a new pair comes.
	counters atomic.Pointer[map[uint32]prometheus.Counter]
	mu       sync.Mutex
	latency  func() prometheus.Observer // nil: not timed
}

// api returns the metrics of api; timed ones also observe the duration.
func (m httpMetrics) api(api string, timed bool) *apiMetrics {
	a := &apiMetrics{api: api, requests: m.requests}
	a.counters.Store(&map[uint32]prometheus.Counter{})
	if timed {
		a.latency = sync.OnceValue(func() prometheus.Observer { return m.latency.WithLabelValues(api) })
	}
	return a
}

// counter is the counter of a request of method answered with code.
func (a *apiMetrics) counter(method string, code int) prometheus.Counter {
	m := methodIndex(method)
	key := uint32(m)<<16 | uint32(code&0xffff)
	if c, ok := (*a.counters.Load())[key]; ok {
		return c
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	old := *a.counters.Load()
	if c, ok := old[key]; ok {
		return c
	}
	c := a.requests.WithLabelValues(a.api, codeLabel(code), methods[m])
	next := make(map[uint32]prometheus.Counter, len(old)+1)
	for k, v := range old {
		next[k] = v
	}
	next[key] = c
	a.counters.Store(&next)
	return c
}

// instrument counts every request to h, and times it when a is timed.
func (a *apiMetrics) instrument(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { a.serve(h, w, r) })
}

func (a *apiMetrics) serve(h http.Handler, w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	sw := statusWriters.Get().(*statusWriter)
	sw.ResponseWriter, sw.status, sw.wroteHeader = w, 0, false
	h.ServeHTTP(sw, r)
	status := sw.status
	sw.ResponseWriter = nil
	statusWriters.Put(sw)
	if a.latency != nil {
		a.latency().Observe(time.Since(start).Seconds())
	}
	a.counter(r.Method, status).Inc()
}

// methods are the method label's values, as promhttp gives them: the
// usual methods in lower case, any other "unknown" (the last).
var methods = [...]string{"get", "put", "head", "post", "delete", "connect", "options", "notify", "trace", "patch", "unknown"}

func methodIndex(m string) int {
	switch m {
	case "GET", "get":
		return 0
	case "PUT", "put":
		return 1
	case "HEAD", "head":
		return 2
	case "POST", "post":
		return 3
	case "DELETE", "delete":
		return 4
	case "CONNECT", "connect":
		return 5
	case "OPTIONS", "options":
		return 6
	case "NOTIFY", "notify":
		return 7
	case "TRACE", "trace":
		return 8
	case "PATCH", "patch":
		return 9
	}
	return len(methods) - 1
}

// codeLabel is the code label's value, as promhttp gives it: 200 when the
// handler set none, "unknown" outside 100–599.
func codeLabel(code int) string {
	switch {
	case code == 0:
		return "200"
	case code < 100 || code > 599:
		return "unknown"
	}
	return strconv.Itoa(code)
}

// statusWriter catches the status a handler answers with, as promhttp's
// delegator does: the code of the last WriteHeader, or 200 once something
// is written. Unwrap lets http.ResponseController reach the connection.
type statusWriter struct {
	http.ResponseWriter
	status      int
	wroteHeader bool
}

var statusWriters = sync.Pool{New: func() any { return new(statusWriter) }}

func (w *statusWriter) WriteHeader(code int) {
	w.status = code
	w.wroteHeader = true
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if !w.wroteHeader {
		w.WriteHeader(http.StatusOK)
	}
	return w.ResponseWriter.Write(b)
}

// ReadFrom keeps net/http's sendfile path for files served through w.
func (w *statusWriter) ReadFrom(r io.Reader) (int64, error) {
	if !w.wroteHeader {
		w.WriteHeader(http.StatusOK)
	}
	if rf, ok := w.ResponseWriter.(io.ReaderFrom); ok {
		return rf.ReadFrom(r)
	}
	return io.Copy(struct{ io.Writer }{w.ResponseWriter}, r)
}

func (w *statusWriter) Flush() {
	if !w.wroteHeader {
		w.WriteHeader(http.StatusOK)
	}
	_ = http.NewResponseController(w.ResponseWriter).Flush()
}

func (w *statusWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	return http.NewResponseController(w.ResponseWriter).Hijack()
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
