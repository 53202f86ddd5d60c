//go:build linux

package http1

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// countingLooper counts the reads inside its ReadLoop that found nothing,
// and the times its step gave up to wait for readiness.
type countingLooper struct {
	*rawConn
	empty atomic.Int32
	waits atomic.Int32
}

func (c *countingLooper) ReadLoop(step func(read func([]byte) (int, error)) bool) error {
	return c.rawConn.ReadLoop(func(read func([]byte) (int, error)) bool {
		done := step(func(p []byte) (int, error) {
			n, err := read(p)
			if err == errWouldBlock {
				c.empty.Add(1)
			}
			return n, err
		})
		if !done {
			c.waits.Add(1)
		}
		return done
	})
}

// waiting waits until the loop has given up to wait for readiness n times
// in all: what the client sends then comes while it waits.
func (c *countingLooper) waiting(t *testing.T, n int32) {
	t.Helper()
	require.Eventually(t, func() bool { return c.waits.Load() >= n }, 5*time.Second, time.Millisecond,
		"the loop's wait number %d", n)
}

// serveOne serves one loopback connection with a lean server and returns
// the client's end and the server's.
func serveOne(t *testing.T, h http.Handler) (*Server, *wireConn, *countingLooper) {
	t.Helper()
	r, peer := tcpPair(t)
	s := NewServer(h, zerolog.Nop())
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	go func() { _ = s.Serve(ln) }() // for net/http's hand-offs; this connection comes from the pair
	conn := &countingLooper{rawConn: r}
	lc := s.newConn(conn)
	require.NotNil(t, lc)
	go s.serveConn(lc)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = s.Shutdown(ctx)
	})
	require.NoError(t, peer.SetDeadline(time.Now().Add(5*time.Second)))
	return s, &wireConn{t: t, c: peer, br: bufio.NewReader(peer)}, conn
}

var hello = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == "/slow" {
		time.Sleep(100 * time.Millisecond)
	}
	if r.Body != nil {
		b, _ := io.ReadAll(r.Body)
		_, _ = w.Write(b)
	}
	_, _ = io.WriteString(w, "hello "+r.URL.Path)
})

// Between a client's requests the connection waits for the next one
// without a read that finds nothing: every read it makes has something,
// but the first, made before anything came, and the one after the first
// answer (which would find a client's end sent with its request:
// TestHalfClosedClientIsClosedAfterItsAnswer).
//
// Each piece is sent once the loop waits: one sent while the server still
// runs may be read before the netpoller takes in its readiness, and the
// wake that follows then finds nothing (harmless, and only a matter of
// timing: a loaded machine's netpoller runs late).
func TestLoopWaitsWithoutAnEmptyRead(t *testing.T) {
	get := "GET /a HTTP/1.1\r\nHost: x\r\n\r\n"
	_, c, conn := serveOne(t, hello)
	conn.waiting(t, 1)
	require.EqualValues(t, 1, conn.empty.Load(), "the first read, before anything came")
	for i := int32(2); i <= 6; i++ {
		c.send(get)
		_, body := c.answer("GET")
		require.Equal(t, "hello /a", body)
		conn.waiting(t, i)
	}
	// A head in pieces: each piece is read once it has come.
	c.send("GET /b HTTP/1.1\r\n")
	conn.waiting(t, 7)
	c.send("Host: x\r\n\r\n")
	_, body := c.answer("GET")
	require.Equal(t, "hello /b", body)
	conn.waiting(t, 8)
	assert.EqualValues(t, 2, conn.empty.Load(), "reads that found nothing: before the first request, after its answer")
	assert.EqualValues(t, 8, conn.waits.Load(), "waits: one before each piece and one at the end")
}

// A request that comes while the one before is answered (pipelined after
// the server read everything there was) is not lost: the wait after the
// answer sees it at once.
func TestLoopAnswersARequestThatCameDuringTheLastAnswer(t *testing.T) {
	_, c, _ := serveOne(t, hello)
	start := time.Now()
	c.send("GET /slow HTTP/1.1\r\nHost: x\r\n\r\n")
	time.Sleep(30 * time.Millisecond) // the server is in its handler
	c.send("GET /next HTTP/1.1\r\nHost: x\r\n\r\n")
	_, body := c.answer("GET")
	assert.Equal(t, "hello /slow", body)
	_, body = c.answer("GET")
	assert.Equal(t, "hello /next", body)
	assert.Less(t, time.Since(start), 2*time.Second)

	// Two in one write, then one more.
	c.send("GET /1 HTTP/1.1\r\nHost: x\r\n\r\nGET /2 HTTP/1.1\r\nHost: x\r\n\r\n")
	for _, want := range []string{"hello /1", "hello /2"} {
		_, body = c.answer("GET")
		assert.Equal(t, want, body)
	}
}

