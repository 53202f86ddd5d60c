package agent

import (
	"context"
	"errors"
	"net"
	"net/http"
	"strconv"
	"time"

	"github.com/rs/zerolog"

	"github.com/portolan/portolan/internal/httpjson"
	"github.com/portolan/portolan/internal/httpserve"
	"github.com/portolan/portolan/registry"
)

// serveAPI serves the local API until ctx ends. It serves no secret: it has
// no authentication, and may be bound beyond loopback for peers.
//   - GET /v1/agent/self: id, service, placement, revision, home reachability, last heartbeat;
//   - GET /v1/agent/health: 200 while the command runs and its check is not critical, else 503;
//   - GET /v1/agent/composition: a CompositionView of the newest composition it has (from home,
//     a peer or its cache): no application key, password, token or proxy secret;
//   - GET /v1/agent/map: the service map, from home and gossip (see serviceMap);
//   - GET /metrics, as on --metrics-listen: kept here so that scrapes of the
//     local API keep working; metrics hold no secret. Scrape --metrics-listen
//     from outside rather than exposing the local API.
//
// The /v1/ calls of a web page in a browser are refused (refuseBrowsers);
// /metrics is not, as scrapers call it by any name and it holds no secret.
func (a *Agent) serveAPI(ctx context.Context, ln net.Listener) {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v1/agent/self", func(w http.ResponseWriter, r *http.Request) {
		self := a.st.self()
		self.CompositionRevision, _ = a.comp.Latest()
		if n := a.node.Load(); n != nil {
			self.Gossip = n.Addr()
		}
		httpjson.Write(w, http.StatusOK, self)
	})
	mux.HandleFunc("GET /v1/agent/health", func(w http.ResponseWriter, r *http.Request) {
		s := a.st.self()
		code := http.StatusOK
		if !s.Running || s.Status == registry.StatusCritical {
			code = http.StatusServiceUnavailable
		}
		httpjson.Write(w, code, map[string]any{"status": s.Status, "output": s.Output, "running": s.Running})
	})
	views := &viewCache{}
	mux.HandleFunc("GET /v1/agent/composition", func(w http.ResponseWriter, r *http.Request) {
		rev, doc := a.comp.document()
		if doc == nil {
			httpjson.Write(w, http.StatusServiceUnavailable, map[string]string{"error": "no composition yet: home and peers not reached, nothing cached"})
			return
		}
		body, err := views.get(rev, doc)
		if err != nil {
			a.log.Warn().Err(err).Msg("local API")
			httpjson.Write(w, http.StatusInternalServerError, map[string]string{"error": "the composition could not be summarised; see the agent's log"})
			return
		}
		w.Header().Set(registry.IndexHeader, strconv.FormatUint(rev, 10))
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		_, _ = w.Write(body)
	})
	maps := &mapShare{ctx: ctx, fetch: a.serviceMap}
	mux.HandleFunc("GET /v1/agent/map", func(w http.ResponseWriter, r *http.Request) {
		m, err := maps.get(r.Context())
		if err != nil {
			httpjson.Write(w, http.StatusServiceUnavailable, map[string]string{"error": err.Error()})
			return
		}
		httpjson.Write(w, http.StatusOK, m)
	})
	root := http.NewServeMux()
	root.Handle("/v1/", refuseBrowsers(mux, a.cfg.API))
	root.Handle("GET /metrics", a.m.handler())
	serveUntil(ctx, httpserve.New(root, a.localLimits()), httpserve.Listener(ln, a.localLimits()), a.log, "local API")
}

// localMaxHeaderBytes bounds the headers of the local API and metrics
// listeners, which take no more than a path: tighter than httpserve's default.
const localMaxHeaderBytes = 16 << 10

// localLimits bound the local API and metrics listeners.
func (a *Agent) localLimits() httpserve.Limits {
	l := a.cfg.Limits
	if l.MaxHeaderBytes <= 0 {
		l.MaxHeaderBytes = localMaxHeaderBytes
	}
	return l
}

// serveUntil serves srv on ln until ctx ends, then shuts it down gracefully
// within two seconds.
func serveUntil(ctx context.Context, srv *http.Server, ln net.Listener, log zerolog.Logger, what string) {
	done := make(chan struct{})
	go func() {
		defer close(done)
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
	}()
	if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
		log.Error().Err(err).Msg(what + " stopped")
	}
	<-done
}
