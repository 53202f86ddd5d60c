package http1

import (
	"bufio"
	"context"
	"io"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A lean loop behind LimitConns serves at most max connections at once:
// one more is closed at once and counted; a closed one frees its place.
func TestLimitConnsClosesConnectionsBeyondTheBound(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	capped := LimitConns(ln, 2)
	srv := NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = io.WriteString(w, "ok") }), zerolog.Nop())
	go func() { _ = srv.Serve(capped) }()
	t.Cleanup(func() { _ = srv.Shutdown(context.Background()) })

	get := func(c net.Conn) error {
		if _, err := io.WriteString(c, "GET / HTTP/1.1\r\nHost: x\r\n\r\n"); err != nil {
			return err
		}
		_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil {
			return err
		}
		return resp.Body.Close()
	}
	dial := func() net.Conn {
		c, err := net.Dial("tcp", ln.Addr().String())
		require.NoError(t, err)
		t.Cleanup(func() { c.Close() })
		return c
	}
	held := []net.Conn{dial(), dial()}
	for _, c := range held {
		require.NoError(t, get(c), "within the bound")
	}
	assert.Error(t, get(dial()), "a third connection is closed")
	assert.EqualValues(t, 1, capped.Refused())

	require.NoError(t, held[0].Close())
	require.Eventually(t, func() bool { return get(dial()) == nil }, 5*time.Second, 20*time.Millisecond,
		"the server's close of the first connection freed its place")
	require.NoError(t, get(held[1]), "the held connection still serves")
}

// onClose runs its hook once, however often the connection is closed, on
// a raw connection and on any other.
func TestOnCloseRunsOnce(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			defer c.Close()
		}
	}()
	for _, wrap := range []func(net.Conn) net.Conn{Raw, func(c net.Conn) net.Conn { return struct{ net.Conn }{c} }} {
		c, err := net.Dial("tcp", ln.Addr().String())
		require.NoError(t, err)
		n := 0
		hooked := onClose(wrap(c), func() { n++ })
		require.NoError(t, hooked.Close())
		_ = hooked.Close()
		assert.Equal(t, 1, n)
	}
}
