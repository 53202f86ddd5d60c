package coordinator

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/portolan/portolan/composition"
)

// benchHome is a coordinator whose handlers are called in-process: a user_key
// service whose plan limits hits by the minute and the day (limits high
// enough never to refuse), and one application.
type benchHome struct {
	c       *Coordinator
	service int64
	hits    int64
	app     *composition.Application
	userKey string
}

func newBenchHome(b *testing.B) *benchHome {
	b.Helper()
	c, err := New(Config{Listen: "127.0.0.1:0", DataDir: b.TempDir(), AccessToken: "bench", AgentToken: "agent", Logger: zerolog.Nop()})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		_ = c.ln.Close()
		_ = c.usage.Close()
		_ = c.store.Close()
	})
	h := &benchHome{c: c, userKey: "bench-user-key"}
	create := func(path, form string) int64 {
		req := httptest.NewRequest(http.MethodPost, path, strings.NewReader(form))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.SetBasicAuth("", "bench")
		rec := httptest.NewRecorder()
		c.server.Handler.ServeHTTP(rec, req)
		if rec.Code != http.StatusCreated {
			b.Fatalf("POST %s: %d %s", path, rec.Code, rec.Body)
		}
		var out map[string]struct {
			ID int64 `json:"id"`
		}
		if err := json.Unmarshal(rec.Body.Bytes(), &out); err != nil {
			b.Fatal(err)
		}
		for _, o := range out {
			return o.ID
		}
		return 0
	}
	id := strconv.FormatInt
	h.service = create("/admin/api/services.json", "name=Bench&system_name=bench&backend_version=1")
	hits, _ := c.store.Snapshot().Hits(composition.OwnerService, h.service)
	h.hits = hits.ID
	account := create("/admin/api/signup.json", "org_name=Bench&username=bench&email=b@example.com&password=secret123")
	plan := create("/admin/api/services/"+id(h.service, 10)+"/application_plans.json", "name=Basic")
	for _, period := range []string{"minute", "day"} {
		create("/admin/api/application_plans/"+id(plan, 10)+"/metrics/"+id(h.hits, 10)+"/limits.json",
			"period="+period+"&value=1000000000000")
	}
	appID := create("/admin/api/accounts/"+id(account, 10)+"/applications.json", "name=B&plan_id="+id(plan, 10)+"&user_key="+h.userKey)
	h.app, _ = c.store.Snapshot().Applications.Get(appID)
	return h
}

func reportDecisions(b *testing.B) {
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "decisions/s")
}

// The baseline: authorize's decision, Authenticate and CheckLimits on the
// in-memory counters, writing nothing.
func BenchmarkAuthorizeDecisionInProcess(b *testing.B) {
	h := newBenchHome(b)
	cred := composition.Credentials{UserKey: h.userKey}
	usage := []composition.Hit{{MetricID: h.hits, Delta: 1}}
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			snap := h.c.store.Snapshot()
			app, _, d := h.c.sm.AppIndex(snap, h.service).Authenticate(cred)
			if d != nil {
				b.Fatal(d.Reason)
			}
			if _, exceeded := snap.CheckLimits(app, usage, h.c.usage.Value, time.Now()); exceeded {
				b.Fatal("exceeded")
			}
		}
	})
	reportDecisions(b)
}

// authrep's decision: Authenticate, CheckLimits and the counter add, which is
// durable (group-committed, fsynced bbolt) before the decision returns.
func BenchmarkAuthrepDecisionInProcess(b *testing.B) {
	h := newBenchHome(b)
	cred := composition.Credentials{UserKey: h.userKey}
	usage := []composition.Hit{{MetricID: h.hits, Delta: 1}}
	ctx := context.Background()
	b.ReportAllocs()
	b.SetParallelism(32) // concurrent callers share a commit, as concurrent HTTP requests do
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			snap := h.c.store.Snapshot()
			app, _, d := h.c.sm.AppIndex(snap, h.service).Authenticate(cred)
			if d != nil {
				b.Fatal(d.Reason)
			}
			now := time.Now()
			ok, err := h.c.usage.Admit(ctx, h.service, app.ID, usage, now, func(current composition.Counter) bool {
				_, exceeded := snap.CheckLimits(app, usage, current, now)
				return !exceeded
			})
			if err != nil || !ok {
				b.Fatal(err, ok)
			}
		}
	})
	reportDecisions(b)
}

// The whole authrep handler in-process: query parsing, the decision and the
// XML answer, no network.
func BenchmarkAuthrepHandlerInProcess(b *testing.B) {
	h := newBenchHome(b)
	target := "/transactions/authrep.xml?" + url.Values{"service_token": {"bench"},
		"service_id": {strconv.FormatInt(h.service, 10)}, "user_key": {h.userKey}, "usage[hits]": {"1"}}.Encode()
	b.ReportAllocs()
	b.SetParallelism(32)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			rec := httptest.NewRecorder()
			h.c.sm.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, target, nil))
			if rec.Code != http.StatusOK {
				b.Fatalf("%d %s", rec.Code, rec.Body)
			}
		}
	})
	reportDecisions(b)
}
