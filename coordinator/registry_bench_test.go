package coordinator_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/portolan/portolan/coordinator"
	"github.com/portolan/portolan/internal/gcfloor"
	"github.com/portolan/portolan/internal/pki"
	"github.com/portolan/portolan/registry"
	"github.com/portolan/portolan/registry/client"
)

// The agent API under load: one in-process coordinator on loopback, real
// HTTP, many concurrent clients. Every op is one request; the benchmarks
// report ops/s and the p50 and p99 of the per-request latency as the client
// sees it. BenchmarkBaseline* and BenchmarkTrivialServer run a trivial Go
// HTTP server through exactly the same client, so the figures show what the
// registry costs over bare net/http on the same machine.

const (
	benchAgentToken  = "bench-agent-token"
	benchInstances   = 10_000
	benchConcurrency = 16 // client goroutines per GOMAXPROCS
)

var (
	heartbeatBody    = `{"status":"passing","output":"HTTP GET http://127.0.0.1:3000/health: 200 OK","revision":1}`
	registrationBody = `{"service":"news","address":"10.1.2.3","port":3000,"labels":{"pool":"basic","zone":"a"},` +
		`"hostname":"news-7f3a","agent_version":"bench","check":"http GET http://127.0.0.1:3000/health","ttl":"6s"}`
)

// startAgentsCoordinator runs a coordinator with the agent API enabled. The
// TTL is long so that no simulated instance expires while the benchmark
// picks the others.
func startAgentsCoordinator(b *testing.B) string {
	b.Helper()
	co, err := coordinator.New(coordinator.Config{
		Listen: "127.0.0.1:0", DataDir: b.TempDir(), AccessToken: "bench", AgentToken: benchAgentToken,
		TTL: 10 * time.Minute, Logger: zerolog.Nop(),
		// Registrations benchmarks go past the default caps, home's and the
		// bootstrap token's.
		Identity: coordinator.IdentityConfig{MaxInstances: 1 << 30, MaxInstancesPerToken: 1 << 30},
	})
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done, gcDone := make(chan struct{}), make(chan struct{})
	go func() { _ = co.Run(ctx); close(done) }()
	// As `portolan coordinator` runs it; BENCH_HEAP_FLOOR=0 measures GOGC alone.
	floor := uint64(coordinator.DefaultHeapFloor)
	if v := os.Getenv("BENCH_HEAP_FLOOR"); v != "" {
		n, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			b.Fatalf("BENCH_HEAP_FLOOR=%q: %v", v, err)
		}
		floor = n
	}
	go func() { gcfloor.Run(ctx, floor); close(gcDone) }()
	b.Cleanup(func() { cancel(); <-done; <-gcDone })
	return "http://" + co.Addr()
}

// trivialServer answers every request with a fixed small JSON body after
// reading the request body: bare net/http on loopback.
func trivialServer(b *testing.B) string {
	b.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	reply := []byte(`{"revision":1}` + "\n")
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		_, _ = w.Write(reply)
	}), ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	b.Cleanup(func() { _ = srv.Close() })
	return "http://" + ln.Addr().String()
}

func agentBenchClient() *http.Client {
	return &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 1024, MaxConnsPerHost: 0}}
}

// agentPut sends one PUT with token and checks the status.
func agentPut(client *http.Client, url, token, body string) error {
	_, err := agentPutReply(client, url, token, body)
	return err
}

