package consulstore

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/consul/api"
	"github.com/rs/zerolog"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/portolan/portolan/composition"
	"github.com/portolan/portolan/internal/testenv"
)

// hookProxy stands between a store and a real Consul, so that a test can
// hold a request or an answer at the moment a race needs.
type hookProxy struct {
	URL    string
	mu     sync.Mutex
	before func(r *http.Request)                   // before a request goes to Consul
	after  func(r *http.Request, body []byte)      // once Consul answered, before the store gets it
	tag    func(r *http.Request, body []byte) bool // marks a request for after (by its body)
}

func newHookProxy(t *testing.T, consulURL string) *hookProxy {
	t.Helper()
	target, err := url.Parse(consulURL)
	require.NoError(t, err)
	p := &hookProxy{}
	rp := httputil.NewSingleHostReverseProxy(target)
	rp.ModifyResponse = func(resp *http.Response) error {
		p.mu.Lock()
		after := p.after
		p.mu.Unlock()
		if after != nil {
			after(resp.Request, nil)
		}
		return nil
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p.mu.Lock()
		before, tag := p.before, p.tag
		p.mu.Unlock()
		if tag != nil && r.Body != nil {
			body, _ := io.ReadAll(r.Body)
			r.Body = io.NopCloser(bytes.NewReader(body))
			if tag(r, body) {
				r.Header.Set("X-Test-Tag", "1")
			}
		}
		if before != nil {
			before(r)
		}
		rp.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	p.URL = srv.URL
	return p
}

func (p *hookProxy) set(before func(*http.Request), after func(*http.Request, []byte), tag func(*http.Request, []byte) bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.before, p.after, p.tag = before, after, tag
}

func (p *hookProxy) client(t *testing.T) *api.Client {
	t.Helper()
	cfg := api.DefaultNonPooledConfig()
	cfg.Address = p.URL
	cl, err := api.NewClient(cfg)
	require.NoError(t, err)
	return cl
}

// metricID returns the id of svc's metric name in c, 0 when there is none.
func metricID(c *composition.Composition, svc int64, name string) int64 {
	for _, m := range c.MetricsOf(composition.OwnerService, svc) {
		if m.SystemName == name {
			return m.ID
		}
	}
	return 0
}

func deleteMetric(id int64) func(*composition.Tx) error {
	return func(tx *composition.Tx) error { return tx.Delete(composition.KindMetric, id) }
}

// A coordinator opening on an unfinished large revision R loses its finish
// to another coordinator, which finishes R and writes R+1 (deleting one of
// R's metrics). The opened store must not keep R as its pending revision:
// its next write would copy R's stage again over R+1 and set the meta key
// back to R.
func TestOpenThatLosesTheFinishKeepsNoStalePending(t *testing.T) {
	c := testenv.StartConsul(t)
	cl := c.Client(t)
	writer := openInternal(t, cl)
	svc := newService(t, writer, "svc")
	other := openInternal(t, cl)
	want := commitUnfinished(t, writer, svc, 70)
	require.Eventually(t, func() bool { return other.pendingAt(want.Revision) }, 10*time.Second, 10*time.Millisecond)
	big0 := metricID(other.Snapshot(), svc, "big0")
	require.NotZero(t, big0)

	px := newHookProxy(t, c.URL)
	var once sync.Once
	px.set(func(r *http.Request) {
		if r.URL.Path == "/v1/txn" {
			once.Do(func() { // the opening store's first finish transaction
				_, err := other.Update(context.Background(), deleteMetric(big0))
				assert.NoError(t, err)
			})
		}
	}, nil, nil)
	opened := openInternal(t, px.client(t))
	px.set(nil, nil, nil)
	require.Equal(t, want.Revision+1, opened.Snapshot().Revision)
	assert.Zero(t, metricID(opened.Snapshot(), svc, "big0"))

	snap, err := opened.Update(context.Background(), createMetrics(svc, "after", 1))
	require.NoError(t, err)
	assert.Equal(t, want.Revision+2, snap.Revision)
	fresh := openInternal(t, cl).Snapshot()
	assert.Equal(t, want.Revision+2, fresh.Revision)
	assert.Zero(t, metricID(fresh, svc, "big0"), "R+1 deleted it: R's stage was not copied again over R+1")
}

// The watch reloads while the store's own large revision R is being
// committed, and its read of the stage answers once the store has finished R
// and is committing R+1 (deleting one of R's metrics); the watch is slow to
// look again. The pending revision the late reload records is stale: the
// write after R+1 must not copy R's stage over R+1 and set the meta key back
// to R.
func TestWatchReloadDuringOwnFinishLeavesNoStalePending(t *testing.T) {
	c := testenv.StartConsul(t)
	cl := c.Client(t)
	px := newHookProxy(t, c.URL)
	s := openInternal(t, px.client(t))
	svc := newService(t, s, "svc")

	stageList := func(r *http.Request) bool {
		return r.Method == http.MethodGet && strings.HasPrefix(r.URL.Path, "/v1/kv/"+s.stagedRoot) &&
			r.URL.Path != "/v1/kv/"+s.stagedRoot && r.URL.Query().Has("recurse")
	}
	watchQuery := func(r *http.Request) bool {
		return r.URL.Path == "/v1/kv/"+s.metaKey && r.URL.Query().Has("index")
	}
	held, release, committed := make(chan struct{}), make(chan struct{}), make(chan struct{})
	var holdOnce, releaseOnce, committedOnce sync.Once
	var mu sync.Mutex
	armed := false
	px.set(func(r *http.Request) {
		mu.Lock()
		a := armed
		mu.Unlock()
		if a && r.URL.Path == "/v1/txn" {
			// R+1 is in flight: the watch's read of R's stage answers now.
			releaseOnce.Do(func() {
				close(release)
				assert.Eventually(t, func() bool {
					s.mu.Lock()
					defer s.mu.Unlock()
					return s.pending != nil
				}, 5*time.Second, time.Millisecond, "the late reload recorded R as pending")
			})
		}
	}, func(r *http.Request, _ []byte) {
		mu.Lock()
		a := armed
		mu.Unlock()
		switch {
		case r.Header.Get("X-Test-Tag") != "":
			// The staged commit's answer is late: the watch sees the
			// meta key move before the store knows it wrote it.
			time.Sleep(300 * time.Millisecond)
		case stageList(r):
			holdOnce.Do(func() { close(held) })
			<-release
		case a && watchQuery(r):
			<-committed // a slow watch
		}
	}, func(r *http.Request, body []byte) bool {
		return r.URL.Path == "/v1/txn" && bytes.Contains(body, []byte(`"Key":"`+s.pendingKey+`"`)) &&
			bytes.Contains(body, []byte(`"Verb":"set"`)) && !bytes.Contains(body, []byte(`"Verb":"delete"`))
	})
	t.Cleanup(func() {
		releaseOnce.Do(func() { close(release) })
		committedOnce.Do(func() { close(committed) })
	})

	snap, err := s.Update(context.Background(), createMetrics(svc, "big", 70))
	require.NoError(t, err)
	rev := snap.Revision
	select {
	case <-held:
	case <-time.After(10 * time.Second):
		t.Fatal("the watch did not read the stage")
	}
	big0 := metricID(snap, svc, "big0")
	require.NotZero(t, big0)

	mu.Lock()
	armed = true
	mu.Unlock()
	snap, err = s.Update(context.Background(), deleteMetric(big0))
	require.NoError(t, err)
	require.Equal(t, rev+1, snap.Revision)

	snap, err = s.Update(context.Background(), createMetrics(svc, "after", 1))
	require.NoError(t, err)
	assert.Equal(t, rev+2, snap.Revision)
	mu.Lock()
	armed = false
	mu.Unlock()
	committedOnce.Do(func() { close(committed) })
	fresh := openInternal(t, cl).Snapshot()
	assert.Equal(t, rev+2, fresh.Revision)
	assert.Zero(t, metricID(fresh, svc, "big0"), "R+1 deleted it: R's stage was not copied again over R+1")
}

// A token that may read the prefix but not write it opens the store (as
// TestWriteWithAReadOnlyTokenIsDeniedNotAConflict has it) also while a large
// revision is unfinished: it cannot finish it, but it reads it whole.
func TestReadOnlyTokenOpensOnAnUnfinishedRevision(t *testing.T) {
	cs := testenv.StartConsulACL(t)
	writer := openInternal(t, cs.Client(t))
	svc := newService(t, writer, "svc")
	want := commitUnfinished(t, writer, svc, 70)

	token := cs.Token(t, "read-only", `key_prefix "internal/" { policy = "read" }`)
	s, err := Open(context.Background(), Config{Client: cs.ClientWithToken(t, token), Prefix: "internal/", Logger: zerolog.Nop()})
	require.NoError(t, err, "a read-only token opens the store")
	t.Cleanup(func() { _ = s.Close() })
	assert.Equal(t, want.Revision, s.Snapshot().Revision)
	assert.Len(t, s.Snapshot().MetricsOf(composition.OwnerService, svc), 1+70)

	_, err = s.Update(context.Background(), createMetrics(svc, "after", 1))
	require.ErrorAs(t, err, new(*ErrDenied))
}

// stageNext commits a large revision of n metrics named tag… through w
// without finishing it (w stops midway), and publishes it on w. It may run
// off the test's goroutine.
func stageNext(t *testing.T, w *Store, svc int64, tag string, n int) bool {
	tx := composition.NewTx(w.Snapshot(), time.Now())
	if !assert.NoError(t, createMetrics(svc, tag, n)(tx)) {
		return false
	}
	r, err := w.encode(tx.Changes(), tx.Result())
	if !assert.NoError(t, err) || !assert.True(t, r.large) {
		return false
	}
	var b txnBatch
	b.add(r)
	mv, err := json.Marshal(meta{Revision: r.next.Revision, LastID: r.next.LastID})
	if !assert.NoError(t, err) {
		return false
	}
	w.mu.Lock()
	idx := w.metaIndex
	w.mu.Unlock()
	if !assert.NoError(t, w.stageAndCommit(context.Background(), &b, idx, mv)) {
		return false
	}
	w.Publish(r.next)
	return true
}

// bareStore is a Store as Open makes it, without its watch and group
// commit: a test drives its steps alone.
func bareStore(t *testing.T, cl *api.Client) *Store {
	t.Helper()
	s := &Store{kv: cl.KV(), raw: cl.Raw(), root: "internal/composition/", metaKey: "internal/composition/meta",
		pendingKey: "internal/composition/pending", stagedRoot: "internal/staged/", log: zerolog.Nop(),
		timeout: DefaultCommitTimeout, maxTxn: DefaultMaxTxnBytes, done: make(chan struct{})}
	c, idx, err := s.loadFinished(context.Background())
	require.NoError(t, err)
	s.knownRev, s.metaIndex = c.Revision, idx
	s.Head = composition.NewHead(c, s.persist, nil)
	return s
}

// A reader whose read of the stage keeps coming after the writer finished
// that revision (a slow link, an import committing large revisions one after
// the other) has read nothing wrong: it must not report the composition as
// corrupt, which refuses writes (503) and tells the operator to fix or
// remove the pending key.
func TestStageFinishedWhileReadIsNotCorrupt(t *testing.T) {
	c := testenv.StartConsul(t)
	cl := c.Client(t)
	svc := newService(t, openInternal(t, cl), "svc")
	w := bareStore(t, cl)
	px := newHookProxy(t, c.URL)
	reader := bareStore(t, px.client(t))
	require.True(t, stageNext(t, w, svc, "r0-", 70))

	n := 0
	px.set(func(r *http.Request) {
		if r.Method == http.MethodGet && strings.HasPrefix(r.URL.Path, "/v1/kv/"+w.stagedRoot) && r.URL.Query().Has("recurse") {
			// The writer finishes the revision the reader is about to
			// read, and commits the next.
			n++
			if assert.NoError(t, w.finish(context.Background())) {
				stageNext(t, w, svc, fmt.Sprintf("r%d-", n), 70)
			}
		}
	}, nil, nil)
	_, _, _, err := reader.load(context.Background())
	px.set(nil, nil, nil)
	assert.False(t, errors.As(err, new(*ErrCorrupt)), "nothing under the prefix is unreadable: %v", err)
}

// A stage that lost keys while its pending key still names it is corrupt,
// as before: no retry brings them back.
func TestIncompleteStageIsCorrupt(t *testing.T) {
	cl := testenv.StartConsul(t).Client(t)
	w := openInternal(t, cl)
	svc := newService(t, w, "svc")
	commitUnfinished(t, w, svc, 70)
	keys := keysUnder(t, cl, w.stagedRoot)
	require.Len(t, keys, 70)
	_, err := cl.KV().Delete(keys[0], nil)
	require.NoError(t, err)

	_, _, _, err = w.load(context.Background())
	var corrupt *ErrCorrupt
	require.ErrorAs(t, err, &corrupt)
	assert.Equal(t, w.pendingKey, corrupt.Key)
}
