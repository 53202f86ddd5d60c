package coordinator_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"testing"

	"github.com/portolan/portolan/internal/testenv"
)

// BenchmarkServiceManagementHTTP measures authorize and authrep decisions per
// second over HTTP against a real coordinator process, with parallel
// keep-alive clients. Baseline, in the same run: an unknown /transactions
// path, answered with apisonator's 404 document (HTTP and routing only).
func BenchmarkServiceManagementHTTP(b *testing.B) {
	co, q := startSMApp(b, "minute", "day")
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 256, MaxConnsPerHost: 256}}
	for _, bc := range []struct {
		name, path string
		want       int
	}{
		{"baseline-notfound", "/transactions/nope.xml?" + q, http.StatusNotFound},
		{"authorize", "/transactions/authorize.xml?" + q, http.StatusOK},
		{"authrep", "/transactions/authrep.xml?" + q, http.StatusOK},
	} {
		b.Run(bc.name, func(b *testing.B) {
			target := co.URL + bc.path
			b.SetParallelism(16)
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					resp, err := client.Get(target)
					if err != nil {
						b.Fatal(err)
					}
					_, _ = io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					if resp.StatusCode != bc.want {
						b.Fatalf("GET %s: %d", bc.path, resp.StatusCode)
					}
				}
			})
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "decisions/s")
		})
	}
}

// startSMApp starts a real coordinator process with one user_key
// application (bench-user-key) on a plan limiting hits in each of periods
// (never reached) and returns it with the Service Management query counting
// one hit.
func startSMApp(b testing.TB, periods ...string) (*testenv.Coordinator, string) {
	co := testenv.StartCoordinator(b)
	sid := co.Create(b, "/admin/api/services.json", "name=Bench&system_name=bench&backend_version=1")
	var hits string
	{
		resp, err := http.Get(co.URL + "/admin/api/services/" + sid + "/metrics.json?access_token=" + co.Token)
		if err != nil {
			b.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		hits = firstHitsID(b, body)
	}
	account := co.Create(b, "/admin/api/signup.json", "org_name=Bench&username=bench&email=b@example.com&password=secret123")
	plan := co.Create(b, "/admin/api/services/"+sid+"/application_plans.json", "name=Basic")
	for _, period := range periods {
		co.Create(b, "/admin/api/application_plans/"+plan+"/metrics/"+hits+"/limits.json", "period="+period+"&value=1000000000000")
	}
	co.Create(b, "/admin/api/accounts/"+account+"/applications.json", "name=B&plan_id="+plan+"&user_key=bench-user-key")
	return co, url.Values{"service_token": {co.Token}, "service_id": {sid}, "user_key": {"bench-user-key"}, "usage[hits]": {"1"}}.Encode()
}

func firstHitsID(b testing.TB, body []byte) string {
	b.Helper()
	var out struct {
		Metrics []struct {
			Metric struct {
				ID         int64  `json:"id"`
				SystemName string `json:"system_name"`
			} `json:"metric"`
		} `json:"metrics"`
	}
	if err := json.Unmarshal(body, &out); err != nil {
		b.Fatal(err)
	}
	for _, m := range out.Metrics {
		if m.Metric.SystemName == "hits" {
			return s(m.Metric.ID)
		}
	}
	b.Fatal("no hits metric")
	return ""
}