// agentPutReply sends one PUT with token, checks the status and returns
// the answer's body.
func agentPutReply(client *http.Client, url, token, body string) ([]byte, error) {
	req, err := http.NewRequest(http.MethodPut, url, strings.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := client.Do(req)
	if err != nil {
		return nil, err
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("PUT %s: %s", url, resp.Status)
	}
	return b, nil
}

// registerInstances registers n simulated instances, concurrently, and
// returns their ids and credentials.
func registerInstances(b *testing.B, client *http.Client, base string, n int) (ids, creds []string) {
	b.Helper()
	ids, creds = make([]string, n), make([]string, n)
	for i := range ids {
		ids[i] = fmt.Sprintf("news-host%05d-%08x", i, uint32(i)*2654435761)
	}
	var next atomic.Int64
	var wg sync.WaitGroup
	var firstErr atomic.Pointer[error]
	for range 64 {
		wg.Go(func() {
			for firstErr.Load() == nil {
				i := int(next.Add(1)) - 1
				if i >= n {
					return
				}
				body, err := agentPutReply(client, base+"/v1/instances/"+ids[i], benchAgentToken, registrationBody)
				if err == nil {
					var reply registry.RegisterReply
					err = json.Unmarshal(body, &reply)
					creds[i] = reply.Credential
				}
				if err != nil {
					firstErr.CompareAndSwap(nil, &err)
				}
			}
		})
	}
	wg.Wait()
	if err := firstErr.Load(); err != nil {
		b.Fatal(*err)
	}
	return ids, creds
}

// timedParallel runs op b.N times from benchConcurrency×GOMAXPROCS
// goroutines, timing each call, and reports unit/s, p50 and p99.
func timedParallel(b *testing.B, unit string, op func(n int64) error) {
	b.Helper()
	var (
		mu   sync.Mutex
		all  = make([]time.Duration, 0, b.N)
		seq  atomic.Int64
		fail atomic.Bool
	)
	b.SetParallelism(benchConcurrency)
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		local := make([]time.Duration, 0, 1024)
		for pb.Next() {
			if fail.Load() {
				continue
			}
			t0 := time.Now()
			if err := op(seq.Add(1) - 1); err != nil {
				if fail.CompareAndSwap(false, true) {
					b.Error(err)
				}
				continue
			}
			local = append(local, time.Since(t0))
		}
		mu.Lock()
		all = append(all, local...)
		mu.Unlock()
	})
	elapsed := time.Since(start)
	b.StopTimer()
	if len(all) == 0 {
		return
	}
	slices.Sort(all)
	pct := func(p float64) float64 {
		return float64(all[min(len(all)-1, int(p*float64(len(all))))].Nanoseconds()) / 1e3
	}
	b.ReportMetric(float64(len(all))/elapsed.Seconds(), unit+"/s")
	b.ReportMetric(pct(0.50), "p50-µs")
	b.ReportMetric(pct(0.99), "p99-µs")
}

// BenchmarkHeartbeatHTTP10k: heartbeats to instances spread over 10,000
// registered ones, parallel, over loopback HTTP with keep-alive; run it with
// BenchmarkTrivialServer (-bench 'HeartbeatHTTP10k|TrivialServer') for the
// ratio, from one run. The goal is 0.9× the trivial server's rate and a p99
// within 1.2× of its.
func BenchmarkHeartbeatHTTP10k(b *testing.B) {
	base := startAgentsCoordinator(b)
	client := agentBenchClient()
	start := time.Now()
	ids, creds := registerInstances(b, client, base, benchInstances)
	b.Logf("registered %d instances in %v", len(ids), time.Since(start).Round(time.Millisecond))
	urls := make([]string, len(ids))
	for i, id := range ids {
		urls[i] = base + "/v1/instances/" + id + "/heartbeat"
	}
	b.Run(fmt.Sprintf("instances=%d", benchInstances), func(b *testing.B) {
		timedParallel(b, "heartbeats", func(n int64) error {
			// A stride coprime with the count spreads calls over every instance.
			i := (n * 7919) % int64(len(urls))
			return agentPut(client, urls[i], creds[i], heartbeatBody)
		})
	})
}

// BenchmarkTrivialServer: the heartbeats of BenchmarkHeartbeatHTTP10k, same
// client, against a trivial net/http server answering {"revision":1}.
func BenchmarkTrivialServer(b *testing.B) {
	base := trivialServer(b)
	client := agentBenchClient()
	urls := make([]string, benchInstances)
	for i := range urls {
		urls[i] = fmt.Sprintf("%s/v1/instances/news-host%05d-%08x/heartbeat", base, i, uint32(i)*2654435761)
	}
	timedParallel(b, "heartbeats", func(n int64) error {
		return agentPut(client, urls[(n*7919)%int64(len(urls))], benchAgentToken, heartbeatBody)
	})
}

