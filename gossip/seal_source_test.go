package gossip

import (
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// audienceEnvelope seals, as an agent's view keys do, with the key of the
// audience of the document a payload was made from, and opens with its own
// service's key. atSeal, when set, runs at the start of every Seal.
type audienceEnvelope struct {
	keys   map[string]*KeyEnvelope
	own    string
	atSeal func()
}

func newAudienceEnvelope(t testing.TB, own string) *audienceEnvelope {
	return &audienceEnvelope{own: own, keys: map[string]*KeyEnvelope{"a": keyEnvelope(t, 0xa), "b": keyEnvelope(t, 0xb)}}
}

func (e *audienceEnvelope) Seal(payload, source []byte) ([]byte, error) {
	if e.atSeal != nil {
		e.atSeal()
	}
	var v struct {
		Audience string `json:"audience"`
	}
	if err := json.Unmarshal(source, &v); err != nil {
		return nil, fmt.Errorf("audience: %w", err)
	}
	k := e.keys[v.Audience]
	if k == nil {
		return nil, fmt.Errorf("no key for %q", v.Audience)
	}
	return k.Seal(payload, source)
}

func (e *audienceEnvelope) SameKey(a, b []byte) bool {
	return audienceOf(a) == audienceOf(b)
}

func audienceOf(doc []byte) string {
	var v struct {
		Audience string `json:"audience"`
	}
	if json.Unmarshal(doc, &v) != nil {
		return "\x00unreadable"
	}
	return v.Audience
}

func (e *audienceEnvelope) Open(sealed []byte) ([]byte, error) {
	return e.keys[e.own].Open(sealed)
}

// swapSource is a Source that installs another document after its next k
// reads: the node has chosen what to send from the document it read, and
// finds another one there when it reads again (to seal, say).
type swapSource struct {
	mu      sync.Mutex
	rev     uint64
	doc     []byte
	reads   int // reads left before next is installed; 0: none armed
	next    []byte
	nextRev uint64
	swapped bool
}

func (s *swapSource) Latest() (uint64, []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	rev, doc := s.rev, s.doc
	if s.reads > 0 {
		s.reads--
		if s.reads == 0 {
			s.rev, s.doc, s.swapped = s.nextRev, s.next, true
		}
	}
	return rev, doc
}

func (s *swapSource) set(rev uint64, doc []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.rev, s.doc, s.reads, s.swapped = rev, doc, 0, false
}

// swapAfter installs doc at rev after the next k reads.
func (s *swapSource) swapAfter(k int, rev uint64, doc []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.reads, s.nextRev, s.next, s.swapped = k, rev, doc, false
}

// hasSwapped reports whether the other document is installed.
func (s *swapSource) hasSwapped() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.swapped
}

// swapNode starts a node on a swapSource with env, pushing and pulling
// state too rarely to read the source on its own during a test.
func swapNode(t *testing.T, name string, joinWait time.Duration, env Envelope, opts ...opt) (*tnode, *swapSource) {
	t.Helper()
	src := &swapSource{}
	opts = append(opts, withEnvelope(env), withPushPull(time.Hour), func(c *Config) { c.Source = src })
	return startNode(t, name, joinWait, opts...), src
}

// audienceDoc is a document for audience, with that audience's secret in it.
func audienceDoc(t testing.TB, audience string, rev uint64) []byte {
	t.Helper()
	body := testDoc(t, rev, 16<<10)
	return append([]byte(fmt.Sprintf(`{"audience":%q,"secret":"secret-of-%s",`, audience, audience)), body[1:]...)
}

// editAudienceDoc is doc with a small change, still JSON (the envelope
// reads the audience from it).
func editAudienceDoc(doc []byte) []byte {
	return bytes.Replace(doc, []byte("/comments/"), []byte("/delta-secret-of-a/"), 1)
}

