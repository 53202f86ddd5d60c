package gossip

import (
	"context"
	"fmt"
	"math"
	"slices"
	"sort"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hashicorp/memberlist"
)

// BenchmarkConvergence measures how long a composition change takes to reach
// 99 % and 100 % of N nodes, all in-process on loopback with Portolan's gossip
// settings (gossip every 100 ms to 4 nodes, probe every second, push/pull
// every 30 s; before the change to those, memberlist's 200 ms to 3), and the gossip bandwidth per node: bytes sent plus received
// per node per second, idle and during the change, counted by a transport
// wrapper (UDP payloads and TCP stream bytes as memberlist puts them on the
// wire: after compression, encryption and label; IP/UDP/TCP headers not
// included). Idle traffic is the median of five 1 s windows, which is the
// probes; push/pull runs every 30 s (60 s at 50 nodes, 120 s at 200), so it is
// measured on its own, one exchange, and reported amortized over its interval:
// idle total ≈ idle-B/s/node + pushpull-B/s/node.
// The change is a 64 KiB JSON document; "during the change" runs
// from the announcement until the last node has the document, so it includes
// every node's fetch of it.
//
// An iteration: the origin's Source moves to a new revision and it
// announces it; the time is taken when each node's OnComposition returns.
// 99 % of N nodes is ceil(0.99 N) nodes, the origin included: for N = 10
// and 50 that is every node.
//
// For reference, Serf's convergence model (its docs' simulator) gives about
// 2.2 s for 99.99 % of 1,000 nodes at a 200 ms gossip interval and fanout 3;
// that figure is quoted, not computed here.
//
// Run: go test ./gossip/ -run '^$' -bench Convergence -benchtime 5x
// (one cluster per N; each of the 5 iterations is one change; the metrics
// are medians over the iterations).
func BenchmarkConvergence(b *testing.B) {
	for _, n := range []int{10, 50, 200} {
		b.Run(fmt.Sprintf("N=%d", n), func(b *testing.B) { benchConvergence(b, n) })
	}
}

type benchNode struct {
	*tnode
	bytes *byteCounter
	at    atomic.Int64 // unix nanos at which the awaited revision arrived
}

