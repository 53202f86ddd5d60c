package gateway

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/portolan/portolan/composition"
)

// The gateway's contract with the app on the wire, held against an app
// written on a raw TCP listener: it records the exact bytes of every
// request it receives and answers with bytes net/http would never write
// (answers that do not end where they say, heads of any size), which is how
// a buggy or hostile app, or one serving what an attacker stored, answers.

// wtRawApp is such an app. answer writes the answer to one request on c;
// it may write more later, or close.
type wtRawApp struct {
	url    string
	mu     sync.Mutex
	reqs   []string // each request's bytes, head and body, as received
	answer func(r *http.Request, c net.Conn)
}

// wtRecorder records what is read from a connection.
type wtRecorder struct {
	c   net.Conn
	buf []byte
}

func (r *wtRecorder) Read(p []byte) (int, error) {
	n, err := r.c.Read(p)
	r.buf = append(r.buf, p[:n]...)
	return n, err
}

func newWtRawApp(t *testing.T, answer func(r *http.Request, c net.Conn)) *wtRawApp {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	a := &wtRawApp{url: "http://" + ln.Addr().String(), answer: answer}
	var wg sync.WaitGroup
	t.Cleanup(func() { ln.Close(); wg.Wait() })
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Add(1)
			go func() { defer wg.Done(); a.serve(c) }()
		}
	}()
	return a
}

func (a *wtRawApp) serve(c net.Conn) {
	defer c.Close()
	rec := &wtRecorder{c: c}
	br := bufio.NewReader(rec)
	used := 0
	for {
		_ = c.SetDeadline(time.Now().Add(10 * time.Second))
		r, err := http.ReadRequest(br)
		if err != nil {
			return
		}
		_, _ = io.Copy(io.Discard, r.Body)
		end := len(rec.buf) - br.Buffered()
		a.mu.Lock()
		a.reqs = append(a.reqs, string(rec.buf[used:end]))
		a.mu.Unlock()
		used = end
		a.answer(r, c)
	}
}

// requests returns the bytes of each request received so far.
func (a *wtRawApp) requests() []string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]string(nil), a.reqs...)
}

// wtPathAnswer answers with the request's path as the body.
func wtPathAnswer(r *http.Request, c net.Conn) {
	_, _ = io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: "+strconv.Itoa(len(r.URL.Path))+"\r\n\r\n"+r.URL.Path)
}

// startWtGatewayTo starts the gateway in front of upstream, as
// startWtGateway does.
func startWtGatewayTo(t *testing.T, upstream string) string {
	t.Helper()
	f := newGatewayFixture(t, backendUserKey)
	for _, method := range []string{"POST", "HEAD"} {
		require.NoError(t, f.tx.Create(&composition.MappingRule{OwnerType: composition.OwnerService, OwnerID: f.svc.ID,
			MetricID: f.hits.ID, HTTPMethod: method, Pattern: "/", Delta: 1}))
	}
	_, gw, _ := startTestGateway(t, f, upstream, f.placement(f.premium), Config{})
	return strings.TrimPrefix(gw, "http://")
}
