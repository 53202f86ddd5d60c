package coordinator_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/rs/zerolog"

	"github.com/portolan/portolan/coordinator"
)

func startInProcess(b *testing.B) (*coordinator.Coordinator, string) {
	b.Helper()
	co, err := coordinator.New(coordinator.Config{
		Listen: "127.0.0.1:0", DataDir: b.TempDir(), AccessToken: "bench", Logger: zerolog.Nop(),
	})
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { _ = co.Run(ctx); close(done) }()
	b.Cleanup(func() { cancel(); <-done })
	return co, "http://" + co.Addr()
}

func post(b *testing.B, client *http.Client, method, target string, form url.Values, want int) {
	req, _ := http.NewRequest(method, target, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth("", "bench")
	resp, err := client.Do(req)
	if err != nil {
		b.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != want {
		b.Fatalf("%s %s: %d", method, target, resp.StatusCode)
	}
}

func benchClient() *http.Client {
	return &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
}

// Composition writes through the 3scale API: each op is one acknowledged,
// fsynced revision (a service with its hits metric and proxy).
func BenchmarkAPICreateService(b *testing.B) {
	_, base := startInProcess(b)
	client := benchClient()
	var n atomic.Int64
	b.ReportAllocs()
	b.SetParallelism(4)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			post(b, client, "POST", base+"/admin/api/services.json",
				url.Values{"name": {fmt.Sprintf("svc %d", n.Add(1))}}, http.StatusCreated)
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "writes/s")
}

// Updates of one entity in a composition of 1,000 services.
func BenchmarkAPIUpdateService(b *testing.B) {
	co, base := startInProcess(b)
	client := benchClient()
	for i := 0; i < 1000; i++ {
		post(b, client, "POST", base+"/admin/api/services.json", url.Values{"name": {fmt.Sprintf("svc %d", i)}}, http.StatusCreated)
	}
	id := co.Store().Snapshot().Services.All()[0].ID
	target := fmt.Sprintf("%s/admin/api/services/%d.json", base, id)
	var n atomic.Int64
	b.ReportAllocs()
	b.SetParallelism(4)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			post(b, client, "PUT", target, url.Values{"description": {fmt.Sprint(n.Add(1))}}, http.StatusOK)
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "writes/s")
}

// Baseline for the two above, in the same run: a trivial Go HTTP server that
// parses the same form and answers 201 with a small JSON body, no storage.
func BenchmarkBaselineTrivialHTTPWrite(b *testing.B) {
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_ = r.ParseForm()
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusCreated)
		_, _ = io.WriteString(w, `{"service":{"id":1,"name":"`+r.PostForm.Get("name")+`"}}`)
	})}
	ln, err := newLoopbackListener()
	if err != nil {
		b.Fatal(err)
	}
	go func() { _ = srv.Serve(ln) }()
	b.Cleanup(func() { _ = srv.Close() })
	base := "http://" + ln.Addr().String()
	client := benchClient()
	b.ReportAllocs()
	b.SetParallelism(4)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			post(b, client, "POST", base+"/admin/api/services.json", url.Values{"name": {"x"}}, http.StatusCreated)
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "writes/s")
}