// BenchmarkAgentRegistrations: registrations of new instances with the
// bootstrap token, each issued its credential.
func BenchmarkAgentRegistrations(b *testing.B) {
	base := startAgentsCoordinator(b)
	client := agentBenchClient()
	run := time.Now().UnixNano()
	timedParallel(b, "registrations", func(n int64) error {
		return agentPut(client, fmt.Sprintf("%s/v1/instances/news-%x-%d", base, run, n), benchAgentToken, registrationBody)
	})
}

// BenchmarkRegisterWithJoinToken: registrations with credential issue
// through a join token scoped to the service and labels: the token parsed,
// looked up and checked, the scope checked, a credential drawn and hashed.
func BenchmarkRegisterWithJoinToken(b *testing.B) {
	base := startAgentsCoordinator(b)
	admin, err := client.New(client.Config{Address: base, Token: "bench"})
	if err != nil {
		b.Fatal(err)
	}
	tok, err := admin.CreateJoinToken(context.Background(), &registry.JoinTokenSpec{Service: "news",
		Labels: map[string]string{"pool": "basic", "zone": "a"}, MaxInstances: 1 << 30}) // past the default cap per token
	if err != nil {
		b.Fatal(err)
	}
	client := agentBenchClient()
	run := time.Now().UnixNano()
	timedParallel(b, "registrations", func(n int64) error {
		return agentPut(client, fmt.Sprintf("%s/v1/instances/news-%x-%d", base, run, n), tok.Token, registrationBody)
	})
}

// BenchmarkBaselineRegistrations: the same requests against a trivial server.
func BenchmarkBaselineRegistrations(b *testing.B) {
	base := trivialServer(b)
	client := agentBenchClient()
	timedParallel(b, "registrations", func(n int64) error {
		return agentPut(client, fmt.Sprintf("%s/v1/instances/news-%d", base, n), benchAgentToken, registrationBody)
	})
}

// BenchmarkHeartbeatsTLS: the heartbeats of BenchmarkHeartbeatHTTP10k over
// plain HTTP and over TLS in the same run, each with keep-alive: "https"
// with a connection per client goroutine, as many agents open, and
// "https-h2" through the transport an agent uses (client.NewTransport),
// every heartbeat multiplexed on one HTTP/2 connection. The goal is TLS at
// 0.8× plain HTTP or better.
func BenchmarkHeartbeatsTLS(b *testing.B) {
	for _, tc := range []struct {
		name string
		tls  coordinator.TLSConfig
		h2   bool
	}{
		{"http", coordinator.TLSConfig{Mode: coordinator.TLSOff}, false},
		{"https", coordinator.TLSConfig{Mode: coordinator.TLSOn}, false},
		{"https-h2", coordinator.TLSConfig{Mode: coordinator.TLSOn}, true},
	} {
		b.Run(tc.name, func(b *testing.B) {
			co, err := coordinator.New(coordinator.Config{
				Listen: "127.0.0.1:0", DataDir: b.TempDir(), AccessToken: "bench", AgentToken: benchAgentToken,
				TTL: 10 * time.Minute, Logger: zerolog.Nop(), TLS: tc.tls,
				Identity: coordinator.IdentityConfig{MaxInstancesPerToken: benchInstances}, // all through the bootstrap token
			})
			if err != nil {
				b.Fatal(err)
			}
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan struct{})
			go func() { _ = co.Run(ctx); close(done) }()
			b.Cleanup(func() { cancel(); <-done })
			httpClient := agentBenchClient()
			if !co.CAPin().IsZero() {
				transport := client.NewTransport(pki.PinnedClientConfig(co.CAPin()))
				transport.MaxIdleConnsPerHost = 1024
				if !tc.h2 {
					transport.ForceAttemptHTTP2 = false
					transport.TLSClientConfig.NextProtos = []string{"http/1.1"}
				}
				httpClient = &http.Client{Transport: transport}
			}
			ids, creds := registerInstances(b, httpClient, co.URL(), benchInstances)
			urls := make([]string, len(ids))
			for i, id := range ids {
				urls[i] = co.URL() + "/v1/instances/" + id + "/heartbeat"
			}
			timedParallel(b, "heartbeats", func(n int64) error {
				i := (n * 7919) % int64(len(urls))
				return agentPut(httpClient, urls[i], creds[i], heartbeatBody)
			})
		})
	}
}
