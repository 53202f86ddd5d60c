package client_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/portolan/portolan/composition"
	"github.com/portolan/portolan/internal/pki"
	"github.com/portolan/portolan/registry"
	"github.com/portolan/portolan/registry/client"
)

const token = "agent-token"

// isAdmin checks newHome's admin access token, adminToken: it reads the map.
func isAdmin(r *http.Request) bool { return r.Header.Get("Authorization") == "Bearer "+adminToken }

// memStore is a composition store in memory.
type memStore struct{ *composition.Head }

func (m memStore) Close() error { m.Head.Close(); return nil }

// home is the registry's real agent API on a test server.
type home struct {
	reg    *registry.Registry
	signer *registry.Signer
	store  memStore
	srv    *httptest.Server
}

func newHome(t *testing.T) *home {
	t.Helper()
	nop := func(context.Context, []composition.Change, *composition.Composition) error { return nil }
	h := &home{store: memStore{composition.NewHead(composition.New(), nop, nil)}}
	var err error
	h.signer, err = registry.LoadSigner(t.TempDir())
	require.NoError(t, err)
	h.reg, err = registry.New(registry.Config{Store: h.store, Signer: h.signer, Logger: zerolog.Nop()})
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { _ = h.reg.Run(ctx); close(done) }()
	h.srv = httptest.NewServer(h.reg.Handler(registry.Access{BootstrapToken: token, Admin: isAdmin}))
	t.Cleanup(func() {
		cancel()
		<-done
		h.srv.Close()
		_ = h.store.Close()
	})
	return h
}

// addService writes a service into the composition: a new revision.
func (h *home) addService(t *testing.T, name string) uint64 {
	t.Helper()
	snap, err := h.store.Update(context.Background(), func(tx *composition.Tx) error {
		return tx.Create(&composition.Service{Name: name, SystemName: name})
	})
	require.NoError(t, err)
	return snap.Revision
}

func newClient(t *testing.T, cfg client.Config) *client.Client {
	t.Helper()
	c, err := client.New(cfg)
	require.NoError(t, err)
	return c
}

func (h *home) client(t *testing.T) *client.Client {
	return newClient(t, client.Config{Address: h.srv.URL, Token: token, Timeout: 5 * time.Second})
}

// admin is a client with the admin access token, which reads the map.
func (h *home) admin(t *testing.T) *client.Client {
	return newClient(t, client.Config{Address: h.srv.URL, Token: adminToken, Timeout: 5 * time.Second})
}

func registration(service string) *registry.Registration {
	return &registry.Registration{Service: service, Address: "10.0.0.5", Port: 3000, AgentVersion: "test"}
}

func findInstance(m *registry.Map, id string) (registry.MapInstance, bool) {
	for _, s := range m.Services {
		for _, in := range s.Instances {
			if in.ID == id {
				return in, true
			}
		}
	}
	return registry.MapInstance{}, false
}

// TestInstanceLifecycle: register, heartbeat, drain and deregister through
// the client, each seen on the map it reads.
func TestInstanceLifecycle(t *testing.T) {
	h := newHome(t)
	rev := h.addService(t, "news")
	c := h.client(t)
	ctx := context.Background()

	reply, err := c.Register(ctx, "news-1", registration("news"))
	require.NoError(t, err)
	assert.Equal(t, "news-1", reply.ID)
	assert.Equal(t, "news", reply.Placement.Service)
	assert.Equal(t, rev, reply.Revision)
	assert.Equal(t, registry.Duration(registry.DefaultHeartbeat), reply.HeartbeatInterval)

	hb, err := c.Heartbeat(ctx, "news-1", &registry.Heartbeat{Status: registry.StatusWarning, Output: "slow", Revision: rev})
	require.NoError(t, err)
	assert.Equal(t, rev, hb.Revision)

	m, idx, err := c.Map(ctx, 0, 0, "")
	require.NoError(t, err)
	assert.Equal(t, m.Index, idx)
	in, ok := findInstance(m, "news-1")
	require.True(t, ok, "the registered instance is on the map")
	assert.Equal(t, registry.StatusWarning, in.Status)
	assert.Equal(t, "slow", in.Output)

	require.NoError(t, c.Drain(ctx, "news-1"))
	m, _, err = c.Map(ctx, 0, 0, "")
	require.NoError(t, err)
	in, _ = findInstance(m, "news-1")
	assert.Equal(t, registry.StatusDraining, in.Status)

	require.NoError(t, c.Deregister(ctx, "news-1"))
	assert.Empty(t, c.Credential(), "a deregistered instance's credential is dropped")
	m, _, err = h.admin(t).Map(ctx, 0, 0, "")
	require.NoError(t, err)
	_, ok = findInstance(m, "news-1")
	assert.False(t, ok, "gone from the map")
}

