package coordinator_test

import (
	"encoding/xml"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	consul "github.com/hashicorp/consul/api"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/portolan/portolan/coordinator"
	"github.com/portolan/portolan/internal/testenv"
)

// orgReceiver is a webhook endpoint that keeps, by the account's org_name,
// every event that arrived and every one it answered 200. It can hold one
// arrival unanswered until its sender goes away.
type orgReceiver struct {
	*httptest.Server
	mu       sync.Mutex
	arrived  []string
	answered []string
	holdAt   int           // the arrival (1-based) to hold; 0: none
	held     chan struct{} // closed when that arrival came
	dropped  chan struct{} // closed when its sender went away
	release  chan struct{} // closed at cleanup: answers a held arrival
}

func startOrgReceiver(t *testing.T, holdAt int) *orgReceiver {
	t.Helper()
	r := &orgReceiver{holdAt: holdAt, held: make(chan struct{}), dropped: make(chan struct{}), release: make(chan struct{})}
	r.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		var ev struct {
			Action  string `xml:"action"`
			OrgName string `xml:"object>account>org_name"`
		}
		if err := xml.Unmarshal(body, &ev); err != nil || ev.Action != "updated" || ev.OrgName == "" {
			t.Errorf("not an account-updated event (%v): %s", err, body)
		}
		r.mu.Lock()
		r.arrived = append(r.arrived, ev.OrgName)
		n := len(r.arrived)
		r.mu.Unlock()
		if n == r.holdAt {
			close(r.held)
			select {
			case <-req.Context().Done(): // the sender gave up or died: never answered
				close(r.dropped)
				return
			case <-r.release:
			}
		}
		r.mu.Lock()
		r.answered = append(r.answered, ev.OrgName)
		r.mu.Unlock()
	}))
	t.Cleanup(r.Close)
	t.Cleanup(func() { close(r.release) }) // runs first
	return r
}

// seen returns copies of the arrivals and the answered events.
func (r *orgReceiver) seen() (arrived, answered []string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.arrived), slices.Clone(r.answered)
}

// answeredAll reports whether every name was answered at least once.
func (r *orgReceiver) answeredAll(names []string) bool {
	_, answered := r.seen()
	for _, n := range names {
		if !slices.Contains(answered, n) {
			return false
		}
	}
	return true
}

// webhookPair is two coordinators on one Consul prefix, webhooks on for
// account updates to recv, and one account both see.
type webhookPair struct {
	cs      *consul.Client
	prefix  string
	a, b    *testenv.Coordinator
	account string
}

func startWebhookPair(t *testing.T, recv *orgReceiver) *webhookPair {
	t.Helper()
	cs := testenv.StartConsul(t)
	return startWebhookPairOn(t, recv, cs, cs.URL)
}

// startWebhookPairOn starts a on aConsul (cs, or a way to it), and once a
// holds the webhook lock, b on cs: a is the first holder.
func startWebhookPairOn(t *testing.T, recv *orgReceiver, cs *testenv.Consul, aConsul string) *webhookPair {
	t.Helper()
	p := &webhookPair{prefix: "webhook-leader/"}
	cfg := consul.DefaultConfig()
	cfg.Address = cs.URL
	var err error
	p.cs, err = consul.NewClient(cfg)
	require.NoError(t, err)
	p.a = testenv.StartCoordinator(t, "--consul", aConsul, "--consul-prefix", p.prefix)
	require.Eventually(t, func() bool {
		pair, _, err := p.cs.KV().Get(p.prefix+"webhooks/leader", nil)
		return err == nil && pair != nil && pair.Session != ""
	}, 10*time.Second, 20*time.Millisecond, "a, alone, takes the webhook lock")
	p.b = testenv.StartCoordinator(t, "--consul", cs.URL, "--consul-prefix", p.prefix)

	p.account = p.a.Create(t, "/admin/api/signup.json", "org_name=Acme-0&username=alice")
	form := url.Values{"url": {recv.URL}, "active": {"true"}, "provider_actions": {"true"}, "account_updated_on": {"true"}}
	got := send(t, p.a, http.MethodPut, "/admin/api/webhooks.json", formType, form.Encode())
	require.Equal(t, http.StatusOK, got.status, got.body)
	require.Eventually(t, func() bool {
		return send(t, p.b, http.MethodGet, "/admin/api/accounts/"+p.account+".json", "", "").status == http.StatusOK
	}, 5*time.Second, 20*time.Millisecond, "b sees the account")
	return p
}

