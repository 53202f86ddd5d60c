package agent

import (
	"net/http"

	"github.com/portolan/portolan/internal/httpjson"
	"github.com/portolan/portolan/registry"
)

// The probes an orchestrator calls on --metrics-listen, without a token;
// the answers hold the instance's status and whether the app runs, nothing
// else. GET and HEAD both answer.
const (
	PathHealthLive  = "/health/live"
	PathHealthReady = "/health/ready"
)

// healthLive answers 200 while the agent serves: the listener is one of the
// agent's loops, and ends with them.
func (a *Agent) healthLive(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	_, _ = w.Write([]byte("ok\n"))
}

// healthReady answers 200 when this instance should receive traffic: the
// supervised app runs, the agent is not draining it, and its check passes
// (no check: running is enough). That is the set the gateways route to,
// so a warning, the start period's included, is not ready; else 503.
func (a *Agent) healthReady(w http.ResponseWriter, _ *http.Request) {
	s := a.st.self()
	ready := s.Running && !a.st.isDraining() && s.Status == registry.StatusPassing
	out := map[string]any{"status": "ok", "running": s.Running, "check": s.Status}
	code := http.StatusOK
	if !ready {
		out["status"], code = "unavailable", http.StatusServiceUnavailable
	}
	w.Header().Set("Cache-Control", "no-store")
	httpjson.Write(w, code, out)
}