// opensUnder opens sealed with audience's key; nil when it does not open.
func opensUnder(t testing.TB, e *audienceEnvelope, audience string, sealed []byte) []byte {
	t.Helper()
	plain, err := e.keys[audience].Open(sealed)
	if err != nil {
		return nil
	}
	return plain
}

// The node installs service B's document right after choosing A's delta
// for its announcement, before sealing it: the delta is A's, and is sealed
// with A's key.
func TestSealSourceAnnouncedDeltaKeepsItsDocumentsKey(t *testing.T) {
	t.Parallel()
	env := newAudienceEnvelope(t, "a")
	n, src := swapNode(t, "seal-src-alone", time.Second, env)
	a1 := audienceDoc(t, "a", 1)
	a2 := editAudienceDoc(a1)
	src.set(1, a1)
	require.NoError(t, n.Announce(1))
	src.set(2, a2)
	// Announce reads the source to compress it, then to make the delta.
	src.swapAfter(2, 2, audienceDoc(t, "b", 2))
	var sealedAfterSwap bool
	env.atSeal = func() { sealedAfterSwap = src.hasSwapped() }
	require.NoError(t, n.Announce(2))
	require.NotNil(t, heldDeltaOf(n).d, "the node made a delta to A's revision 2")
	require.True(t, sealedAfterSwap, "B's document was installed before the delta was sealed")

	var withDelta int
	for _, m := range n.broadcasts.GetBroadcasts(0, 64<<10) {
		kind, body, err := messageKind(m)
		require.NoError(t, err)
		require.Equal(t, kindAnnounce, kind)
		a, err := decodeAnnounce(body)
		require.NoError(t, err)
		if a.Delta == nil {
			continue
		}
		withDelta++
		assert.False(t, opensUnder(t, env, "b", a.Delta) != nil, "A's delta opens under B's key")
		d := opensUnder(t, env, "a", a.Delta)
		require.NotNil(t, d, "A's delta is sealed with A's key")
		got, _, err := applyDelta(a1, sha256.Sum256(a1), d)
		require.NoError(t, err)
		assert.Equal(t, a2, got)
	}
	assert.Equal(t, 1, withDelta)
}

// A peer asks for a document; right after the node chose what to send, and
// before it sealed it, the node installs service B's document (at the same
// revision, then at a newer one). What it sends is the document it chose,
// sealed with its own audience's key, whole or as a delta: B's key never
// seals A's bytes. B's own document, chosen afterwards, goes under B's key.
func TestSealSourceServedPayloadKeepsItsDocumentsKey(t *testing.T) {
	t.Parallel()
	env := newAudienceEnvelope(t, "a")
	origin, src := swapNode(t, "seal-src-origin", time.Second, env)
	// The asker fetches nothing on its own: only what the test asks for.
	asker := startNode(t, "seal-src-asker", 5*time.Second, withJoin(origin.Addr()), withPushPull(time.Hour),
		func(c *Config) { c.Source, c.OnComposition = nil, nil })
	waitMembers(t, []*tnode{origin, asker}, 2)
	self, ok := origin.Node.events.peer(origin.Name())
	require.True(t, ok)
	var sealedAfterSwap bool
	env.atSeal = func() { sealedAfterSwap = src.hasSwapped() }
	ask := func(want, base uint64) response {
		t.Helper()
		sealedAfterSwap = false
		r, err := asker.request(self.node(), want, base)
		require.NoError(t, err)
		require.NotEmpty(t, r.Doc)
		return r
	}

	a1 := audienceDoc(t, "a", 1)
	src.set(1, a1)
	require.NoError(t, origin.Announce(1))
	src.swapAfter(1, 1, audienceDoc(t, "b", 1)) // the serve's one read
	r := ask(1, 0)
	require.True(t, sealedAfterSwap, "B's document was installed before the answer was sealed")
	assert.False(t, opensUnder(t, env, "b", r.Doc) != nil, "A's document opens under B's key")
	gz := opensUnder(t, env, "a", r.Doc)
	require.NotNil(t, gz)
	doc, err := gunzip(gz)
	require.NoError(t, err)
	assert.Equal(t, a1, doc, "the document chosen, A's")

	// A's revision 2 as a delta from 1, asked for as B's revision 3 is
	// installed.
	a2 := editAudienceDoc(a1)
	src.set(2, a2)
	require.NoError(t, origin.Announce(2))
	require.NotNil(t, heldDeltaOf(origin).d)
	b3 := audienceDoc(t, "b", 3)
	src.swapAfter(1, 3, b3)
	r = ask(2, 1)
	require.True(t, sealedAfterSwap, "B's document was installed before the delta was sealed")
	require.Equal(t, uint64(1), r.Base, "a delta from revision 1")
	assert.False(t, opensUnder(t, env, "b", r.Doc) != nil, "A's delta opens under B's key")
	d := opensUnder(t, env, "a", r.Doc)
	require.NotNil(t, d)
	got, _, err := applyDelta(a1, sha256.Sum256(a1), d)
	require.NoError(t, err)
	assert.Equal(t, a2, got)

	// B's document, chosen now, is B's to read only.
	r = ask(3, 0)
	assert.False(t, opensUnder(t, env, "a", r.Doc) != nil)
	gz = opensUnder(t, env, "b", r.Doc)
	require.NotNil(t, gz)
	doc, err = gunzip(gz)
	require.NoError(t, err)
	assert.Equal(t, b3, doc)
	assert.False(t, bytes.Contains(doc, []byte("secret-of-a")))
}

