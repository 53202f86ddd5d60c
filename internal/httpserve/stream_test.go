package httpserve

import (
	"bytes"
	"crypto/tls"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
)

// serveH2 serves h over TLS with HTTP/2, as the coordinator does: a server
// made by New on a listener wrapped by Listener.
func serveH2(t *testing.T, h http.Handler, l Limits) *httptest.Server {
	t.Helper()
	ts := httptest.NewUnstartedServer(nil)
	ts.Config = New(h, l)
	ts.Listener = Listener(ts.Listener, l)
	ts.EnableHTTP2 = true
	ts.StartTLS()
	t.Cleanup(ts.Close)
	return ts
}

// getWithNoWindow asks for / over HTTP/2 as a client that reads its
// connection, answers pings and settings, and opens no flow-control window
// for any stream: it takes nothing of the answer. It returns when the
// server resets the stream, on the channel.
func getWithNoWindow(t *testing.T, addr string) <-chan struct{} {
	t.Helper()
	conn, err := tls.Dial("tcp", addr, &tls.Config{InsecureSkipVerify: true, NextProtos: []string{"h2"}})
	require.NoError(t, err)
	t.Cleanup(func() { _ = conn.Close() })
	require.Equal(t, "h2", conn.ConnectionState().NegotiatedProtocol)
	_, err = io.WriteString(conn, http2.ClientPreface)
	require.NoError(t, err)
	fr := http2.NewFramer(conn, conn)
	require.NoError(t, fr.WriteSettings(http2.Setting{ID: http2.SettingInitialWindowSize, Val: 0}))
	var hb bytes.Buffer
	enc := hpack.NewEncoder(&hb)
	for _, f := range [][2]string{{":method", "GET"}, {":scheme", "https"}, {":authority", "x"}, {":path", "/"}} {
		require.NoError(t, enc.WriteField(hpack.HeaderField{Name: f[0], Value: f[1]}))
	}
	require.NoError(t, fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 1, BlockFragment: hb.Bytes(), EndStream: true, EndHeaders: true}))
	reset := make(chan struct{})
	go func() { // ends when the connection is closed (Cleanup)
		wasReset := false // the server may reset the stream more than once
		for {
			f, err := fr.ReadFrame()
			if err != nil {
				return
			}
			switch f := f.(type) {
			case *http2.SettingsFrame:
				if !f.IsAck() {
					_ = fr.WriteSettingsAck()
				}
			case *http2.PingFrame:
				if !f.IsAck() {
					_ = fr.WritePing(true, f.Data)
				}
			case *http2.RSTStreamFrame:
				if f.StreamID == 1 && !wasReset {
					wasReset = true
					close(reset)
				}
			}
		}
	}()
	return reset
}

// An HTTP/2 client that keeps its connection alive but opens no window for
// an answer is cut after the send timeout, its stream reset and the
// handler's write failed, as an HTTP/1 client that reads nothing is
// (Limits.SendTimeout: "a client that takes nothing of it for this long is
// disconnected"), rather than holding the handler forever: no connection
// write waits, so the listener's send deadline alone never fires.
func TestAnHTTP2ClientThatOpensNoWindowIsCut(t *testing.T) {
	wrote := make(chan error, 1)
	ts := serveH2(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, err := w.Write(make([]byte, 1<<20))
		wrote <- err
	}), Limits{SendTimeout: 300 * time.Millisecond})
	reset := getWithNoWindow(t, ts.Listener.Addr().String())
	select {
	case err := <-wrote:
		assert.Error(t, err, "the write was cut")
	case <-time.After(5 * time.Second):
		t.Fatal("an HTTP/2 client that opens no window holds the handler's write")
	}
	select {
	case <-reset:
	case <-time.After(5 * time.Second):
		t.Fatal("the stream was not reset")
	}
}

// An HTTP/2 answer small enough to be buffered, left for net/http to send
// once the handler returns, is bounded too.
func TestAnHTTP2AnswerLeftBufferedIsCut(t *testing.T) {
	ts := serveH2(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, "a short answer")
	}), Limits{SendTimeout: 300 * time.Millisecond})
	select {
	case <-getWithNoWindow(t, ts.Listener.Addr().String()):
	case <-time.After(5 * time.Second):
		t.Fatal("the stream of an answer its client takes nothing of was not reset")
	}
}

// A handler's own write deadline (an event stream's) comes first when it
// is sooner than the send timeout.
func TestAnHTTP2HandlersWriteDeadlineStands(t *testing.T) {
	wrote := make(chan error, 1)
	ts := serveH2(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_ = http.NewResponseController(w).SetWriteDeadline(time.Now().Add(200 * time.Millisecond))
		_, err := w.Write(make([]byte, 1<<20))
		wrote <- err
	}), Limits{SendTimeout: time.Hour})
	getWithNoWindow(t, ts.Listener.Addr().String())
	select {
	case err := <-wrote:
		assert.Error(t, err, "the write was cut at the handler's deadline")
	case <-time.After(5 * time.Second):
		t.Fatal("the handler's write deadline was not applied")
	}
}

// An HTTP/2 answer that waits between its writes longer than the send
// timeout (a long poll, an event stream) is not cut: the timeout bounds
// each write, not the time between them.
func TestAnHTTP2AnswerThatWaitsIsNotCut(t *testing.T) {
	const timeout = 200 * time.Millisecond
	ts := serveH2(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, "first ")
		http.NewResponseController(w).Flush()
		time.Sleep(3 * timeout)
		_, _ = w.Write(bytes.Repeat([]byte("x"), 3*sendChunk))
		w.(http.Flusher).Flush()
		time.Sleep(3 * timeout)
		_, _ = io.WriteString(w, " last")
	}), Limits{SendTimeout: timeout})
	resp, err := ts.Client().Get(ts.URL)
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, 2, resp.ProtoMajor, "HTTP/2")
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err, "the answer was not cut")
	assert.Equal(t, "first "+string(bytes.Repeat([]byte("x"), 3*sendChunk))+" last", string(b))
}