const formType = "application/x-www-form-urlencoded"

// rename sets the account's org_name through co: one webhook event. A 409
// (co had not yet seen the other's latest write) is retried, as a client
// would.
func (p *webhookPair) rename(t *testing.T, co *testenv.Coordinator, name string) {
	t.Helper()
	for try := 1; ; try++ {
		got := send(t, co, http.MethodPut, "/admin/api/accounts/"+p.account+".json", formType, "org_name="+name)
		if got.status == http.StatusConflict && try < 50 {
			time.Sleep(20 * time.Millisecond)
			continue
		}
		require.Equal(t, http.StatusOK, got.status, "rename to %s: %s", name, got.body)
		return
	}
}

// renames makes the account changes first..last through a and b in turn
// and returns their names.
func (p *webhookPair) renames(t *testing.T, first, last int) []string {
	t.Helper()
	var names []string
	for i := first; i <= last; i++ {
		name := fmt.Sprintf("Acme-%d", i)
		p.rename(t, []*testenv.Coordinator{p.a, p.b}[i%2], name)
		names = append(names, name)
	}
	return names
}

// leader returns the coordinator holding the webhook lock (by the id it
// keeps in its data dir, the lock's value), and the other; nil when none
// holds it.
func (p *webhookPair) leader(t *testing.T) (holder, other *testenv.Coordinator) {
	t.Helper()
	pair, _, err := p.cs.KV().Get(p.prefix+"webhooks/leader", nil)
	require.NoError(t, err)
	if pair == nil || pair.Session == "" {
		return nil, nil
	}
	for _, co := range [][2]*testenv.Coordinator{{p.a, p.b}, {p.b, p.a}} {
		id, err := os.ReadFile(filepath.Join(co[0].DataDir, coordinator.IDFile))
		require.NoError(t, err)
		if strings.TrimSpace(string(id)) == string(pair.Value) {
			return co[0], co[1]
		}
	}
	t.Fatalf("the webhook lock is held by %q, neither coordinator", pair.Value)
	return nil, nil
}

func (p *webhookPair) waitLeader(t *testing.T) (holder, other *testenv.Coordinator) {
	t.Helper()
	require.Eventually(t, func() bool { holder, other = p.leader(t); return holder != nil }, 10*time.Second, 20*time.Millisecond,
		"one coordinator holds the webhook lock")
	return holder, other
}

// Two coordinators on one Consul share one outbox; only the holder of the
// webhook lock delivers it, so N changes through both are N deliveries, in
// commit order.
func TestWebhooksOnConsulDeliveredOnceByOneCoordinator(t *testing.T) {
	recv := startOrgReceiver(t, 0)
	p := startWebhookPair(t, recv)
	p.waitLeader(t)
	names := p.renames(t, 1, 20)

	require.Eventually(t, func() bool { return recv.answeredAll(names) }, 15*time.Second, 20*time.Millisecond,
		"every change delivered")
	time.Sleep(time.Second) // room for a duplicate to come
	arrived, answered := recv.seen()
	assert.Equal(t, names, arrived, "each change delivered once, in commit order")
	assert.Equal(t, names, answered)
}

