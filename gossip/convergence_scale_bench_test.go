package gossip

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"sort"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hashicorp/memberlist"
)

// BenchmarkConvergenceAtScale measures how long a small composition change
// takes to reach 99 % and 100 % of N nodes, and what it costs each node on
// the wire, with deltas (the default) and with whole documents only.
//
// The nodes run in-process over memNetwork, an in-memory transport (no
// sockets: a thousand nodes would need two thousand), configured as
// Portolan configures them (memberlistConfig, encrypted), and joined one
// after another. The document is a composition-like JSON of about 200 KB;
// a change edits one mapping rule and the revision. Before the iterations
// every node fetches a first revision, so each holds the base a delta is
// made from. An iteration: the origin's Source moves to the next revision
// and it announces it; each node's time is taken when its OnComposition
// returns. 99 % of N is ceil(0.99 N) nodes, the origin included.
//
// B-sent/node/change is what the nodes put on the wire (UDP payloads and
// TCP stream bytes after encryption, without IP/UDP/TCP headers) from the
// announcement until 3 s after the last node had it, so the announcements'
// retransmissions are in, less the idle traffic (probes) of that time
// measured just before, divided by N.
//
// Run: go test ./gossip/ -run '^$' -bench 'ConvergenceAtScale/N=1000' -benchtime 1x
// (each iteration is one change; the metrics are medians over them).
func BenchmarkConvergenceAtScale(b *testing.B) {
	for _, n := range []int{100, 1000} {
		for _, mode := range []string{"delta", "whole"} {
			b.Run(fmt.Sprintf("N=%d/%s", n, mode), func(b *testing.B) { benchScale(b, n, mode == "whole") })
		}
	}
}

// scaleDoc is a composition-like document whose rules change one at a time.
type scaleDoc struct {
	Format   string      `json:"format"`
	Revision uint64      `json:"revision"`
	Rules    []scaleRule `json:"mapping_rules"`
}

type scaleRule struct {
	ID      int    `json:"id"`
	Method  string `json:"http_method"`
	Pattern string `json:"pattern"`
	Metric  int    `json:"metric_id"`
	Delta   int    `json:"delta"`
}

func newScaleDoc(b *testing.B, size int) *scaleDoc {
	d := &scaleDoc{Format: "portolan.composition/v1", Revision: 1}
	for i := 0; ; i++ {
		d.Rules = append(d.Rules, scaleRule{ID: i + 1, Method: "GET", Pattern: fmt.Sprintf("/v1/articles/{id}/comments/%d", i*7919%100003), Metric: i%37 + 1, Delta: 1})
		if i%64 == 0 && len(d.encode(b)) >= size {
			return d
		}
	}
}

// at edits one rule for revision rev and returns the document.
func (d *scaleDoc) at(b *testing.B, rev uint64) []byte {
	d.Revision = rev
	r := &d.Rules[int(rev*7919)%len(d.Rules)]
	r.Pattern = fmt.Sprintf("/v%d/articles/{id}/comments/%d", rev, r.ID)
	r.Delta++
	return d.encode(b)
}

func (d *scaleDoc) encode(b *testing.B) []byte {
	out, err := json.Marshal(d)
	if err != nil {
		b.Fatal(err)
	}
	return out
}

