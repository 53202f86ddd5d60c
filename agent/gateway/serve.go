package gateway

import (
	"cmp"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sync"
	"syscall"
	"time"

	"github.com/rs/zerolog"

	"github.com/portolan/portolan/agent/gateway/policy"
	"github.com/portolan/portolan/internal/backoff"
	"github.com/portolan/portolan/internal/http1"
)

// Bounds of the gateway's listener beyond the lean loop's own (which bounds
// HTTP/1.1 heads, idle and header time as these do).
const (
	// openTimeout bounds a TLS handshake, or the wait for an h2c
	// connection's first bytes, as the lean loop bounds a request head.
	openTimeout = 10 * time.Second
	// idleTimeout closes an HTTP/2 connection without streams, as the lean
	// loop closes an idle HTTP/1.1 one.
	idleTimeout = 120 * time.Second
	// shutdownGrace is what requests in flight get when the gateway stops.
	shutdownGrace = 5 * time.Second
)

// Run serves ln until ctx ends, then shuts down: requests in flight get 5
// seconds, kept-alive upstream connections are closed.
//
// Plain HTTP/1.1 is served by the lean loop (internal/http1) straight from
// ln. With TLS (Config.TLS.CertFile) or h2c, a front door takes each
// connection first, on a goroutine of its own so that a slow client holds
// up no other: it runs the TLS handshake, or reads an h2c connection's
// first bytes, within openTimeout; then a connection that speaks HTTP/2 (by
// ALPN, or the HTTP/2 preface) goes to x/net/http2's server, and any other
// to the lean loop, a *tls.Conn being a net.Conn like any. The handler is
// the same, and the request body bound (MaxBodyBytes) is the handler's;
// the body timeout (BodyTimeout) is each server's.
func (g *Gateway) Run(ctx context.Context, ln net.Listener) error {
	tlsCfg, err := g.serverTLS()
	if err != nil {
		ln.Close()
		return err
	}
	capped := http1.LimitConns(ln, boundedConns(g.cfg.MaxConns, g.log))
	bodyTimeout := cmp.Or(g.cfg.BodyTimeout, DefaultBodyTimeout)
	g.capd.Store(capped)
	ln = capped
	var (
		h      http.Handler = g
		h2     *h2Server
		door   *front
		leanLn = ln
	)
	if tlsCfg != nil || g.cfg.TLS.H2C {
		h2 = newH2Server(g, bodyTimeout)
		g.h2.Store(h2)
		if g.cfg.TLS.H2C {
			h = h2cUpgrades{next: g, h2: h2, maxBody: g.cfg.MaxBodyBytes, g: g}
		}
		door = newFront(ln, h2, g.log)
		door.tls = tlsCfg
		leanLn = door.h1
	}
	srv := http1.NewServer(h, g.log)
	srv.BodyTimeout = bodyTimeout
	g.lean.Store(srv)
	doorErr := make(chan error, 1)
	if door != nil {
		go func() { doorErr <- door.serve() }()
	} else {
		doorErr <- nil
	}
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), shutdownGrace)
		defer cancel()
		var wg sync.WaitGroup
		if door != nil {
			door.close()
			wg.Add(1)
			go func() { defer wg.Done(); h2.shutdown(sctx) }()
		}
		_ = srv.Shutdown(sctx)
		wg.Wait()
		g.closeIdle()
		g.oidc.close()
	}()
	err = srv.Serve(leanLn)
	<-stopped
	if derr := <-doorErr; derr != nil {
		return derr
	}
	if errors.Is(err, http.ErrServerClosed) {
		return nil
	}
	return err
}

// bodyTimedOut answers 408 when the request failed on its body timing out
// (http1.ErrBodyTimeout), as nginx answers client_body_timeout: the
// client, not the app, is at fault, and is still there (on net/http's
// server the request's context is cancelled then: what failed may be
// that). The server closes the connection after (HTTP/2: the stream).
func (g *Gateway) bodyTimedOut(w http.ResponseWriter, r *http.Request, err error) bool {
	if !errors.Is(err, http1.ErrBodyTimeout) && !http1.BodyTimedOut(r) {
		return false
	}
	policy.ForwardFailed(w) // not the upstream's answer
	g.m.badRequest.Inc()
	writeText(w, http.StatusRequestTimeout, plainText, []byte("Request body timed out: the client stopped sending it\n"))
	return true
}

