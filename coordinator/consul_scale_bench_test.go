package coordinator_test

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	consul "github.com/hashicorp/consul/api"

	"github.com/portolan/portolan/internal/testenv"
	"github.com/portolan/portolan/registry"
	"github.com/portolan/portolan/registry/client"
)

// The Consul-backed mode at scale, side by side with home in one run: N
// instances registered, then their heartbeats from the same number of
// workers, (a) to one in-process coordinator over HTTP, each instance
// speaking the agent protocol through its own registry client (registered
// with the bootstrap token, then heartbeating with its credential), and
// (b) to one Consul dev agent, the instances' local Consul agent, with the
// calls `portolan agent --consul` makes (a service registration with a TTL
// check, then UpdateTTL on it). baseline sends (a)'s heartbeats to a
// trivial Go server. Select a fleet size with
// -bench 'HeartbeatsConsulVsHome/instances=1000$'.

const (
	scaleWorkers = 32 // concurrent heartbeats, the same for every target
	scaleOutput  = "HTTP GET http://127.0.0.1:3000/health: 200 OK"
)

// heartbeatFunc sends instance i's heartbeat.
type heartbeatFunc func(ctx context.Context, i int) error

func BenchmarkHeartbeatsConsulVsHome(b *testing.B) {
	for _, n := range []int{1_000, 10_000} {
		b.Run(fmt.Sprintf("instances=%d", n), func(b *testing.B) {
			ids := make([]string, n)
			for i := range ids {
				ids[i] = fmt.Sprintf("news-host%05d-%08x", i, uint32(i)*2654435761)
			}
			home := homeFleet(b, ids)
			cons := consulFleet(b, ids)
			base := baselineFleet(b, ids)
			b.Run("home", func(b *testing.B) { heartbeatRounds(b, n, home) })
			b.Run("consul", func(b *testing.B) { heartbeatRounds(b, n, cons) })
			b.Run("baseline", func(b *testing.B) { heartbeatRounds(b, n, base) })
		})
	}
}

// scaleTransport is the connection pool every simulated instance of one
// target shares: keep-alive, a connection per worker.
func scaleTransport() *http.Transport {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConns, t.MaxIdleConnsPerHost = 2*scaleWorkers, 2*scaleWorkers
	return t
}

// homeFleet registers ids with a coordinator through the agent protocol and
// returns their heartbeats.
func homeFleet(b *testing.B, ids []string) heartbeatFunc {
	b.Helper()
	addr := startAgentsCoordinator(b)
	transport := scaleTransport()
	clients := make([]*client.Client, len(ids))
	revs := make([]uint64, len(ids))
	reg := &registry.Registration{Service: "news", Address: "10.1.2.3", Port: 3000,
		Labels: map[string]string{"pool": "basic", "zone": "a"}, Hostname: "news-7f3a", AgentVersion: "bench",
		Check: "http GET http://127.0.0.1:3000/health"}
	start := time.Now()
	forEach(b, len(ids), func(ctx context.Context, i int) error {
		c, err := client.New(client.Config{Address: addr, Token: benchAgentToken, Timeout: 30 * time.Second, Transport: transport})
		if err != nil {
			return err
		}
		reply, err := c.Register(ctx, ids[i], reg)
		if err != nil {
			return err
		}
		clients[i], revs[i] = c, reply.Revision
		return nil
	})
	b.Logf("home: registered %d instances in %v", len(ids), time.Since(start).Round(time.Millisecond))
	return func(ctx context.Context, i int) error {
		_, err := clients[i].Heartbeat(ctx, ids[i], &registry.Heartbeat{Status: registry.StatusPassing, Output: scaleOutput, Revision: revs[i]})
		return err
	}
}

