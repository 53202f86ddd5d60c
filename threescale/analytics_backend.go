package threescale

import (
	"net/http"

	"github.com/portolan/portolan/composition"
)

// serveBackendUsage answers GET /stats/backend_apis/{id}/usage: the usage
// of one of the backend API's metrics, added up over the products that use
// the backend, as porta's Stats::BackendApi does. The metric is named as in
// the backend ("hits") or by porta's extended name ("hits.42").
func (a *Analytics) serveBackendUsage(w http.ResponseWriter, r *http.Request, f Format, id int64) {
	q, err := statsQuery(r)
	if err != nil {
		WriteError(w, f, err)
		return
	}
	snap := a.snapshot()
	backend, ok := snap.BackendAPIs.Get(id)
	if !ok {
		WriteError(w, f, ErrNotFound)
		return
	}
	name := q.Get("metric_name")
	if name == "" {
		name = "hits"
	}
	var metric *composition.Metric
	for _, m := range snap.MetricsOf(composition.OwnerBackendAPI, backend.ID) {
		if metricIsNamed(m, name) {
			metric = m
		}
	}
	if metric == nil {
		WriteError(w, f, BadRequest("metric "+clip(name)+" not found"))
		return
	}
	var sources []usageSource
	seen := map[int64]bool{}
	for _, u := range snap.BackendUsages.Filter(func(u *composition.BackendUsage) bool { return u.BackendAPIID == backend.ID }) {
		if !seen[u.ServiceID] {
			seen[u.ServiceID] = true
			sources = append(sources, usageSource{ScopeService, u.ServiceID})
		}
	}
	a.writeUsage(w, f, q, &statsUsage{}, metric, sources)
}