// serverTLS is the TLS configuration of the listener; nil for plain HTTP.
// Each handshake is served as the view's plan says (handshake.go), with
// the gateway's own pair as the default.
func (g *Gateway) serverTLS() (*tls.Config, error) {
	t := &g.cfg.TLS
	if t.CertFile == "" {
		return nil, nil
	}
	if t.certs == nil { // a Config that was not checked
		if err := t.check(); err != nil {
			return nil, err
		}
	}
	t.certs.SetLog(g.log)
	return newHandshakes(&g.view, t.certs).listener, nil
}

// front is the gateway's front door when it serves TLS or h2c: it accepts
// connections, opens each (handshake or preface) on its own goroutine and
// hands it to the HTTP/2 server or, through h1, to the lean loop.
type front struct {
	ln  net.Listener
	tls *tls.Config // nil: plain connections, sniffed for the h2c preface
	h2  *h2Server
	h1  *http1.ConnQueue // the lean loop's listener
	log zerolog.Logger

	mu      sync.Mutex
	closed  bool
	opening map[net.Conn]struct{} // being opened: closed at shutdown
	wg      sync.WaitGroup        // openings in progress
}

func newFront(ln net.Listener, h2 *h2Server, log zerolog.Logger) *front {
	return &front{ln: ln, h2: h2, h1: http1.NewConnQueue(ln.Addr()), log: log, opening: map[net.Conn]struct{}{}}
}

// serve accepts connections until close; it returns nil then, or the
// listener's error.
func (f *front) serve() error {
	retry := backoff.Backoff{Min: 5 * time.Millisecond, Max: time.Second}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	for {
		c, err := f.ln.Accept()
		if err != nil {
			if f.isClosed() {
				return nil
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() || errors.Is(err, syscall.EMFILE) || errors.Is(err, syscall.ENFILE) {
				wait := retry.Next() // out of file descriptors and the like: wait, as net/http does
				f.log.Warn().Err(err).Dur("retry_in", wait).Msg("gateway: accept failed")
				backoff.Sleep(ctx, wait)
				continue
			}
			f.h1.Close()
			return fmt.Errorf("gateway: accept: %w", err)
		}
		retry.Reset()
		c = http1.Raw(c)
		if !f.track(c) {
			c.Close()
			return nil
		}
		go f.route(c)
	}
}

func (f *front) isClosed() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.closed
}

// track counts c among the connections being opened; false once closed.
func (f *front) track(c net.Conn) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.closed {
		return false
	}
	f.opening[c] = struct{}{}
	f.wg.Add(1)
	return true
}

// route opens c and hands it on.
func (f *front) route(c net.Conn) {
	nc, isH2, ok := f.open(c)
	f.mu.Lock()
	delete(f.opening, c)
	f.mu.Unlock()
	f.wg.Done()
	switch {
	case !ok:
		c.Close()
	case isH2:
		f.h2.serve(nc, nil, nil)
	default:
		if !f.h1.Put(nc) {
			nc.Close()
		}
	}
}

// open runs c's TLS handshake, or reads its first bytes for the h2c
// preface, within openTimeout. It returns the connection to serve and
// whether it speaks HTTP/2; false when it failed (the client is gone, or
// is too slow, or does not speak TLS).
func (f *front) open(c net.Conn) (net.Conn, bool, bool) {
	_ = c.SetDeadline(time.Now().Add(openTimeout))
	if f.tls != nil {
		tc := tls.Server(&handshakeConn{Conn: c}, f.tls)
		if err := tc.Handshake(); err != nil {
			// Anyone can cause one (a scanner, a plain-HTTP client): not worth more.
			f.log.Debug().Err(err).Str("remote", c.RemoteAddr().String()).Msg("gateway: TLS handshake failed")
			return nil, false, false
		}
		_ = c.SetDeadline(time.Time{})
		return tc, tc.ConnectionState().NegotiatedProtocol == http2Proto, true
	}
	head, isH2, err := sniffPreface(c)
	if err != nil {
		return nil, false, false
	}
	_ = c.SetDeadline(time.Time{})
	return &prefixConn{Conn: c, prefix: head}, isH2, true
}

// close stops accepting and closes the connections being opened; it
// returns when no opening is left.
func (f *front) close() {
	f.mu.Lock()
	f.closed = true
	f.ln.Close()
	for c := range f.opening {
		c.Close()
	}
	f.mu.Unlock()
	f.wg.Wait()
}
