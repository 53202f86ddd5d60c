package client_test

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/portolan/portolan/registry/client"
)

// blackhole forwards TCP to target until cut, from when on the connections
// it already carries swallow what they are sent and answer nothing, as a
// pulled cable or a dropped NAT entry does; connections made after the cut
// are forwarded again, as after the network comes back.
type blackhole struct {
	ln     net.Listener
	target string
	gen    atomic.Int64 // connections of an older generation are cut
	wg     sync.WaitGroup
}

func newBlackhole(t *testing.T, target string) *blackhole {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	b := &blackhole{ln: ln, target: target}
	b.wg.Add(1)
	go b.serve()
	t.Cleanup(func() {
		ln.Close()
		b.wg.Wait()
	})
	return b
}

func (b *blackhole) cut() { b.gen.Add(1) }

func (b *blackhole) serve() {
	defer b.wg.Done()
	var conns []net.Conn
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	for {
		in, err := b.ln.Accept()
		if err != nil {
			return
		}
		out, err := net.Dial("tcp", b.target)
		if err != nil {
			in.Close()
			continue
		}
		conns = append(conns, in, out)
		gen := b.gen.Load()
		b.wg.Add(2)
		go b.pipe(out, in, gen)
		go b.pipe(in, out, gen)
	}
}

// pipe copies src to dst while the connection's generation is current,
// and reads and drops everything after.
func (b *blackhole) pipe(dst, src net.Conn, gen int64) {
	defer b.wg.Done()
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 && b.gen.Load() == gen {
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}

// An agent's calls share one HTTP/2 connection to home: when that
// connection goes dead without a word, the health check closes it and the
// calls go on over a new one, instead of stalling until TCP gives up.
func TestTransportLeavesADeadConnection(t *testing.T) {
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, r.Proto)
	}))
	srv.EnableHTTP2 = true
	srv.StartTLS()
	t.Cleanup(srv.Close)
	hole := newBlackhole(t, srv.Listener.Addr().String())

	tr := client.NewTransport(srv.Client().Transport.(*http.Transport).TLSClientConfig)
	require.NotNil(t, tr.HTTP2)
	require.Equal(t, client.H2PingAfter, tr.HTTP2.SendPingTimeout)
	tr.HTTP2.SendPingTimeout, tr.HTTP2.PingTimeout = 200*time.Millisecond, 200*time.Millisecond // the test's pace
	t.Cleanup(tr.CloseIdleConnections)
	url := "https://" + hole.ln.Addr().String() + "/"
	get := func() (string, error) {
		ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
		defer cancel()
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			return "", err
		}
		resp, err := tr.RoundTrip(req)
		if err != nil {
			return "", err
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		return string(b), err
	}
	proto, err := get()
	require.NoError(t, err)
	require.Equal(t, "HTTP/2.0", proto)

	hole.cut()
	// Without the health check every call would go to the dead connection
	// and time out, for as long as TCP keeps it.
	deadline := time.Now().Add(3 * time.Second)
	for {
		if _, err = get(); err == nil {
			break
		}
		require.True(t, time.Now().Before(deadline), "calls still fail 3s after the connection died: %v", err)
	}
}
