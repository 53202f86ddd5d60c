// Command newsapi is a tiny news API used by Portolan's demo: the process
// that `portolan agent` wraps in each container. It keeps a few articles in
// memory and serves them over HTTP (see openapi.yaml):
//
//	GET  /articles?limit=N   list articles
//	GET  /articles/{id}      one article (404 when unknown)
//	POST /articles           add an article (JSON body up to 1 MiB; 201)
//	GET  /health             "ok"
//
// It keeps its newest 1000 articles, 16 MiB of text at most: past either, a
// new article drops the oldest, so that no stream of POSTs exhausts the
// memory.
//
// Every answer carries an X-Served-By header with the instance's --name, so a
// caller can tell which instance served it. SIGTERM or SIGINT stops it
// gracefully, with exit code 0.
//
// Usage:
//
//	newsapi [--listen ADDR] [--name NAME]
//
// --listen defaults to $NEWSAPI_LISTEN, else to ":$PORT" (every interface, as
// platforms that set PORT expect), else to 127.0.0.1:3000. --name defaults to
// the hostname.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"
)

// defaultListen is the address used when neither --listen, $NEWSAPI_LISTEN
// nor $PORT says otherwise.
const defaultListen = "127.0.0.1:3000"

// shutdownTimeout bounds how long a graceful stop waits for requests in flight.
const shutdownTimeout = 10 * time.Second

// config is what the command line and the environment choose.
type config struct {
	Listen string
	Name   string
}

func main() {
	cfg, err := parseConfig(os.Args[1:], os.Getenv, os.Stderr)
	if errors.Is(err, flag.ErrHelp) {
		return
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "newsapi:", err)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	logger := log.New(os.Stderr, "newsapi: ", log.LstdFlags)
	if err := run(ctx, cfg, logger, nil); err != nil {
		logger.Print(err)
		stop()
		os.Exit(1)
	}
}

// parseConfig reads the flags in args, with defaults from the environment
// (getenv). Usage and flag errors go to usage.
func parseConfig(args []string, getenv func(string) string, usage io.Writer) (config, error) {
	listen := defaultListen
	if v := getenv("NEWSAPI_LISTEN"); v != "" {
		listen = v
	} else if v := getenv("PORT"); v != "" {
		listen = ":" + v
	}
	name, err := os.Hostname()
	if err != nil || name == "" {
		name = "newsapi"
	}

	var cfg config
	fs := flag.NewFlagSet("newsapi", flag.ContinueOnError)
	fs.SetOutput(usage)
	fs.StringVar(&cfg.Listen, "listen", listen, "address to listen on (env NEWSAPI_LISTEN, or PORT for \":PORT\")")
	fs.StringVar(&cfg.Name, "name", name, "instance name, sent in the X-Served-By header of every answer")
	if err := fs.Parse(args); err != nil {
		return config{}, err
	}
	if fs.NArg() > 0 {
		return config{}, fmt.Errorf("unexpected arguments: %q", fs.Args())
	}
	if cfg.Listen == "" {
		return config{}, errors.New("--listen must not be empty")
	}
	if cfg.Name == "" {
		return config{}, errors.New("--name must not be empty")
	}
	return cfg, nil
}

// run serves the API on cfg.Listen until ctx ends, then shuts down
// gracefully and returns nil. ready, when not nil, is called with the
// address actually listened on (useful with port 0).
func run(ctx context.Context, cfg config, logger *log.Logger, ready func(net.Addr)) error {
	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return err
	}
	srv := &http.Server{
		Handler:           newHandler(cfg.Name, newStore(nil)),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          logger,
	}
	logger.Printf("%s listening on http://%s", cfg.Name, ln.Addr())
	if ready != nil {
		ready(ln.Addr())
	}

	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	select {
	case err := <-served:
		return err
	case <-ctx.Done():
	}
	logger.Printf("%s stopping", cfg.Name)
	sctx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	if err := <-served; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	logger.Printf("%s stopped", cfg.Name)
	return nil
}
