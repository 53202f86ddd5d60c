package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/rs/zerolog"

	"github.com/portolan/portolan/internal/http1"
)

func main() {
	listen := flag.String("listen", "127.0.0.1:18082", "address to listen on")
	upstream := flag.String("upstream", "http://127.0.0.1:18080", "URL of the upstream")
	lean := flag.Bool("lean", false, "serve with the gateway's lean HTTP/1.1 loop and forwarder, without the gateway's work")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	err := listenAndRun(ctx, *listen, *upstream, *lean)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "benchproxy:", err)
		os.Exit(1)
	}
}

func listenAndRun(ctx context.Context, listen, upstream string, lean bool) error {
	ln, err := net.Listen("tcp", listen)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", listen, err)
	}
	log.Printf("benchproxy: %s -> %s (lean: %t)", listen, upstream, lean)
	return run(ctx, ln, upstream, lean)
}

// server is what both kinds of proxy are served with: http.Server and
// http1.Server.
type server interface {
	Serve(net.Listener) error
	Shutdown(context.Context) error
}

// run proxies what comes on ln to upstream until ctx ends, then shuts down
// within 5 s. ln is closed when run returns.
func run(ctx context.Context, ln net.Listener, upstream string, lean bool) error {
	defer ln.Close()
	u, err := url.Parse(upstream)
	if err != nil || u.Host == "" || u.Scheme != "http" && u.Scheme != "https" {
		return fmt.Errorf("--upstream %q: want an http or https URL", upstream)
	}
	var srv server
	switch {
	case !lean:
		srv = reverseProxy(u)
	case u.Scheme != "http":
		return fmt.Errorf("--upstream %q: --lean forwards to plain-HTTP upstreams only", upstream)
	default:
		srv = leanProxy(u)
	}
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
	}()
	err = srv.Serve(ln)
	if errors.Is(err, http.ErrServerClosed) {
		<-stopped
		return nil
	}
	return err
}

// reverseProxy is Go's httputil.ReverseProxy, tuned as a production proxy
// would be.
func reverseProxy(u *url.URL) *http.Server {
	rp := httputil.NewSingleHostReverseProxy(u)
	rp.Transport = &http.Transport{
		DialContext:           (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConns:          4096,
		MaxIdleConnsPerHost:   1024,
		IdleConnTimeout:       90 * time.Second,
		ResponseHeaderTimeout: 60 * time.Second,
		DisableCompression:    true,
	}
	return &http.Server{Handler: rp, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 120 * time.Second}
}

// leanProxy is http1.Server and http1.Forwarder as the gateway configures
// them for a plain-HTTP upstream, and nothing else.
func leanProxy(u *url.URL) *http1.Server {
	addr := u.Host
	if u.Port() == "" {
		addr = net.JoinHostPort(u.Hostname(), "80")
	}
	fwd := http1.NewForwarder(http1.ForwarderConfig{Addr: addr, Host: u.Host, Timeout: 60 * time.Second, Idle: 1024})
	return http1.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := fwd.Serve(w, r, "", nil); err != nil {
			http.Error(w, "Bad Gateway", http.StatusBadGateway)
		}
	}), zerolog.Nop())
}
