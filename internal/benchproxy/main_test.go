package main

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestProxies: both kinds of proxy relay a request and its answer to the
// upstream, with the client in X-Forwarded-For, and stop when their
// context ends.
func TestProxies(t *testing.T) {
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Seen-Path", r.URL.RequestURI())
		_, _ = io.WriteString(w, "hello from "+r.Header.Get("X-Forwarded-For"))
	}))
	t.Cleanup(up.Close)
	for _, lean := range []bool{false, true} {
		name := map[bool]string{false: "reverseproxy", true: "lean"}[lean]
		t.Run(name, func(t *testing.T) {
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			require.NoError(t, err)
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan error, 1)
			go func() { done <- run(ctx, ln, up.URL, lean) }()

			resp, err := http.Get("http://" + ln.Addr().String() + "/a/b?c=d")
			require.NoError(t, err)
			body, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			require.NoError(t, err)
			assert.Equal(t, http.StatusOK, resp.StatusCode)
			assert.Equal(t, "/a/b?c=d", resp.Header.Get("X-Seen-Path"))
			assert.Equal(t, "hello from 127.0.0.1", string(body))

			cancel()
			select {
			case err := <-done:
				assert.NoError(t, err)
			case <-time.After(10 * time.Second):
				t.Fatal("the proxy did not stop when its context ended")
			}
		})
	}
}

// TestLeanWantsPlainHTTP: --lean refuses an https upstream by name, and
// neither mode takes a URL without a host.
func TestLeanWantsPlainHTTP(t *testing.T) {
	for _, tc := range []struct {
		upstream string
		lean     bool
		want     string
	}{
		{"https://127.0.0.1:1", true, "--lean forwards to plain-HTTP upstreams only"},
		{"127.0.0.1:1", false, "want an http or https URL"},
		{"ftp://127.0.0.1:1", true, "want an http or https URL"},
	} {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		require.NoError(t, err)
		err = run(context.Background(), ln, tc.upstream, tc.lean)
		require.Error(t, err, tc.upstream)
		assert.Contains(t, err.Error(), tc.want)
		_, err = net.Dial("tcp", ln.Addr().String())
		assert.Error(t, err, "the listener is closed")
	}
}