// kill -9 of the delivering coordinator while the receiver holds an event:
// the other takes the lock once the dead one's session ends and delivers the
// rest. Only the event in flight at the kill may come twice.
func TestWebhooksOnConsulKilledDelivererReplacedByTheOther(t *testing.T) {
	recv := startOrgReceiver(t, 3)
	p := startWebhookPair(t, recv)
	holder, other := p.waitLeader(t)
	names := p.renames(t, 1, 8)
	select {
	case <-recv.held:
	case <-time.After(15 * time.Second):
		t.Fatal("the third event never reached the receiver")
	}

	holder.Kill()
	killed := time.Now()
	arrived, answered := recv.seen()
	assert.Equal(t, names[:len(arrived)], arrived, "one coordinator delivered, in order, until the kill")
	var inFlight []string
	for _, n := range arrived {
		if !slices.Contains(answered, n) {
			inFlight = append(inFlight, n)
		}
	}
	assert.Equal(t, []string{"Acme-3"}, inFlight, "one event in flight: the held one")

	// Session TTL 10 s (Consul ends it after 2×TTL), lock delay 10 s, and
	// consul/api's 5 s retry during the delay: 35 s at most.
	require.Eventually(t, func() bool { return recv.answeredAll(names) }, 60*time.Second, 100*time.Millisecond,
		"the surviving coordinator delivers the rest")
	t.Logf("taken over and delivered the rest %s after the kill", time.Since(killed).Round(time.Second))
	now, _ := p.leader(t)
	assert.Same(t, other, now, "the survivor holds the webhook lock")

	more := "Acme-9"
	p.rename(t, other, more)
	require.Eventually(t, func() bool { return recv.answeredAll([]string{more}) }, 10*time.Second, 20*time.Millisecond)
	time.Sleep(time.Second) // room for a duplicate to come
	arrived, _ = recv.seen()
	counts := map[string]int{}
	for _, n := range arrived {
		counts[n]++
	}
	for _, n := range append(names, more) {
		if slices.Contains(inFlight, n) {
			assert.LessOrEqual(t, counts[n], 2, "%s was in flight at the kill: at most once more", n)
		} else {
			assert.Equal(t, 1, counts[n], "%s was not in flight: delivered once (arrivals %v)", n, arrived)
		}
	}
}

// A coordinator stopping releases the webhook lock: the other takes over
// at once, not after a session TTL and lock delay, and delivers nothing
// twice. A coordinator waiting for the lock stops promptly too.
func TestWebhookLockReleasedPromptlyOnStop(t *testing.T) {
	recv := startOrgReceiver(t, 0)
	p := startWebhookPair(t, recv)
	holder, standby := p.waitLeader(t)
	names := p.renames(t, 1, 5)
	require.Eventually(t, func() bool { return recv.answeredAll(names) }, 15*time.Second, 20*time.Millisecond)

	// The standby waits for the lock in a blocking query (15 s each).
	start := time.Now()
	standby.Stop()
	assert.Less(t, time.Since(start), 5*time.Second, "a waiting coordinator stops without waiting out its blocking query")
	exited, code := standby.Exited()
	require.True(t, exited)
	assert.Equal(t, 0, code, "stopped gracefully, not killed")
	standby.Start()

	start = time.Now()
	holder.Stop()
	assert.Less(t, time.Since(start), 5*time.Second, "the holder stops promptly")
	exited, code = holder.Exited()
	require.True(t, exited)
	assert.Equal(t, 0, code, "stopped gracefully, not killed")

	stopped := time.Now()
	more := []string{"Acme-6", "Acme-7"}
	for _, n := range more {
		p.rename(t, standby, n)
	}
	require.Eventually(t, func() bool { return recv.answeredAll(more) }, 5*time.Second, 20*time.Millisecond,
		"the other coordinator takes over at once: the lock was released, so no lock delay applies")
	t.Logf("delivered by the other %s after the holder stopped", time.Since(stopped).Round(time.Millisecond))
	now, _ := p.leader(t)
	assert.Same(t, standby, now)
	time.Sleep(time.Second) // room for a duplicate to come
	arrived, _ := recv.seen()
	assert.Equal(t, append(names, more...), arrived, "each change delivered once, in commit order, across the handover")
}