// TestUnknownInstanceSaysRegisterAgain: home's 404 on an instance it does
// not know is ErrUnknownInstance, for every call on an instance.
func TestUnknownInstanceSaysRegisterAgain(t *testing.T) {
	h := newHome(t)
	c := h.client(t)
	c.SetCredential("from-before-home-restarted")
	ctx := context.Background()
	_, err := c.Heartbeat(ctx, "ghost", &registry.Heartbeat{Status: registry.StatusPassing})
	require.ErrorIs(t, err, client.ErrUnknownInstance)
	assert.Equal(t, "heartbeat ghost: home does not know this instance", err.Error())
	assert.NotErrorIs(t, err, client.ErrUnreachable)
	require.ErrorIs(t, c.Drain(ctx, "ghost"), client.ErrUnknownInstance)
	require.ErrorIs(t, c.Deregister(ctx, "ghost"), client.ErrUnknownInstance)
}

// TestRefusedCallKeepsHomesMessage: home's refusal comes back as a
// *StatusError carrying its message.
func TestRefusedCallKeepsHomesMessage(t *testing.T) {
	h := newHome(t)
	_, err := h.client(t).Register(context.Background(), "x", &registry.Registration{Address: "10.0.0.1"})
	require.Error(t, err)
	var se *client.StatusError
	require.ErrorAs(t, err, &se)
	assert.Equal(t, http.StatusBadRequest, se.Code)
	assert.Equal(t, http.StatusBadRequest, client.StatusCode(err))
	assert.Equal(t, http.MethodPut, se.Method)
	assert.Equal(t, "/v1/instances/x", se.Path)
	assert.Equal(t, `register x: home answered 400 Bad Request: {"error":"service is required (the system_name of the service the container implements)"}`, err.Error())
	assert.NotErrorIs(t, err, client.ErrUnauthorized)
	assert.NotErrorIs(t, err, client.ErrUnknownInstance)
}

// TestInstanceIDIsEscaped: an id is one path segment, whatever it holds.
func TestInstanceIDIsEscaped(t *testing.T) {
	h := newHome(t)
	_, err := h.client(t).Register(context.Background(), "a/b c", registration("news"))
	var se *client.StatusError
	require.ErrorAs(t, err, &se, "home refuses the id rather than routing it elsewhere")
	assert.Equal(t, http.StatusBadRequest, se.Code)
	assert.Contains(t, se.Body, "id has an invalid character")
}

func TestWrongTokenIsUnauthorized(t *testing.T) {
	h := newHome(t)
	for _, tok := range []string{"wrong", ""} {
		c := newClient(t, client.Config{Address: h.srv.URL, Token: tok})
		_, _, err := c.Map(context.Background(), 0, 0, "")
		require.ErrorIs(t, err, client.ErrUnauthorized, "token %q", tok)
		assert.Equal(t, http.StatusUnauthorized, client.StatusCode(err))
		code, refused := client.Refused(err)
		assert.True(t, refused, "a refusal, told apart from an outage")
		assert.Equal(t, http.StatusUnauthorized, code)
		assert.NotErrorIs(t, err, client.ErrUnreachable)
		assert.NotContains(t, err.Error(), "wrong", "the token is not repeated")
		_, err = c.Register(context.Background(), "a", registration("news"))
		require.ErrorIs(t, err, client.ErrUnauthorized)
	}
}

// closedAddr is a loopback address nothing listens on.
func closedAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().String()
	require.NoError(t, ln.Close())
	return addr
}