// Requests with a body are served outside the loop (reading a body may
// wait), those for net/http are handed off, and the loop takes the
// connection back after a body.
func TestLoopLeavesAndTakesBackTheConnection(t *testing.T) {
	_, c, _ := serveOne(t, hello)
	c.send("GET /a HTTP/1.1\r\nHost: x\r\n\r\n")
	_, body := c.answer("GET")
	assert.Equal(t, "hello /a", body)
	c.send("POST /p HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nab")
	time.Sleep(20 * time.Millisecond)
	c.send("cde")
	_, body = c.answer("POST")
	assert.Equal(t, "abcdehello /p", body)
	c.send("GET /b HTTP/1.1\r\nHost: x\r\n\r\n")
	_, body = c.answer("GET")
	assert.Equal(t, "hello /b", body)
	c.send("POST /c HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nxyz\r\n0\r\n\r\n")
	_, body = c.answer("POST")
	assert.Equal(t, "xyzhello /c", body, "a chunked body goes to net/http")
}

// A request still in its handler when Shutdown gives up is cut at once:
// Shutdown does not wait for it (Close would wait for the loop), and the
// client sees the end.
func TestShutdownCutsARequestInTheLoop(t *testing.T) {
	release := make(chan struct{})
	started := make(chan struct{})
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		close(started)
		<-release
		_, _ = io.WriteString(w, "late")
	})
	s, c, _ := serveOne(t, h)
	defer close(release)
	c.send("GET / HTTP/1.1\r\nHost: x\r\n\r\n")
	<-started
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	start := time.Now()
	assert.ErrorIs(t, s.Shutdown(ctx), context.DeadlineExceeded)
	assert.Less(t, time.Since(start), 2*time.Second, "Shutdown returned without the request")
	assert.True(t, c.closed(), "the client sees the end")
}

// An idle connection in the loop's wait ends with Shutdown at once.
func TestShutdownEndsTheLoopsWait(t *testing.T) {
	s, c, _ := serveOne(t, hello)
	c.send("GET /a HTTP/1.1\r\nHost: x\r\n\r\n")
	c.answer("GET")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	start := time.Now()
	require.NoError(t, s.Shutdown(ctx))
	assert.Less(t, time.Since(start), 2*time.Second)
	assert.True(t, c.closed())
}

// Many connections, each sending requests in bursts split at random
// places, some pipelined behind a slow one: every request is answered, in
// order, and none waits on a readiness the loop forgot (the connection's
// deadline would end the test).
func TestLoopUnderPipelinedLoad(t *testing.T) {
	var served atomic.Int64
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		served.Add(1)
		if r.URL.Query().Get("slow") != "" {
			time.Sleep(time.Millisecond)
		}
		_, _ = io.WriteString(w, r.URL.Path)
	})
	_, addr := startServer(t, h)
	const conns, rounds, burst = 16, 50, 8
	errs := make(chan error, conns)
	for c := 0; c < conns; c++ {
		go func(seed int64) {
			errs <- func() error {
				rng := rand.New(rand.NewPCG(uint64(seed), 1))
				nc, err := net.Dial("tcp", addr)
				if err != nil {
					return err
				}
				defer nc.Close()
				_ = nc.SetDeadline(time.Now().Add(20 * time.Second))
				br := bufio.NewReader(nc)
				for r := 0; r < rounds; r++ {
					var reqs []byte
					for i := 0; i < burst; i++ {
						q := ""
						if rng.IntN(4) == 0 {
							q = "?slow=1"
						}
						reqs = fmt.Appendf(reqs, "GET /%d/%d%s HTTP/1.1\r\nHost: x\r\n\r\n", r, i, q)
					}
					for len(reqs) > 0 { // in pieces, with pauses between some
						n := 1 + rng.IntN(len(reqs))
						if _, err := nc.Write(reqs[:n]); err != nil {
							return err
						}
						reqs = reqs[n:]
						if rng.IntN(3) == 0 {
							time.Sleep(time.Duration(rng.IntN(500)) * time.Microsecond)
						}
					}
					for i := 0; i < burst; i++ {
						resp, err := http.ReadResponse(br, nil)
						if err != nil {
							return fmt.Errorf("round %d, answer %d: %w", r, i, err)
						}
						b, err := io.ReadAll(resp.Body)
						if err != nil {
							return err
						}
						if want := fmt.Sprintf("/%d/%d", r, i); string(b) != want {
							return fmt.Errorf("answer %q, want %q", b, want)
						}
					}
				}
				return nil
			}()
		}(int64(c))
	}
	for c := 0; c < conns; c++ {
		require.NoError(t, <-errs)
	}
	assert.EqualValues(t, conns*rounds*burst, served.Load())
}