// cuttableProxy forwards TCP to a Consul agent until cut, which closes its
// listener and every connection (the coordinator behind it gets errors at
// once), or frozen, after which it drops every byte both ways (its calls
// hang, as across a silent partition).
type cuttableProxy struct {
	ln     net.Listener
	frozen atomic.Bool
	mu     sync.Mutex
	conns  []net.Conn
}

func startCuttableProxy(t *testing.T, target string) *cuttableProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	p := &cuttableProxy{ln: ln}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return // cut
			}
			up, err := net.Dial("tcp", target)
			if err != nil {
				c.Close()
				continue
			}
			p.mu.Lock()
			p.conns = append(p.conns, c, up)
			p.mu.Unlock()
			go p.pipe(up, c)
			go p.pipe(c, up)
		}
	}()
	t.Cleanup(p.cut)
	return p
}

func (p *cuttableProxy) pipe(dst, src net.Conn) {
	defer dst.Close()
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 && !p.frozen.Load() {
			if _, err := dst.Write(buf[:n]); err != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}

func (p *cuttableProxy) URL() string { return "http://" + p.ln.Addr().String() }

func (p *cuttableProxy) cut() {
	p.ln.Close()
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range p.conns {
		c.Close()
	}
	p.conns = nil
}

func (p *cuttableProxy) freeze() { p.frozen.Store(true) }

// The delivering coordinator cut off from Consul stops delivering before
// the other may take over, abandoning the POST in flight, and tries
// nothing more while the other delivers the rest. Refused connections end
// its watch of the lock at once; a silent partition leaves that watch
// hanging, and its failing session renewals stop it within a session TTL.
func TestWebhookDeliveryStopsWhenTheHolderIsCutOff(t *testing.T) {
	for _, tc := range []struct {
		name   string
		cut    func(*cuttableProxy)
		within time.Duration
	}{
		{"refused", (*cuttableProxy).cut, 3 * time.Second},
		{"silent", (*cuttableProxy).freeze, 12 * time.Second}, // the session TTL, and the renewals' pace
	} {
		t.Run(tc.name, func(t *testing.T) {
			recv := startOrgReceiver(t, 3)
			cs := testenv.StartConsul(t)
			proxy := startCuttableProxy(t, cs.HTTPAddr)
			p := startWebhookPairOn(t, recv, cs, proxy.URL())
			holder, other := p.leader(t)
			require.Same(t, p.a, holder, "a, behind the proxy, delivers")
			names := p.renames(t, 1, 8)
			select {
			case <-recv.held:
			case <-time.After(15 * time.Second):
				t.Fatal("the third event never reached the receiver")
			}

			tc.cut(proxy)
			cut := time.Now()
			select {
			case <-recv.dropped:
				t.Logf("a stopped delivering %s after it was cut off", time.Since(cut).Round(time.Millisecond))
			case <-time.After(tc.within):
				t.Fatalf("a, cut off from Consul, still waits for the receiver's answer after %s: it did not stop delivering", tc.within)
			}
			arrived, _ := recv.seen()
			assert.Equal(t, names[:3], arrived, "a stopped after the event in flight")

			require.Eventually(t, func() bool { return recv.answeredAll(names) }, 60*time.Second, 100*time.Millisecond,
				"b takes over once a's session ends, and delivers the rest")
			now, _ := p.leader(t)
			assert.Same(t, other, now)
			time.Sleep(time.Second) // room for a duplicate to come
			arrived, _ = recv.seen()
			want := append(names[:3:3], names[2:]...) // Acme-3 again: it was in flight
			assert.Equal(t, want, arrived, "a tried nothing more once cut off")
		})
	}
}
