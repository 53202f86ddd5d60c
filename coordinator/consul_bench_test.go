package coordinator_test

import (
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	consul "github.com/hashicorp/consul/api"

	"github.com/portolan/portolan/internal/testenv"
)

// Consul doing the registry's job, through the same timing harness:
// BenchmarkConsulRegistrations against BenchmarkAgentRegistrations and
// BenchmarkConsulTTLUpdates against BenchmarkHeartbeatHTTP10k. Each op is one
// HTTP call to a Consul dev agent on loopback (what `portolan agent --consul`
// sends): a service registration with its TTL check, or an UpdateTTL with the
// same status and output as the heartbeat body.

// consulBenchInstances is smaller than benchInstances: a Consul agent takes
// a few ms per registration here, and an UpdateTTL costs the same whatever
// the number of services (a map lookup in the agent's local state).
const consulBenchInstances = 1_000

func benchConsulClient(b *testing.B, c *testenv.Consul) *consul.Client {
	b.Helper()
	cfg := consul.DefaultConfig() // pooled: keep-alive, like agentBenchClient
	cfg.Address = c.URL
	cfg.Transport.MaxIdleConnsPerHost = 1024
	cl, err := consul.NewClient(cfg)
	if err != nil {
		b.Fatal(err)
	}
	return cl
}

func consulRegistration(id string) *consul.AgentServiceRegistration {
	return &consul.AgentServiceRegistration{
		ID: id, Name: "news", Address: "10.1.2.3", Port: 3000, Tags: []string{"portolan", "plan:basic"},
		Meta: map[string]string{"instance_id": id, "composition_revision": "1", "label_pool": "basic", "label_zone": "a"},
		Check: &consul.AgentServiceCheck{CheckID: "service:" + id, TTL: "10m", Status: consul.HealthPassing,
			DeregisterCriticalServiceAfter: "30m"},
	}
}

func BenchmarkConsulRegistrations(b *testing.B) {
	cl := benchConsulClient(b, testenv.StartConsul(b))
	run := time.Now().UnixNano()
	timedParallel(b, "registrations", func(n int64) error {
		return cl.Agent().ServiceRegister(consulRegistration(fmt.Sprintf("news-%x-%d", run, n)))
	})
}

func BenchmarkConsulTTLUpdates(b *testing.B) {
	cl := benchConsulClient(b, testenv.StartConsul(b))
	ids := make([]string, consulBenchInstances)
	for i := range ids {
		ids[i] = fmt.Sprintf("news-host%05d-%08x", i, uint32(i)*2654435761)
	}
	start := time.Now()
	var next atomic.Int64
	var wg sync.WaitGroup
	for range 64 {
		wg.Go(func() {
			for i := int(next.Add(1)) - 1; i < len(ids); i = int(next.Add(1)) - 1 {
				if err := cl.Agent().ServiceRegister(consulRegistration(ids[i])); err != nil {
					b.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	b.Logf("registered %d services in Consul in %v", len(ids), time.Since(start).Round(time.Millisecond))
	output := "HTTP GET http://127.0.0.1:3000/health: 200 OK"
	b.Run(fmt.Sprintf("instances=%d", consulBenchInstances), func(b *testing.B) {
		timedParallel(b, "heartbeats", func(n int64) error {
			return cl.Agent().UpdateTTL("service:"+ids[(n*7919)%int64(len(ids))], output, consul.HealthPassing)
		})
	})
}