// consulFleet registers ids as services with TTL checks in a Consul dev
// agent, as the agent does, and returns their TTL updates.
func consulFleet(b *testing.B, ids []string) heartbeatFunc {
	b.Helper()
	cfg := consul.DefaultConfig()
	cfg.Address = testenv.StartConsul(b).URL
	cfg.Transport = scaleTransport()
	cl, err := consul.NewClient(cfg)
	if err != nil {
		b.Fatal(err)
	}
	agent := cl.Agent()
	start := time.Now()
	forEach(b, len(ids), func(ctx context.Context, i int) error {
		return agent.ServiceRegisterOpts(consulRegistration(ids[i]), consul.ServiceRegisterOpts{ReplaceExistingChecks: true}.WithContext(ctx))
	})
	b.Logf("consul: registered %d services in %v", len(ids), time.Since(start).Round(time.Millisecond))
	checks := make([]string, len(ids))
	for i, id := range ids {
		checks[i] = "service:" + id
	}
	return func(ctx context.Context, i int) error {
		return agent.UpdateTTLOpts(checks[i], scaleOutput, consul.HealthPassing, (&consul.QueryOptions{}).WithContext(ctx))
	}
}

// baselineFleet sends homeFleet's heartbeats to a trivial server.
func baselineFleet(b *testing.B, ids []string) heartbeatFunc {
	b.Helper()
	c, err := client.New(client.Config{Address: trivialServer(b), Token: benchAgentToken, Timeout: 30 * time.Second, Transport: scaleTransport()})
	if err != nil {
		b.Fatal(err)
	}
	return func(ctx context.Context, i int) error {
		_, err := c.Heartbeat(ctx, ids[i], &registry.Heartbeat{Status: registry.StatusPassing, Output: scaleOutput, Revision: 1})
		return err
	}
}

// forEach runs op for 0…n-1 from 64 goroutines, failing b on the first error.
func forEach(b *testing.B, n int, op func(ctx context.Context, i int) error) {
	b.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var next atomic.Int64
	var firstErr atomic.Pointer[error]
	var wg sync.WaitGroup
	for range 64 {
		wg.Go(func() {
			for i := int(next.Add(1)) - 1; i < n && ctx.Err() == nil; i = int(next.Add(1)) - 1 {
				if err := op(ctx, i); err != nil {
					firstErr.CompareAndSwap(nil, &err)
					cancel()
				}
			}
		})
	}
	wg.Wait()
	if err := firstErr.Load(); err != nil {
		b.Fatal(*err)
	}
}

// heartbeatRounds sends b.N rounds of heartbeats, one from each of n
// instances a round, from scaleWorkers goroutines, timing each, and reports
// heartbeats/s, p50 and p99.
func heartbeatRounds(b *testing.B, n int, beat heartbeatFunc) {
	total := int64(b.N) * int64(n)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var (
		mu   sync.Mutex
		all  = make([]time.Duration, 0, total)
		next atomic.Int64
		wg   sync.WaitGroup
	)
	b.ReportAllocs()
	b.ResetTimer()
	for range scaleWorkers {
		wg.Go(func() {
			local := make([]time.Duration, 0, total/scaleWorkers+1)
			for k := next.Add(1) - 1; k < total && ctx.Err() == nil; k = next.Add(1) - 1 {
				t0 := time.Now()
				if err := beat(ctx, int(k%int64(n))); err != nil {
					b.Error(err)
					cancel()
					break
				}
				local = append(local, time.Since(t0))
			}
			mu.Lock()
			all = append(all, local...)
			mu.Unlock()
		})
	}
	wg.Wait()
	b.StopTimer()
	if len(all) == 0 {
		return
	}
	slices.Sort(all)
	pct := func(p float64) float64 {
		return float64(all[min(len(all)-1, int(p*float64(len(all))))].Nanoseconds()) / 1e3
	}
	b.ReportMetric(float64(len(all))/b.Elapsed().Seconds(), "heartbeats/s")
	b.ReportMetric(pct(0.50), "p50-µs")
	b.ReportMetric(pct(0.99), "p99-µs")
}