// A payload whose document names no audience with a key, or that comes
// without its document, is not sent.
func TestSealSourceWithoutKeySendsNothing(t *testing.T) {
	t.Parallel()
	env := newAudienceEnvelope(t, "a")
	origin, src := swapNode(t, "seal-src-nokey", time.Second, env)
	asker := startNode(t, "seal-src-nokey-asker", 5*time.Second, withJoin(origin.Addr()), func(c *Config) { c.Source, c.OnComposition = nil, nil })
	waitMembers(t, []*tnode{origin, asker}, 2)
	src.set(1, audienceDoc(t, "c", 1))
	require.NoError(t, origin.Announce(1))
	self, ok := origin.Node.events.peer(origin.Name())
	require.True(t, ok)
	r, err := asker.request(self.node(), 1, 0)
	require.Error(t, err)
	assert.Empty(t, r.Doc)

	_, err = origin.seal([]byte("payload"), nil)
	assert.Error(t, err, "no source, no seal")
}

// A node re-placed from service A to B holds A's document at revision 1
// and announces B's at revision 2: a delta between them would be sealed
// for B yet tell B's agents A's length, digest and layout, so none is
// made, and the announcement carries none.
func TestSealSourceNoDeltaAcrossKeys(t *testing.T) {
	t.Parallel()
	env := newAudienceEnvelope(t, "b")
	n, src := swapNode(t, "seal-src-cross", time.Second, env)
	a1 := audienceDoc(t, "a", 1)
	b2 := bytes.Replace(a1, []byte(`"audience":"a","secret":"secret-of-a"`), []byte(`"audience":"b","secret":"s-of-b"`), 1)
	src.set(1, a1)
	require.NoError(t, n.Announce(1))
	src.set(2, b2)
	require.NoError(t, n.Announce(2))
	assert.Nil(t, heldDeltaOf(n).d, "no delta from A's document to B's")
	for _, m := range n.broadcasts.GetBroadcasts(0, 64<<10) {
		_, body, err := messageKind(m)
		require.NoError(t, err)
		a, err := decodeAnnounce(body)
		require.NoError(t, err)
		assert.Nil(t, a.Delta, "announcement of revision %d", a.Revision)
	}

	b3 := editAudienceDoc(b2)
	src.set(3, b3)
	require.NoError(t, n.Announce(3))
	assert.NotNil(t, heldDeltaOf(n).d, "B's documents still get deltas between them")
}