func benchConvergence(b *testing.B, size int) {
	want := atomic.Uint64{}
	arrived := atomic.Int64{}
	allIn := make(chan struct{}, 1)
	nodes := make([]*benchNode, size)
	var startErr error
	var mu sync.Mutex
	start := func(i int, join []string) {
		bn := &benchNode{tnode: &tnode{src: &memSource{}}, bytes: &byteCounter{}}
		tr, port, err := newCountingTransport(bn.bytes)
		if err == nil {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			bn.Node, err = Start(ctx, Config{
				Name:     fmt.Sprintf("bench-%03d", i),
				Insecure: true, // the baseline in BENCHMARKS.md ran without encryption
				Bind:     "127.0.0.1:0",
				Join:     join,
				Meta:     Meta{Role: RoleAgent, Service: "news", InstanceID: fmt.Sprintf("bench-%03d", i), API: "127.0.0.1:7071"},
				Source:   bn.src,
				OnComposition: func(rev uint64, doc []byte) {
					bn.src.set(rev, doc)
					if rev == want.Load() {
						bn.at.Store(time.Now().UnixNano())
						if arrived.Add(1) == int64(size-1) {
							allIn <- struct{}{}
						}
					}
				},
				Logger: testLogger(),
				tune: func(c *memberlist.Config) {
					c.Transport = tr
					c.BindPort, c.AdvertisePort = port, port
				},
			})
		}
		mu.Lock()
		defer mu.Unlock()
		if err != nil {
			startErr = err
			return
		}
		nodes[i] = bn
	}
	defer func() {
		var wg sync.WaitGroup
		for _, n := range nodes {
			if n != nil && n.Node != nil {
				wg.Go(func() { _ = n.Shutdown() })
			}
		}
		wg.Wait()
	}()

	start(0, nil)
	if startErr != nil {
		b.Fatal(startErr)
	}
	// One join at a time, each through the first node and the one before it.
	// (Joins made all at once can leave a node unaware of a peer that joined
	// at the same moment until its next push/pull, up to a minute or two
	// later; a real cluster rarely starts that way.)
	for i := 1; i < size; i++ {
		start(i, []string{nodes[0].Addr(), nodes[i-1].Addr()})
		if startErr != nil {
			b.Fatal(startErr)
		}
	}
	t0 := time.Now()
	lastLog := t0
	for !membersConverged(nodes, size) {
		// memberlist sometimes leaves a node unaware of a peer (or holding it
		// dead) after a burst of joins until its next push/pull, a minute or
		// two later. Every other node knows that peer, so the change still
		// reaches it; go on after 30 s.
		if time.Since(t0) > 30*time.Second {
			b.Logf("N=%d: going on with membership not converged: %s", size, membershipSummary(nodes))
			break
		}
		if time.Since(lastLog) > 10*time.Second {
			b.Logf("N=%d: membership not converged after %s: %s", size, time.Since(t0).Round(time.Second), membershipSummary(nodes))
			lastLog = time.Now()
		}
		time.Sleep(100 * time.Millisecond)
	}
	b.Logf("N=%d: %s %.1fs after the last join", size, membershipSummary(nodes), time.Since(t0).Seconds())
	time.Sleep(3 * time.Second) // the join broadcasts run out

	// Idle: the median of five 1 s windows, which is the probes; a push/pull
	// now and then (every node's first one comes at a random time within
	// 30 s of its start) lands in some windows, so it is measured below.
	var idles []float64
	for range 5 {
		before := totalBytes(nodes)
		time.Sleep(time.Second)
		idles = append(idles, float64(totalBytes(nodes)-before)/float64(size))
	}
	idle := median(idles)

	// One push/pull exchange, the same one a join makes, between two members;
	// each node starts one per (scaled) push/pull interval, so it costs a
	// node about exchange/interval on average.
	pair := []*benchNode{nodes[1], nodes[2]}
	before := totalBytes(pair)
	if _, err := nodes[1].ml().Join([]string{nodes[2].Addr()}); err != nil {
		b.Fatal(err)
	}
	exchange := float64(totalBytes(pair) - before)
	interval := pushPullInterval(30*time.Second, size)

	origin := nodes[0]
	var doc []byte
	var t99, t100, busy []float64
	rev := uint64(0)
	for b.Loop() {
		rev++
		doc = testDoc(b, rev, 64<<10)
		want.Store(rev)
		arrived.Store(0)
		origin.src.set(rev, doc)
		before := totalBytes(nodes)
		began := time.Now()
		if err := origin.Announce(rev); err != nil {
			b.Fatal(err)
		}
		select {
		case <-allIn:
		case <-time.After(time.Minute):
			b.Fatalf("revision %d reached %d of %d nodes in a minute", rev, arrived.Load()+1, size)
		}
		ended := time.Now()
		busy = append(busy, float64(totalBytes(nodes)-before)/float64(size)/ended.Sub(began).Seconds())
		times := []float64{0} // the origin has it at once
		for _, n := range nodes[1:] {
			times = append(times, float64(n.at.Load()-began.UnixNano())/1e6)
		}
		sort.Float64s(times)
		t99 = append(t99, times[int(math.Ceil(0.99*float64(size)))-1])
		t100 = append(t100, times[size-1])

		b.StopTimer()
		time.Sleep(2 * time.Second) // the announcements of this change run out
		b.StartTimer()
	}
	gz, err := origin.compressed(rev)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(median(t99), "ms-to-99pct")
	b.ReportMetric(median(t100), "ms-to-100pct")
	b.ReportMetric(idle, "idle-B/s/node")
	b.ReportMetric(median(busy), "change-B/s/node")
	b.ReportMetric(float64(len(gz)), "doc-gzip-B")
	b.ReportMetric(exchange, "pushpull-B")
	b.ReportMetric(exchange/interval.Seconds(), "pushpull-B/s/node")
	b.Logf("N=%d: to 99%% %v ms, to 100%% %v ms; idle %.0f B/s/node (windows %v); push/pull %.0f B per exchange, every %s: %.0f B/s/node; during change %v B/s/node; document %d B, %d B gzip",
		size, round(t99), round(t100), idle, round(idles), exchange, interval, exchange/interval.Seconds(), round(busy), len(doc), len(gz))
}

// pushPullInterval is memberlist's push/pull interval for n nodes: it grows
// by one base interval per doubling above 32 nodes (memberlist's
// pushPullScale, copied).
func pushPullInterval(base time.Duration, n int) time.Duration {
	if n <= 32 {
		return base
	}
	return time.Duration(math.Ceil(math.Log2(float64(n))-math.Log2(32))+1) * base
}

func membersConverged(nodes []*benchNode, size int) bool {
	for _, n := range nodes {
		if len(n.Members()) != size {
			return false
		}
	}
	return true
}

// membershipSummary says how many nodes see how many members, and who the
// first lagging node misses.
func membershipSummary(nodes []*benchNode) string {
	counts := map[int]int{}
	lag := ""
	for _, n := range nodes {
		ms := n.Members()
		counts[len(ms)]++
		if len(ms) != len(nodes) && lag == "" {
			seen := map[string]bool{}
			for _, m := range ms {
				seen[m.Name] = true
			}
			var missing []string
			for _, o := range nodes {
				if !seen[o.Name()] {
					missing = append(missing, o.Name())
				}
			}
			lag = fmt.Sprintf("; %s (memberlist counts %d) misses %v", n.Name(), n.ml().NumMembers(), missing)
		}
	}
	return fmt.Sprintf("members seen → nodes: %v%s", counts, lag)
}

func totalBytes(nodes []*benchNode) int64 {
	var sum int64
	for _, n := range nodes {
		sum += n.bytes.total()
	}
	return sum
}

func median(xs []float64) float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	if len(s) == 0 {
		return math.NaN()
	}
	return s[len(s)/2]
}

func round(xs []float64) []float64 {
	out := make([]float64, len(xs))
	for i, x := range xs {
		out[i] = math.Round(x)
	}
	return out
}
