package gossip

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"runtime/pprof"
	"sort"
	"sync"
	"sync/atomic"
	"syscall"
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
// Portolan configures them (memberlistConfig, encrypted; only probes are
// slowed, see tune), and joined in batches of 32. The document is a
// composition-like JSON of about 200 KB; a change edits one mapping rule
// and the revision. Before the iterations every node fetches a first
// revision, so each holds the base a delta is made from. An iteration: the
// origin's Source moves to the next revision and it announces it; each
// node's time is taken when its OnComposition returns. 99 % of N is
// ceil(0.99 N) nodes, the origin included.
//
// B-sent/node/change is what the nodes put on the wire (UDP payloads and
// TCP stream bytes after encryption, without IP/UDP/TCP headers) from the
// announcement until 3 s after the last node had it, so the announcements'
// retransmissions are in, less the idle traffic (probes, push/pull) of
// that time at the rate measured in the 4 s before, divided by N; being a
// difference it is noisy, negative at times. idle-cores and change-cores
// are the CPU the process used idle and while the change spread: near 2,
// the two cores here, the nodes waited for CPU, not for the protocol.
// GOSSIP_SCALE_CPUPROFILE=file profiles the first change.
//
// Run: go test ./gossip/ -run '^$' -bench '^BenchmarkConvergenceAtScale$/^N=1000$/' -benchtime 5x
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
	startNode := func(i int, join []string) (*benchNode, error) {
		bn := &benchNode{tnode: &tnode{src: &memSource{}}, bytes: &byteCounter{}}
		tr := network.newTransport(bn.bytes)
		name := fmt.Sprintf("scale-%04d", i)
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
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
				// Here N nodes share two cores where each would have its
				// own: probing at memberlist's pace (1 s) would cost this
				// machine N probes a second and starve the nodes into
				// suspecting each other. Probes are slowed by N/100;
				// gossip, which this measures, keeps Portolan's pace.
				if slow := time.Duration(size/100) * time.Second; slow > c.ProbeInterval {
					c.ProbeInterval, c.ProbeTimeout = slow, slow/2
				}
			},
		})
		if err != nil {
			return nil, fmt.Errorf("start %s: %w", name, err)
		}
		bn.Node = n
		return bn, nil
	}
	first, err := startNode(0, nil)
	if err != nil {
		b.Fatal(err)
	}
	nodes = append(nodes, first)
	// The others join in batches, each through the first node and one
	// picked among those already up, as a fleet boots: one after another
	// a thousand joins take most of an hour on two cores.
	const joinBatch = 32
	for lo := 1; lo < size; lo += joinBatch {
		batch := make([]*benchNode, min(lo+joinBatch, size)-lo)
		errs := make([]error, len(batch))
		var wg sync.WaitGroup
		for k := range batch {
			join := []string{nodes[0].Addr(), nodes[(lo+k)*7919%len(nodes)].Addr()}
			wg.Go(func() { batch[k], errs[k] = startNode(lo+k, join) })
		}
		wg.Wait()
		for _, bn := range batch {
			if bn != nil {
				nodes = append(nodes, bn) // shut down at the end, whatever happens next
			}
		}
		if err := errors.Join(errs...); err != nil {
			b.Fatal(err)
		}
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
	// After the joins every node pushes and pulls the member list for a
	// while (10–15 KB/s a node for 15 s at N=1,000): wait for quiet.
	settled := time.Now()
	for {
		from, sent := time.Now(), sentBytes(nodes)
		time.Sleep(2 * time.Second)
		rate := float64(sentBytes(nodes)-sent) / float64(size) / time.Since(from).Seconds()
		if rate < 1000 || time.Since(settled) > time.Minute {
			b.Logf("N=%d: idle traffic %.0f B/s/node %.0fs after the base", size, rate, time.Since(settled).Seconds())
			break
		}
	}

	var t99, t100, perChange, deltaNodes, idles, idleCores, changeCores []float64
	rev := uint64(1)
	var body []byte
	for b.Loop() {
		// The traffic of idle nodes (probes, push/pull of the member
		// list) is measured just before each change and taken off what the
		// change's window sent; and the cores it keeps busy: near the
		// machine's count, the simulation measures the machine, not the
		// protocol.
		b.StopTimer()
		idleFrom, idleBytes, idleCPU := time.Now(), sentBytes(nodes), processCPU(b)
		time.Sleep(4 * time.Second)
		idle := float64(sentBytes(nodes)-idleBytes) / float64(size) / time.Since(idleFrom).Seconds()
		idles = append(idles, idle)
		idleCores = append(idleCores, (processCPU(b)-idleCPU).Seconds()/time.Since(idleFrom).Seconds())
		b.StartTimer()

		rev++
		body = doc.at(b, rev)
		before, cpu0 := sentBytes(nodes), processCPU(b)
		stopProfile := profileChange(b)
		at := publish(rev, body)
		stopProfile()
		// The cores the change kept busy while it spread: near the
		// machine's count, the nodes waited for CPU, not for the protocol.
		changeCores = append(changeCores, (processCPU(b)-cpu0).Seconds()/time.Since(at).Seconds())
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
	b.ReportMetric(median(idles), "idle-B/s/node")
	b.ReportMetric(median(idleCores), "idle-cores")
	b.ReportMetric(median(changeCores), "change-cores")
	b.ReportMetric(float64(len(body)), "doc-B")
	b.ReportMetric(float64(len(gz)), "doc-gzip-B")
	b.ReportMetric(float64(len(heldDeltaOf(origin.tnode).d)), "delta-B")
	b.ReportMetric(median(deltaNodes), "nodes-by-delta")
	b.Logf("N=%d whole=%v: to 99%% %v ms, to 100%% %v ms; %v B sent per node per change; idle %v B/s/node; document %d B, %d B gzip, delta %d B; nodes that took the delta %v; packets lost at full inboxes %d",
		size, whole, round(t99), round(t100), round(perChange), round(idles), len(body), len(gz), len(heldDeltaOf(origin.tnode).d), deltaNodes, network.lost.Load())
}

// profileChange writes a CPU profile of a change's spread to the file
// GOSSIP_SCALE_CPUPROFILE names, if any (the first iteration's only).
func profileChange(b *testing.B) (stop func()) {
	path := os.Getenv("GOSSIP_SCALE_CPUPROFILE")
	if path == "" {
		return func() {}
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return func() {} // written by an earlier iteration
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		b.Fatal(err)
	}
	return func() { pprof.StopCPUProfile(); f.Close() }
}

// processCPU is the CPU time the process has used, user and system.
func processCPU(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func sentBytes(nodes []*benchNode) int64 {
	var sum int64
	for _, n := range nodes {
		sum += n.bytes.sent.Load()
	}
	return sum
}
