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
	if err := run(*listen, *upstream, *lean); err != nil {
		fmt.Fprintln(os.Stderr, "benchproxy:", err)
		os.Exit(1)
	}
}

func run(listen, upstream string, lean bool) error {
	u, err := url.Parse(upstream)
	if err != nil || u.Host == "" {
		return fmt.Errorf("--upstream %q: want an http URL", upstream)
	}
	if lean && u.Scheme != "http" {
		return fmt.Errorf("--upstream %q: --lean forwards to plain-HTTP upstreams only", upstream)
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	log.Printf("benchproxy: %s -> %s (lean: %t)", listen, upstream, lean)
	if lean {
		return runLean(ctx, listen, u)
	}
	rp := httputil.NewSingleHostReverseProxy(u)
	rp.Transport = &http.Transport{
		DialContext:           (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConns:          4096,
		MaxIdleConnsPerHost:   1024,
		IdleConnTimeout:       90 * time.Second,
		ResponseHeaderTimeout: 60 * time.Second,
		DisableCompression:    true,
	}
	srv := &http.Server{Addr: listen, Handler: rp, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 120 * time.Second}
	go shutdownOn(ctx, srv.Shutdown)
	if err := srv.ListenAndServe(); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// runLean serves with http1.Server and http1.Forwarder as the gateway
// configures them for a plain-HTTP upstream, and nothing else.
func runLean(ctx context.Context, listen string, u *url.URL) error {
	addr := u.Host
	if u.Port() == "" {
		addr = net.JoinHostPort(u.Hostname(), "80")
	}
	fwd := http1.NewForwarder(http1.ForwarderConfig{Addr: addr, Host: u.Host, Timeout: 60 * time.Second, Idle: 1024})
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := fwd.Serve(w, r, "", nil); err != nil {
			http.Error(w, "Bad Gateway", http.StatusBadGateway)
		}
	})
	srv := http1.NewServer(h, zerolog.Nop())
	ln, err := net.Listen("tcp", listen)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", listen, err)
	}
	go shutdownOn(ctx, srv.Shutdown)
	if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// shutdownOn shuts a server down, within 5 s, once ctx ends (a signal).
func shutdownOn(ctx context.Context, shutdown func(context.Context) error) {
	<-ctx.Done()
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = shutdown(sctx)
}
