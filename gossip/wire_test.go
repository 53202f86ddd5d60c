package gossip

import (
	"bytes"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestWireRoundTrip(t *testing.T) {
	a := announce{Revision: 1 << 40, Holder: "agent-news-7f3a"}
	kind, body, err := messageKind(a.encode())
	require.NoError(t, err)
	require.Equal(t, kindAnnounce, kind)
	got, err := decodeAnnounce(body)
	require.NoError(t, err)
	assert.Equal(t, a, got)

	q := request{ID: 9, Want: 7, From: "n", Addr: "127.0.0.1:7947"}
	kind, body, err = messageKind(q.encode())
	require.NoError(t, err)
	require.Equal(t, kindRequest, kind)
	gq, err := decodeRequest(body)
	require.NoError(t, err)
	assert.Equal(t, q, gq)

	r := response{ID: 9, Revision: 7, Doc: []byte{0x1f, 0x8b, 1, 2, 3}}
	msg := r.encode()
	kind, body, err = messageKind(msg)
	require.NoError(t, err)
	require.Equal(t, kindResponse, kind)
	gr, err := decodeResponse(kind, body)
	require.NoError(t, err)
	assert.Equal(t, r, gr)
	msg[len(msg)-1] = 0xff
	assert.Equal(t, byte(3), gr.Doc[4], "the document is a copy")

	s := pushState{Revision: 3, Holder: "h"}
	gs, err := decodeState(s.encode())
	require.NoError(t, err)
	assert.Equal(t, s, gs)
}

func TestWireRejectsGarbage(t *testing.T) {
	for _, msg := range [][]byte{nil, {1}, {2, 'A', 1}, {1, 'A'}, {1, 'A', 0x80}, {1, 'A', 5, 200, 'x'}} {
		if kind, body, err := messageKind(msg); err == nil {
			_, err = decodeAnnounce(body)
			assert.Error(t, err, "%v (kind %c)", msg, kind)
		}
	}
	_, err := decodeState([]byte{1, 'A', 1, 0})
	assert.ErrorContains(t, err, "unknown kind")
	// Every truncation of a valid request fails cleanly.
	msg := request{ID: 300, Want: 70000, From: "node", Addr: "127.0.0.1:1"}.encode()
	for i := 2; i < len(msg); i++ {
		_, err := decodeRequest(msg[2:i])
		assert.Error(t, err, "truncated at %d", i)
	}
}

// Responses go to the request with their id; others are dropped.
func TestResponsesMatchRequests(t *testing.T) {
	n := &Node{log: testLogger()}
	n.dis.init()
	ch := make(chan response, 1)
	n.dis.pending[5] = pendingRequest{peer: "holder", ch: ch}
	n.answered(response{ID: 4, Revision: 1})
	n.answered(response{ID: 5, Revision: 2})
	n.answered(response{ID: 5, Revision: 3}) // a duplicate does not block
	assert.Equal(t, uint64(2), (<-ch).Revision)
	assert.Empty(t, ch)
}

// A response naming a responder other than the holder asked is dropped;
// one naming none (an older node) is taken by its id.
func TestResponseFromANodeNotAskedIsDropped(t *testing.T) {
	n := &Node{log: testLogger()}
	n.dis.init()
	ch := make(chan response, 1)
	n.dis.pending[5] = pendingRequest{peer: "holder", ch: ch}
	n.answered(response{ID: 5, Revision: 9, From: "forger"})
	assert.Empty(t, ch, "a response from a node not asked is dropped")
	n.answered(response{ID: 5, Revision: 2, From: "holder"})
	assert.Equal(t, uint64(2), (<-ch).Revision)
	n.answered(response{ID: 5, Revision: 3})
	assert.Equal(t, uint64(3), (<-ch).Revision, "an older node's response names no responder")
}

// Request ids are random: a node that never saw a request cannot answer it
// by counting.
func TestRequestIDsAreRandom(t *testing.T) {
	n := &Node{log: testLogger()}
	n.dis.init()
	seen := map[uint64]bool{}
	for range 100 {
		id, err := n.pend(pendingRequest{})
		require.NoError(t, err)
		assert.NotZero(t, id)
		assert.False(t, seen[id], "id %d drawn twice", id)
		seen[id] = true
	}
	assert.False(t, seen[1] && seen[2], "ids count from 1")
}

// A responder names itself only to a requester that said it reads named
// responses; requests and responses stay readable by older nodes.
func TestWireNamesTheResponder(t *testing.T) {
	q := request{ID: 1, Want: 8, From: "n", Addr: "127.0.0.1:1", Named: true}
	old := request{ID: 1, Want: 8, From: "n", Addr: "127.0.0.1:1"}
	assert.True(t, bytes.HasPrefix(q.encode(), old.encode()), "an older node reads the request and ignores the flag")
	_, body, _ := messageKind(q.encode())
	gq, err := decodeRequest(body)
	require.NoError(t, err)
	assert.Equal(t, q, gq)
	gq, err = decodeRequest(old.encode()[2:])
	require.NoError(t, err)
	assert.False(t, gq.Named)

	for _, r := range []response{
		{ID: 1, Revision: 8, From: "holder", Doc: []byte("gz")},
		{ID: 1, Revision: 8, From: "holder", Base: 7, Doc: []byte("PD\x01...")},
		{ID: 1, Revision: 8, From: "holder", Err: "has revision 3, not 8"},
	} {
		kind, body, err := messageKind(r.encode())
		require.NoError(t, err)
		assert.Contains(t, []byte{kindNamedResponse, kindNamedDelta}, kind)
		got, err := decodeResponse(kind, body)
		require.NoError(t, err)
		assert.Equal(t, len(r.Doc), len(got.Doc), "document")
		got.Doc = r.Doc
		assert.Equal(t, r, got)
	}
	_, err = decodeResponse(kindNamedResponse, response{ID: 1, Revision: 8}.encode()[2:])
	assert.Error(t, err, "a named response names its responder")
}

func TestGunzipBounds(t *testing.T) {
	_, err := gunzip([]byte("not gzip"))
	assert.Error(t, err)
	_, err = gunzip(make([]byte, maxWireDoc+1))
	assert.ErrorContains(t, err, "over the limit")
}

// Deltas ride at the end of an announcement and as a response kind of their
// own; a request asks for one by naming its base. Without them the messages
// are byte for byte what older nodes send.
func TestWireCarriesDeltas(t *testing.T) {
	plain := announce{Revision: 8, Holder: "h"}
	a := announce{Revision: 8, Holder: "h", Base: 7, Delta: []byte("PD\x01...")}
	assert.True(t, bytes.HasPrefix(a.encode(), plain.encode()), "an older node reads the announcement and ignores the delta")
	_, body, err := messageKind(a.encode())
	require.NoError(t, err)
	got, err := decodeAnnounce(body)
	require.NoError(t, err)
	assert.Equal(t, a, got)
	for _, bad := range []announce{{Revision: 8, Holder: "h", Base: 8, Delta: []byte("x")}, {Revision: 8, Holder: "h", Base: 0, Delta: []byte("x")}} {
		_, body, _ := messageKind(bad.encode())
		_, err := decodeAnnounce(body)
		assert.ErrorContains(t, err, "carries a delta", "base %d", bad.Base)
	}

	q := request{ID: 1, Want: 8, From: "n", Addr: "127.0.0.1:1", Base: 7}
	old := request{ID: 1, Want: 8, From: "n", Addr: "127.0.0.1:1"}
	assert.True(t, bytes.HasPrefix(q.encode(), old.encode()))
	_, body, _ = messageKind(q.encode())
	gq, err := decodeRequest(body)
	require.NoError(t, err)
	assert.Equal(t, q, gq)

	r := response{ID: 1, Revision: 8, Base: 7, Doc: []byte("PD\x01...")}
	kind, body, err := messageKind(r.encode())
	require.NoError(t, err)
	assert.Equal(t, kindDelta, kind)
	gr, err := decodeResponse(kind, body)
	require.NoError(t, err)
	assert.Equal(t, r, gr)
	_, err = decodeResponse(kindDelta, response{ID: 1, Revision: 8}.encode()[2:])
	assert.Error(t, err, "a delta response names its base")
}
