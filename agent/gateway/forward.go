package gateway

import (
	"bufio"
	"context"
	"net"
	"net/http"
	"net/http/httptrace"
	"sync/atomic"
	"time"

	"github.com/portolan/portolan/agent/gateway/policy"
	"github.com/portolan/portolan/internal/http1"
)

// forwardChosen forwards to the upstream a policy chose (upstream,
// routing), as APIcast's Upstream does: the URL's scheme and host replace
// the service's, its path (when not "/") prefixes the request's, its query
// (when any) replaces the request's, and the Host header is the rule's
// host_header or the URL's host (without a default port), never the
// service's hostname_rewrite.
func (g *Gateway) forwardChosen(c *policy.Context, v *view) {
	u := c.Upstream.URL
	up := g.policyUpstream(u)
	host := c.Upstream.Host
	if host == "" {
		host = policy.HostHeader(u)
	}
	r := c.R
	if p := u.Path; p != "" && p != "/" {
		r.URL.Path, r.URL.RawPath = policy.JoinPath(p, r.URL.Path), ""
	}
	if u.RawQuery != "" {
		r.URL.RawQuery = u.RawQuery
	}
	g.forwardWith(c, up, host, true, v)
}

// forwardWith forwards with the context's timeouts and retries, and its
// Transport when policies set one (up is then the Transport's upstream of
// the same target). The lean forwarder applies them exactly; through
// httputil.ReverseProxy (https upstreams, upgrades, Transports) the
// timeouts' sum bounds the whole exchange, retries included
// (retryTransport), and an upgrade is never retried. An upgrade's exchange
// is its handshake only (upgradeBounds).
func (g *Gateway) forwardWith(c *policy.Context, up *upstream, host string, chosen bool, v *view) {
	if c.Transport != nil {
		up = g.transportUpstream(c.Transport, up, chosen)
	}
	r := c.R
	o := http1.Options{Connect: c.Timeouts.Connect, Send: c.Timeouts.Send, Read: c.Timeouts.Read,
		Retries: c.Retries, RetryStatuses: c.RetryStatuses, Unbuffered: c.Unbuffered}
	upgrade := http1.IsUpgrade(r)
	if up.fwd != nil && !upgrade {
		if err := up.fwd.ServeWith(c.W, r, host, v.secretToken, o); err != nil {
			g.forwardError(c.W, r, up, err)
		}
		return
	}
	if chosen {
		// proxyTo sends a chosen upstream the request's Host.
		defer func(h string) { c.R.Host = h }(r.Host)
		r.Host = host
	}
	ctx := r.Context()
	if o.Retries > 0 && !upgrade {
		ctx = withRetries(ctx, o.Retries)
	}
	w := c.W
	if total := o.Connect + o.Send + o.Read; total > 0 {
		if upgrade {
			var stop func()
			ctx, stop = upgradeBounds(ctx, total)
			defer stop()
			if o.Read > 0 {
				w = &tunnelWriter{ResponseWriter: w, idle: o.Read}
			}
		} else {
			var cancel context.CancelFunc
			ctx, cancel = context.WithTimeout(ctx, total)
			defer cancel()
		}
	}
	if ctx != r.Context() {
		r = r.WithContext(ctx)
	}
	up.rp.ServeHTTP(w, r)
}

// upgradeBounds bounds an upgrade's handshake within total (the timeouts'
// sum), as nginx bounds it with its connect, send and read timeouts, and
// not the connection switched after it: httputil.ReverseProxy closes the
// tunnel when the request's context ends. The bound is lifted once the
// upstream's answer starts to arrive; its end is a DeadlineExceeded, which
// the gateway answers 504 as nginx does.
func upgradeBounds(ctx context.Context, total time.Duration) (context.Context, func()) {
	ctx, cancel := context.WithCancelCause(ctx)
	timer := time.AfterFunc(total, func() { cancel(context.DeadlineExceeded) })
	ctx = httptrace.WithClientTrace(ctx, &httptrace.ClientTrace{GotFirstResponseByte: func() { timer.Stop() }})
	return ctx, func() {
		timer.Stop()
		cancel(nil)
	}
}

// tunnelWriter hands httputil.ReverseProxy, when it switches the client's
// connection, one closed once no data has passed either way for idle (the
// timeouts policy's read_timeout), as nginx closes an upgraded connection
// idle for proxy_read_timeout (its upgraded handler arms the upstream's
// read timer again at each event, either way). A tunnel in use is never
// cut.
type tunnelWriter struct {
	http.ResponseWriter
	idle time.Duration
}

func (w *tunnelWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

func (w *tunnelWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	conn, brw, err := http.NewResponseController(w.ResponseWriter).Hijack()
	if err != nil {
		return nil, nil, err
	}
	c := &idleConn{Conn: conn, idle: w.idle, start: time.Now()}
	c.timer = time.AfterFunc(time.Hour, c.check)
	c.timer.Reset(w.idle)
	return c, brw, nil
}

// idleConn is a switched client connection closed after idle without data.
// Activity is a time stored at each read and write, and the timer checks
// it when it fires: no timer update per frame.
type idleConn struct {
	net.Conn
	idle  time.Duration
	start time.Time
	last  atomic.Int64 // since start, of the last data either way
	timer *time.Timer
	shut  atomic.Bool
}

func (c *idleConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	if n > 0 {
		c.last.Store(int64(time.Since(c.start)))
	}
	return n, err
}

func (c *idleConn) Write(p []byte) (int, error) {
	n, err := c.Conn.Write(p)
	if n > 0 {
		c.last.Store(int64(time.Since(c.start)))
	}
	return n, err
}

func (c *idleConn) Close() error {
	c.shut.Store(true)
	c.timer.Stop()
	return c.Conn.Close()
}

// check closes the connection when it has been idle long enough, or waits
// for the rest of the bound.
func (c *idleConn) check() {
	if c.shut.Load() {
		return
	}
	left := c.idle - (time.Since(c.start) - time.Duration(c.last.Load()))
	if left <= 0 {
		_ = c.Conn.Close()
		return
	}
	c.timer.Reset(left)
}