func benchScale(b *testing.B, size int, whole bool) {
	var network memNetwork
	want := atomic.Uint64{}
	arrived := atomic.Int64{}
	allIn := make(chan struct{}, 1)
	key := make([]byte, 32)
	nodes := make([]*benchNode, 0, size)
	defer func() {
		var wg sync.WaitGroup
		for _, n := range nodes {
			wg.Go(func() { _ = n.Shutdown() })
		}
		wg.Wait()
	}()

	began := time.Now()
	for i := range size {
		bn := &benchNode{tnode: &tnode{src: &memSource{}}, bytes: &byteCounter{}}
		tr := network.newTransport(bn.bytes)
		var join []string
		if i > 0 {
			// Through the first node and the one before: see benchConvergence.
			join = []string{nodes[0].Addr(), nodes[i-1].Addr()}
		}
		name := fmt.Sprintf("scale-%04d", i)
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		n, err := Start(ctx, Config{
			Name:   name,
			Keys:   [][]byte{key},
			Bind:   "127.0.0.1:0",
			Join:   join,
			Meta:   Meta{Role: RoleAgent, Service: "news", InstanceID: name, API: "127.0.0.1:7071"},
			Source: bn.src,
			OnComposition: func(rev uint64, doc []byte) {
				bn.src.set(rev, doc)
				if rev == want.Load() {
					bn.at.Store(time.Now().UnixNano())
					if arrived.Add(1) == int64(size-1) {
						allIn <- struct{}{}
					}
				}
			},
			Logger:    testLogger(),
			wholeOnly: whole,
			tune: func(c *memberlist.Config) {
				c.Transport = tr
				c.BindPort, c.AdvertisePort = tr.port, tr.port
			},
		})
		cancel()
		if err != nil {
			b.Fatalf("start %s: %v", name, err)
		}
		bn.Node = n
		nodes = append(nodes, bn)
	}
	b.Logf("N=%d: %d nodes started in %s", size, size, time.Since(began).Round(time.Second))
	t0 := time.Now()
	for !membersConverged(nodes, size) {
		if time.Since(t0) > time.Minute {
			b.Logf("N=%d: going on with membership not converged: %s", size, membershipSummary(nodes))
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	b.Logf("N=%d: %s %.1fs after the last join", size, membershipSummary(nodes), time.Since(t0).Seconds())

	origin := nodes[0]
	doc := newScaleDoc(b, 200<<10)
	publish := func(rev uint64, body []byte) time.Time {
		want.Store(rev)
		arrived.Store(0)
		origin.src.set(rev, body)
		at := time.Now()
		if err := origin.Announce(rev); err != nil {
			b.Fatal(err)
		}
		select {
		case <-allIn:
		case <-time.After(2 * time.Minute):
			b.Fatalf("revision %d reached %d of %d nodes in two minutes", rev, arrived.Load()+1, size)
		}
		return at
	}
	publish(1, doc.encode(b)) // every node holds a base
	time.Sleep(3 * time.Second)

	idleFrom, idleBytes := time.Now(), sentBytes(nodes)
	time.Sleep(2 * time.Second)
	idle := float64(sentBytes(nodes)-idleBytes) / float64(size) / time.Since(idleFrom).Seconds()

	var t99, t100, perChange, deltaNodes []float64
	rev := uint64(1)
	var body []byte
	for b.Loop() {
		rev++
		body = doc.at(b, rev)
		before := sentBytes(nodes)
		at := publish(rev, body)
		times := []float64{0} // the origin has it at once
		for _, n := range nodes[1:] {
			times = append(times, float64(n.at.Load()-at.UnixNano())/1e6)
		}
		sort.Float64s(times)
		b.Logf("revision %d: p10 %.0f ms, p50 %.0f ms, p90 %.0f ms", rev, times[size/10], times[size/2], times[size*9/10])
		t99 = append(t99, times[int(math.Ceil(0.99*float64(size)))-1])
		t100 = append(t100, times[size-1])

		b.StopTimer()
		time.Sleep(3 * time.Second) // the announcements run out
		window := time.Since(at).Seconds()
		perChange = append(perChange, float64(sentBytes(nodes)-before)/float64(size)-idle*window)
		took := 0
		for _, n := range nodes[1:] {
			if d := heldDeltaOf(n.tnode); d.rev == rev && d.d != nil {
				took++
			}
		}
		deltaNodes = append(deltaNodes, float64(took))
		b.StartTimer()
	}
	gz, err := origin.compressed(rev)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(median(t99), "ms-to-99%")
	b.ReportMetric(median(t100), "ms-to-100%")
	b.ReportMetric(median(perChange), "B-sent/node/change")
	b.ReportMetric(idle, "idle-B/s/node")
	b.ReportMetric(float64(len(body)), "doc-B")
	b.ReportMetric(float64(len(gz)), "doc-gzip-B")
	b.ReportMetric(float64(len(heldDeltaOf(origin.tnode).d)), "delta-B")
	b.ReportMetric(median(deltaNodes), "nodes-by-delta")
	b.Logf("N=%d whole=%v: to 99%% %v ms, to 100%% %v ms; %v B sent per node per change; idle %.0f B/s/node; document %d B, %d B gzip, delta %d B; nodes that took the delta %v; packets lost at full inboxes %d",
		size, whole, round(t99), round(t100), round(perChange), idle, len(body), len(gz), len(heldDeltaOf(origin.tnode).d), deltaNodes, network.lost.Load())
}

func sentBytes(nodes []*benchNode) int64 {
	var sum int64
	for _, n := range nodes {
		sum += n.bytes.sent.Load()
	}
	return sum
}