func TestHomeDownIsUnreachable(t *testing.T) {
	c := newClient(t, client.Config{Address: "http://" + closedAddr(t), Token: token})
	_, err := c.Heartbeat(context.Background(), "a", &registry.Heartbeat{Status: registry.StatusPassing})
	require.ErrorIs(t, err, client.ErrUnreachable)
	assert.ErrorIs(t, err, syscall.ECONNREFUSED, "the transport's error is kept")
	assert.Equal(t, 0, client.StatusCode(err))
	assert.NotErrorIs(t, err, client.ErrUnknownInstance)
	assert.NotErrorIs(t, err, client.ErrUnauthorized)
	_, refused := client.Refused(err)
	assert.False(t, refused)
	var down *client.UnreachableError
	require.ErrorAs(t, err, &down)
	assert.Equal(t, c.Address(), down.Home, "the error names home")
	assert.True(t, strings.HasPrefix(err.Error(), "heartbeat a: Put "), "the transport's own message: %v", err)
	var ue interface{ Timeout() bool }
	assert.ErrorAs(t, err, &ue, "the *url.Error is reachable")

	_, _, err = c.Map(context.Background(), 0, 0, "")
	require.ErrorIs(t, err, client.ErrUnreachable)
	_, _, err = c.Composition(context.Background(), "a", 0, 0)
	require.ErrorIs(t, err, client.ErrUnreachable)
	_, err = c.PostUsage(context.Background(), &registry.UsageBatch{ID: "b"})
	require.ErrorIs(t, err, client.ErrUnreachable)
}

// TestMapBlocksUntilItChanges: a read with the current index waits for the
// next change and answers with the new index.
func TestMapBlocksUntilItChanges(t *testing.T) {
	h := newHome(t)
	h.addService(t, "news")
	c, watcher := h.client(t), h.admin(t)
	ctx := context.Background()
	_, idx, err := watcher.Map(ctx, 0, 0, "")
	require.NoError(t, err)

	type answer struct {
		m   *registry.Map
		idx uint64
		err error
	}
	got := make(chan answer, 1)
	go func() {
		m, i, err := watcher.Map(ctx, idx, time.Minute, "")
		got <- answer{m, i, err}
	}()
	select {
	case a := <-got:
		t.Fatalf("answered before any change: %+v", a)
	case <-time.After(100 * time.Millisecond):
	}
	_, err = c.Register(ctx, "news-1", registration("news"))
	require.NoError(t, err)
	select {
	case a := <-got:
		require.NoError(t, a.err)
		assert.Greater(t, a.idx, idx)
		_, ok := findInstance(a.m, "news-1")
		assert.True(t, ok)
	case <-time.After(10 * time.Second):
		t.Fatal("the blocking read did not answer the change")
	}
}

// TestBlockingReadOutlivesTimeout: Timeout bounds ordinary calls, not a
// blocking read, which waits for as long as it asked.
func TestBlockingReadOutlivesTimeout(t *testing.T) {
	h := newHome(t)
	c := newClient(t, client.Config{Address: h.srv.URL, Token: adminToken, Timeout: 200 * time.Millisecond})
	_, idx, err := c.Map(context.Background(), 0, 0, "")
	require.NoError(t, err)
	start := time.Now()
	_, got, err := c.Map(context.Background(), idx, time.Second, "")
	require.NoError(t, err, "a blocking read is not cut by Timeout")
	assert.GreaterOrEqual(t, time.Since(start), time.Second)
	assert.Equal(t, idx, got, "nothing changed")

	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	_, _, err = c.Map(ctx, idx, time.Minute, "")
	require.ErrorIs(t, err, client.ErrUnreachable, "the caller's context bounds it")
	assert.ErrorIs(t, err, context.DeadlineExceeded)
}

