package console

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/stretchr/testify/require"

	"github.com/portolan/portolan/composition"
	"github.com/portolan/portolan/registry"
	"github.com/portolan/portolan/threescale"
)

// testToken is the console's bootstrap access token in these tests.
const testToken = "console-test-token"

// memStore is a composition store in memory.
type memStore struct{ *composition.Head }

func (m memStore) Close() error { m.Head.Close(); return nil }

// fleet is a real registry over an in-memory composition with services
// news and weather (plans basic and pro each), and n instances registered
// through the registry's public API, spread over the two services and
// three zones.
type fleet struct {
	store memStore
	reg   *registry.Registry
}

func newFleet(tb testing.TB, n int) *fleet {
	tb.Helper()
	nop := func(context.Context, []composition.Change, *composition.Composition) error { return nil }
	st := memStore{composition.NewHead(composition.New(), nop, nil)}
	tb.Cleanup(func() { _ = st.Close() })
	_, err := st.Update(context.Background(), func(tx *composition.Tx) error {
		for _, name := range []string{"news", "weather"} {
			svc := &composition.Service{Name: name, SystemName: name}
			if err := tx.Create(svc); err != nil {
				return err
			}
			for _, plan := range []string{"basic", "pro"} {
				if err := tx.Create(&composition.ApplicationPlan{ServiceID: svc.ID, Name: plan, SystemName: name + "-" + plan}); err != nil {
					return err
				}
			}
		}
		return nil
	})
	require.NoError(tb, err)
	reg, err := registry.New(registry.Config{Store: st, TTL: time.Hour, Logger: zerolog.Nop(), MaxInstances: max(n, registry.DefaultMaxInstances)})
	require.NoError(tb, err)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { _ = reg.Run(ctx); close(done) }()
	tb.Cleanup(func() { cancel(); <-done })
	for i := range n {
		svc := []string{"news", "weather"}[i%2]
		_, err := reg.Register(fmt.Sprintf("%s-%05d", svc, i), registry.Registration{
			Service: svc, Address: fmt.Sprintf("10.0.%d.%d", i/250, i%250+1), Port: 3000,
			Labels: map[string]string{"zone": fmt.Sprintf("z%d", i%3)}, AgentVersion: "test",
		})
		require.NoError(tb, err)
	}
	return &fleet{store: st, reg: reg}
}

// console returns a console over the fleet, served by an httptest server.
func (f *fleet) console(tb testing.TB) (*Console, *httptest.Server) {
	return f.consoleAt(tb, nil)
}

// consoleAt is console on the clock now (nil: time.Now).
func (f *fleet) consoleAt(tb testing.TB, now func() time.Time) (*Console, *httptest.Server) {
	tb.Helper()
	c, err := New(Config{
		Snapshot: f.store.Snapshot, Map: f.reg, Version: "test", Logger: zerolog.Nop(),
		Tokens: threescale.NewStoreTokenChecker(f.store.Snapshot, testToken), Now: now,
	})
	require.NoError(tb, err)
	srv := httptest.NewServer(c)
	tb.Cleanup(srv.Close)
	return c, srv
}

// newBrowser is a client with a cookie jar that follows no redirect, so
// tests see them.
func newBrowser(tb testing.TB) *http.Client {
	jar, err := cookiejar.New(nil)
	require.NoError(tb, err)
	return &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

// postLogin logs in through the form as a browser on srv's origin does:
// it gets the form, then posts token with the form's CSRF token and
// returns the answer, its body unread.
func postLogin(tb testing.TB, hc *http.Client, srv *httptest.Server, token string) *http.Response {
	tb.Helper()
	return postLoginVia(tb, hc, srv, token, "")
}

// signedInClient logs in to srv with token and returns a client holding
// the session cookie (it follows no redirect, so tests see them).
func signedInClient(tb testing.TB, srv *httptest.Server, token string) *http.Client {
	tb.Helper()
	hc := newBrowser(tb)
	resp := postLogin(tb, hc, srv, token)
	readBody(tb, resp)
	require.Equal(tb, http.StatusSeeOther, resp.StatusCode, "a valid token logs in")
	require.Equal(tb, "/ui/map", resp.Header.Get("Location"))
	return hc
}

func readBody(tb testing.TB, resp *http.Response) string {
	tb.Helper()
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(tb, err)
	return string(b)
}
