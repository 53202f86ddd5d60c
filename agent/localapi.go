package agent

import (
	"context"
	"errors"
	"net"
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/portolan/portolan/internal/httpjson"
	"github.com/portolan/portolan/registry"
)

// serveAPI serves the local API until ctx ends:
//   - GET /v1/agent/self: id, service, placement, revision, home reachability, last heartbeat;
//   - GET /v1/agent/health: 200 while the command runs and its check is not critical, else 503;
//   - GET /v1/agent/composition: the newest composition document it has (from home, a peer or its cache);
//   - GET /v1/agent/map: the service map, from home and gossip (see serviceMap);
//   - GET /metrics.
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
	mux.HandleFunc("GET /v1/agent/composition", func(w http.ResponseWriter, r *http.Request) {
		rev, doc := a.comp.document()
		if doc == nil {
			httpjson.Write(w, http.StatusServiceUnavailable, map[string]string{"error": "no composition yet: home and peers not reached, nothing cached"})
			return
		}
		w.Header().Set(registry.IndexHeader, strconv.FormatUint(rev, 10))
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		_, _ = w.Write(doc)
	})
	mux.HandleFunc("GET /v1/agent/map", func(w http.ResponseWriter, r *http.Request) {
		m, err := a.serviceMap(r.Context())
		if err != nil {
			httpjson.Write(w, http.StatusServiceUnavailable, map[string]string{"error": err.Error()})
			return
		}
		httpjson.Write(w, http.StatusOK, m)
	})
	mux.Handle("GET /metrics", promhttp.HandlerFor(a.m.registry, promhttp.HandlerOpts{}))
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second, MaxHeaderBytes: 16 << 10}
	go func() {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
	}()
	if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
		a.log.Error().Err(err).Msg("local API stopped")
	}
}