func TestTimeoutBoundsOrdinaryCalls(t *testing.T) {
	hang := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
		select {
		case <-hang:
		case <-r.Context().Done():
		}
	}))
	t.Cleanup(srv.Close)
	t.Cleanup(func() { close(hang) })
	c := newClient(t, client.Config{Address: srv.URL, Token: token, Timeout: 100 * time.Millisecond})
	start := time.Now()
	_, err := c.Register(context.Background(), "a", registration("news"))
	require.ErrorIs(t, err, client.ErrUnreachable)
	var te interface{ Timeout() bool }
	require.ErrorAs(t, err, &te)
	assert.True(t, te.Timeout())
	assert.Less(t, time.Since(start), 5*time.Second)
}

func TestMapNarrowsToService(t *testing.T) {
	h := newHome(t)
	h.addService(t, "news")
	h.addService(t, "billing")
	c := h.admin(t)
	m, _, err := c.Map(context.Background(), 0, 0, "billing")
	require.NoError(t, err)
	require.Len(t, m.Services, 1)
	assert.Equal(t, "billing", m.Services[0].Name)

	m, _, err = c.Map(context.Background(), 0, 0, "nope")
	require.NoError(t, err)
	assert.NotNil(t, m.Services, "an empty list, not null")
	assert.Empty(t, m.Services)
}

// TestCompositionFollowsRevisions: the signed view comes with its revision;
// a read with that revision waits for the next one, and answers nil when
// none came within wait.
func TestCompositionFollowsRevisions(t *testing.T) {
	h := newHome(t)
	rev := h.addService(t, "news")
	c := h.client(t)
	ctx := context.Background()
	reply, err := c.Register(ctx, "news-1", registration("news"))
	require.NoError(t, err)
	pub, err := pki.ParsePublicKey(reply.SigningKey)
	require.NoError(t, err, "registration hands out the signing key")
	open := func(b []byte) composition.Document {
		t.Helper()
		v, err := registry.OpenView(pub, b)
		require.NoError(t, err)
		assert.Equal(t, "news", v.Audience)
		var d composition.Document
		require.NoError(t, json.Unmarshal(v.Document, &d))
		return d
	}

	doc, got, err := c.Composition(ctx, "news-1", 0, 0)
	require.NoError(t, err)
	assert.Equal(t, rev, got)
	d := open(doc)
	assert.Equal(t, composition.DocumentFormat, d.Format)
	assert.Equal(t, rev, d.Revision)
	require.Len(t, d.Services, 1)

	doc, got, err = c.Composition(ctx, "news-1", rev, time.Second)
	require.NoError(t, err)
	assert.Nil(t, doc, "nothing newer within wait")
	assert.Equal(t, rev, got)

	answered := make(chan []byte, 1)
	go func() {
		doc, _, err := c.Composition(ctx, "news-1", rev, time.Minute)
		assert.NoError(t, err)
		answered <- doc
	}()
	time.Sleep(100 * time.Millisecond)
	next := h.addService(t, "billing")
	select {
	case doc := <-answered:
		assert.Equal(t, next, open(doc).Revision)
	case <-time.After(10 * time.Second):
		t.Fatal("the blocking read did not answer the new revision")
	}
}

// TestNotAnAnswerOfHome: a 200 that is not what the call reads is a
// *DecodeError, not "unreachable".
func TestNotAnAnswerOfHome(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		_, _ = io.WriteString(w, "<html>hello</html>")
	}))
	t.Cleanup(srv.Close)
	c := newClient(t, client.Config{Address: srv.URL, Token: token})
	_, _, err := c.Map(context.Background(), 0, 0, "")
	var de *client.DecodeError
	require.ErrorAs(t, err, &de)
	assert.Equal(t, "home's map", de.What)
	assert.True(t, strings.HasPrefix(err.Error(), "decode home's map: invalid character '<'"), err.Error())
	assert.NotErrorIs(t, err, client.ErrUnreachable)
	_, err = c.Heartbeat(context.Background(), "a", &registry.Heartbeat{})
	require.ErrorAs(t, err, &de)
	assert.True(t, strings.HasPrefix(err.Error(), "heartbeat a: decode reply: "), err.Error())
}

// TestRequestShape: what home receives: the method, path, query, headers.
func TestRequestShape(t *testing.T) {
	var got []*http.Request
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got = append(got, r.Clone(context.Background()))
		w.Header().Set(registry.IndexHeader, "7")
		switch r.URL.Path {
		case registry.PathMap:
			_, _ = io.WriteString(w, `{"index":3,"revision":1,"services":[]}`)
		case registry.PathComposition:
			_, _ = io.WriteString(w, `{"format":"portolan.composition/v1","revision":7}`)
		default:
			_, _ = io.WriteString(w, `{}`)
		}
	}))
	t.Cleanup(srv.Close)
	c := newClient(t, client.Config{Address: srv.URL + "/", Token: token})
	ctx := context.Background()
	_, idx, err := c.Map(ctx, 42, 5*time.Minute, "news")
	require.NoError(t, err)
	assert.Equal(t, uint64(7), idx, "the index header wins over the map's own")
	_, _, err = c.Map(ctx, 0, 0, "")
	require.NoError(t, err)
	doc, rev, err := c.Composition(ctx, "news-1", 3, 30*time.Second)
	require.NoError(t, err)
	assert.Equal(t, uint64(7), rev)
	assert.NotNil(t, doc)
	_, err = c.Register(ctx, "news 1", registration("news"))
	require.NoError(t, err)
	_, err = c.PostUsage(ctx, &registry.UsageBatch{ID: "b-1", ServiceID: 2, Entries: []registry.UsageEntry{}})
	require.NoError(t, err)

	require.Len(t, got, 5)
	assert.Equal(t, "GET /v1/map?index=42&service=news&wait=5m", got[0].Method+" "+got[0].URL.RequestURI())
	assert.Equal(t, "GET /v1/map", got[1].Method+" "+got[1].URL.RequestURI(), "a one-shot read sends no parameters")
	assert.Equal(t, "GET /v1/composition?index=3&instance=news-1&wait=30s", got[2].Method+" "+got[2].URL.RequestURI())
	assert.Equal(t, "PUT /v1/instances/news%201", got[3].Method+" "+got[3].URL.RequestURI())
	assert.Equal(t, "POST /v1/usage", got[4].Method+" "+got[4].URL.RequestURI())
	for _, r := range got {
		assert.Equal(t, "Bearer "+token, r.Header.Get("Authorization"), r.URL.Path)
		assert.Equal(t, "application/json", r.Header.Get("Accept"), r.URL.Path)
	}
	assert.Empty(t, got[0].Header.Get("Content-Type"), "no body, no content type")
	assert.Equal(t, "application/json", got[3].Header.Get("Content-Type"))

	// Without a token, no Authorization header at all (an agent's local API).
	anon := newClient(t, client.Config{Address: srv.URL})
	var m registry.Map
	idx, err = anon.Query(ctx, "/v1/agent/map", client.QueryOptions{Service: "news"}, &m)
	require.NoError(t, err)
	assert.Equal(t, uint64(7), idx)
	last := got[len(got)-1]
	assert.Equal(t, "/v1/agent/map?service=news", last.URL.RequestURI())
	assert.Empty(t, last.Header.Get("Authorization"))
}

func TestFormatWait(t *testing.T) {
	assert.Equal(t, "5m", client.FormatWait(5*time.Minute))
	assert.Equal(t, "30s", client.FormatWait(30*time.Second))
	assert.Equal(t, "1h30m", client.FormatWait(90*time.Minute))
	assert.Equal(t, "2h", client.FormatWait(2*time.Hour))
	assert.Equal(t, "1m30s", client.FormatWait(90*time.Second))
	for _, d := range []time.Duration{5 * time.Minute, 2 * time.Hour, 90 * time.Minute} {
		back, err := time.ParseDuration(client.FormatWait(d))
		require.NoError(t, err)
		assert.Equal(t, d, back)
	}
}

func TestStatusErrorWithoutBody(t *testing.T) {
	err := error(&client.StatusError{Code: 503, Status: "503 Service Unavailable"})
	assert.Equal(t, "home answered 503 Service Unavailable", err.Error())
	assert.NotErrorIs(t, err, client.ErrUnauthorized)
	assert.ErrorIs(t, &client.StatusError{Code: http.StatusForbidden}, client.ErrUnauthorized)
	assert.Equal(t, 0, client.StatusCode(errors.New("other")))
}
