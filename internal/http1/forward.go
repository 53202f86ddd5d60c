package http1

import (
	"bufio"
	"cmp"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"
)

// Forwarder sends requests to one plain-HTTP upstream over a pool of
// keep-alive connections it owns, one request at a time per connection, on
// the calling goroutine. It does what a gateway needs of a reverse proxy
// and no more, which makes it several times cheaper than net/http's
// Transport (no per-connection read and write goroutines, no channel
// hand-offs): hop-by-hop headers are dropped both ways, X-Forwarded-For gets
// the client appended, Expect is answered by Server, and the upstream's
// answer is streamed back. Upgrades (WebSocket) and https upstreams are for
// httputil.ReverseProxy instead.
type Forwarder struct {
	addr    string // host:port dialed
	host    string // Host header sent, unless Serve is given another
	owned   string // a header only Serve's caller sets (canonical); "" for none
	timeout time.Duration
	dialer  net.Dialer
	idle    upstreamPool
}

// upstreamConn is a kept-alive connection with its buffers.
type upstreamConn struct {
	c        net.Conn
	lim      headLimit // under br
	br       *bufio.Reader
	bw       *bufio.Writer
	w        awaitWriter // under bw
	used     time.Time   // when it was put back
	recent   bool        // fresh, or taken from the pool soon after its last answer
	deadline time.Time   // the connection's deadline; zero when none
	woken    bool        // watchClients ended a wait on it: its deadline has passed

	head   upstreamHead // what readLeanAnswer fills, reused
	body   leanBody
	resp   http.Response
	stream bodyStream // a request body's writer, reused
}

// extend moves the connection's read and write deadline to d from now
// when less than half of d is left: a timer update costs, so the upstream
// gets between half of d and all of it.
func (uc *upstreamConn) extend(d time.Duration) {
	if now := time.Now(); uc.deadline.Sub(now) < d/2 {
		uc.deadline = now.Add(d)
		_ = uc.c.SetDeadline(uc.deadline)
	}
}

// smallBody is the largest answer relayed under the upstream timeout's
// deadline; larger and streamed answers clear it, so a long download or an
// event stream is not cut.
const smallBody = 1 << 20

// maxIdleAge closes pooled connections idle this long rather than racing an
// upstream's keep-alive timeout (Go's default server closes after 3 min,
// nginx after 75 s).
const maxIdleAge = 30 * time.Second

// ForwarderConfig configures a Forwarder.
type ForwarderConfig struct {
	Addr string // host:port dialed
	Host string // Host header sent by default
	// Owned names a header the caller of Serve owns: the client's copies
	// are dropped and the values given to Serve sent instead (the gateway's
	// secret token). Canonical form; empty for none.
	Owned   string
	Timeout time.Duration // for the upstream to answer a request's head
	Idle    int           // connections kept alive
}

// NewForwarder returns a forwarder to one upstream.
func NewForwarder(cfg ForwarderConfig) *Forwarder {
	return &Forwarder{
		addr: cfg.Addr, host: cfg.Host, owned: cfg.Owned, timeout: cfg.Timeout,
		dialer: net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second},
		idle:   upstreamPool{max: cfg.Idle},
	}
}

func (f *Forwarder) get(ctx context.Context, connect time.Duration) (*upstreamConn, bool, error) {
	for {
		if uc := f.idle.take(); uc != nil {
			if idle := time.Since(uc.used); idle < maxIdleAge && !uc.spoilt() {
				uc.recent = idle < awaitIdle
				return uc, true, nil
			}
			uc.c.Close()
			continue
		}
		c, err := f.dial(ctx, connect)
		if err != nil {
			return nil, false, err
		}
		c = rawUpstream(c)
		uc := &upstreamConn{c: c, lim: headLimit{r: c, left: -1}, recent: true,
			head: upstreamHead{header: make(http.Header, 8)}}
		uc.br = bufio.NewReaderSize(&uc.lim, 4<<10)
		uc.w.c = c
		uc.bw = bufio.NewWriterSize(&uc.w, 4<<10)
		return uc, false, nil
	}
}

// dial connects to the upstream, within connect when it is set.
func (f *Forwarder) dial(ctx context.Context, connect time.Duration) (net.Conn, error) {
	if connect <= 0 {
		return f.dialer.DialContext(ctx, "tcp", f.addr)
	}
	d := f.dialer
	d.Timeout = connect
	return d.DialContext(ctx, "tcp", f.addr)
}

func (f *Forwarder) put(uc *upstreamConn) {
	uc.used = time.Now()
	f.idle.put(uc)
}

// Addr is the upstream's host:port.
func (f *Forwarder) Addr() string { return f.addr }

// CloseIdle closes the pooled connections.
func (f *Forwarder) CloseIdle() {
	for uc := f.idle.take(); uc != nil; uc = f.idle.take() {
		uc.c.Close()
	}
}

var copyBuffers = sync.Pool{New: func() any { b := make([]byte, 32<<10); return &b }}

// unusableAnswer is an upstream's answer the forwarder cannot relay; the
// request is not tried again, as nginx does not retry an invalid header by
// default (proxy_next_upstream).
type unusableAnswer string

func (e unusableAnswer) Error() string { return string(e) }

// errUnaskedSwitch is a 101 to a request that asked for no switch (the
// forwarder never sends Upgrade: upgrades go through httputil.ReverseProxy,
// which answers 502 too). What follows it is not HTTP, and relayed, a 101
// would have the client, or a proxy in front, take the connection for
// switched while the gateway goes on reading it as HTTP.
const errUnaskedSwitch = unusableAnswer("the upstream switched protocols (101) though the request asked for no switch: its answer is not relayed")

// Options are one request's departures from the forwarder's defaults: the
// timeouts and retries policies set (APIcast's upstream_connection and
// retry). The zero value keeps the defaults.
type Options struct {
	// Connect bounds dialing; Send each write of the request; Read the
	// wait for the answer's head and then each read of its body (nginx's
	// proxy_connect_timeout, proxy_send_timeout, proxy_read_timeout).
	Connect, Send, Read time.Duration
	// Retries is how many more attempts are made when the upstream cannot
	// be connected to, or fails or times out before answering a request
	// that can be replayed (no body, idempotent method), as nginx's
	// proxy_next_upstream "error timeout" does.
	Retries int
	// RetryStatuses are answers also retried (a replayable request only).
	RetryStatuses []int
	// Unbuffered sends the request's head at once and each piece of its
	// body as it is read from the client, as nginx's
	// proxy_request_buffering off does, where by default what fits the
	// write buffer waits for more (request_unbuffered).
	Unbuffered bool
}

// custom reports whether the request sets its own deadlines.
func (o *Options) custom() bool { return o.Connect > 0 || o.Send > 0 || o.Read > 0 }

// Serve forwards r and writes the upstream's answer to w. host, when not
// empty, replaces the Host header; owned are the values of the owned header.
func (f *Forwarder) Serve(w http.ResponseWriter, r *http.Request, host string, owned []string) error {
	return f.ServeWith(w, r, host, owned, Options{})
}

// ServeWith is Serve with per-request options. An error that IsTimeout
// reports is a timeout (nginx answers 504 for it, 502 for the others). A
// request whose method is not forwarded (ForwardsMethod) is answered 405
// without reaching the upstream.
func (f *Forwarder) ServeWith(w http.ResponseWriter, r *http.Request, host string, owned []string, o Options) error {
	if !ForwardsMethod(r.Method) {
		RefuseMethod(w, r)
		return nil
	}
	if host == "" {
		host = f.host
	}
	replayable := r.Body == nil || r.Body == http.NoBody || r.ContentLength == 0
	var (
		resp  *http.Response
		uc    *upstreamConn
		stale bool // the one free retry of a pooled connection was used
		tries int  // retries of o.Retries used
	)
	ctx := r.Context()
	for {
		if err := ctx.Err(); err != nil { // its client left (watchClients): not sent, as net/http's Transport
			return fmt.Errorf("the client went away: %w", err)
		}
		var reused bool
		var err error
		uc, reused, err = f.get(ctx, o.Connect)
		if err != nil {
			// Nothing was sent: any request may go again.
			if tries < o.Retries && ctx.Err() == nil {
				tries++
				continue
			}
			return err
		}
		lc := awaitsOn(r, uc)
		resp, err = f.roundTrip(uc, r, host, owned, &o)
		uc.woken = !lc.answered(uc)
		if err == nil {
			if tries < o.Retries && replayable && retriedStatus(o.RetryStatuses, resp.StatusCode) {
				uc.abandon(resp)
				tries++
				continue
			}
			break
		}
		uc.c.Close()
		var (
			be errClientBody
			ua unusableAnswer
		)
		if errors.As(err, &be) || errors.As(err, &ua) {
			return err
		}
		if ctx.Err() != nil {
			// Its client went away (watchClients), which may have ended
			// the wait: not the upstream's timeout.
			return fmt.Errorf("the client went away: %w (the upstream's answer: %v)", ctx.Err(), err)
		}
		if !replayable {
			return err
		}
		// A pooled connection the upstream closed meanwhile fails before any
		// answer: try once more on a fresh one. Not a request whose method
		// is not idempotent: the upstream may have acted on it before it
		// closed (a close while idle is noticed before sending: spoilt).
		// Not a timeout either: the upstream is slow, not gone, and would
		// be asked again and waited for twice as long (only Retries, as
		// nginx's proxy_next_upstream timeout, asks again then).
		if reused && !stale && Idempotent(r.Method) && !IsTimeout(err) {
			stale = true
			continue
		}
		if tries < o.Retries && Idempotent(r.Method) {
			tries++
			continue
		}
		return err
	}
	keep := f.respond(w, r, uc, resp, &o)
	if o.custom() {
		// Back to the defaults for the connection's next request.
		uc.deadline = time.Time{}
		_ = uc.c.SetDeadline(uc.deadline)
	}
	if keep && !uc.woken {
		f.put(uc)
	} else {
		uc.c.Close()
	}
	return nil
}

func retriedStatus(statuses []int, status int) bool {
	for _, s := range statuses {
		if s == status {
			return true
		}
	}
	return false
}

// Idempotent reports whether a request that was sent may go to another
// attempt: nginx retries one only when its method is not POST, LOCK or
// PATCH (proxy_next_upstream without non_idempotent).
func Idempotent(method string) bool {
	return method != http.MethodPost && method != http.MethodPatch && method != "LOCK"
}

// IsTimeout reports whether err is an upstream timeout (connecting, sending
// or waiting for the answer).
func IsTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// roundTrip writes r to uc and reads the answer's head, within the upstream
// timeout (a client that goes away meanwhile: watchClients wakes the wait,
// see awaitsOn).
//
// Moving a deadline costs a timer update, so it is moved only when less than
// half the timeout is left: the upstream gets between half the timeout and
// all of it to answer. Options' timeouts set their own deadlines instead.
//
// A body is read from the client as it is sent, which takes as long as the
// client takes: as nginx, which reads it before its upstream timers start,
// the upstream is not timed meanwhile. Each write to it is bounded on its
// own (bodyStream), and the wait for the answer counts from the body sent.
// A request without a body sets no deadline more.
func (f *Forwarder) roundTrip(uc *upstreamConn, r *http.Request, host string, owned []string, o *Options) (*http.Response, error) {
	custom := o.custom()
	var asked time.Time // when the wait for the answer started, under the default timeout
	switch {
	case custom:
		uc.deadline = time.Time{}
		now := time.Now()
		_ = uc.c.SetWriteDeadline(deadline(now, o.Send, f.timeout))
		_ = uc.c.SetReadDeadline(deadline(now, o.Read, f.timeout))
	case f.timeout > 0:
		// uc.extend, written out: it is not inlined, and this is every
		// request's path.
		if asked = time.Now(); uc.deadline.Sub(asked) < f.timeout/2 {
			uc.deadline = asked.Add(f.timeout)
			_ = uc.c.SetDeadline(uc.deadline)
		}
	}
	var stream *bodyStream
	if r.ContentLength > 0 || r.ContentLength < 0 && r.Body != nil && r.Body != http.NoBody {
		stream = &uc.stream
		*stream = bodyStream{uc: uc, send: cmp.Or(o.Send, f.timeout), eager: o.Unbuffered, lazy: !custom}
	}
	if err := f.writeRequest(uc.bw, r, host, owned, stream); err != nil {
		return nil, err
	}
	if err := uc.flush(); err != nil {
		return nil, err
	}
	switch {
	case custom && (o.Read > 0 || stream != nil):
		// The read timeout counts from the request sent, as nginx's does.
		_ = uc.c.SetReadDeadline(deadline(time.Now(), o.Read, f.timeout))
	case stream != nil && f.timeout > 0:
		asked = time.Now()
		uc.extend(f.timeout)
	}
	// A wake while it was sent (watchClients) was undone by the deadlines
	// set since: the cancel before it is seen here.
	if err := r.Context().Err(); err != nil {
		return nil, err
	}
	if !asked.IsZero() {
		if err := uc.awaitAnswer(r.Context(), asked.Add(f.timeout)); err != nil {
			return nil, fmt.Errorf("read the upstream's answer: %w", err)
		}
	}
	if r.Method != http.MethodHead {
		resp, err := uc.readLeanAnswer()
		if err != nil {
			return nil, fmt.Errorf("read the upstream's answer: %w", err)
		}
		if resp != nil {
			if !uc.deadline.IsZero() && resp.ContentLength > smallBody {
				uc.deadline = time.Time{}
				_ = uc.c.SetDeadline(uc.deadline)
			}
			return resp, nil
		}
	}
	uc.lim.left = maxUpstreamHead // http.ReadResponse has no bound of its own
	for {
		resp, err := uc.readResponse(r)
		if err != nil {
			if uc.lim.left == 0 {
				err = errUpstreamHeadTooLarge
			}
			return nil, fmt.Errorf("read the upstream's answer: %w", err)
		}
		if resp.StatusCode == http.StatusSwitchingProtocols {
			resp.Body.Close()
			return nil, errUnaskedSwitch
		}
		if resp.StatusCode >= 200 {
			uc.lim.left = -1
			if !uc.deadline.IsZero() && (resp.ContentLength < 0 || resp.ContentLength > smallBody) {
				uc.deadline = time.Time{}
				_ = uc.c.SetDeadline(uc.deadline)
			}
			return resp, nil
		}
		resp.Body.Close() // 1xx (103 Early Hints): not relayed
	}
}

// awaitAnswer waits for the answer's first byte until full, the timeout
// counted from the request. The connection's deadline may come sooner: one
// an earlier request on it set is kept while half the timeout is left
// (extend). When that one passes first, nothing of the answer has been
// read, and the wait goes on to full: the upstream is not cut short, nor
// asked twice. Not when ctx ended: watchClients woke the wait.
func (uc *upstreamConn) awaitAnswer(ctx context.Context, full time.Time) error {
	_, err := uc.br.Peek(1)
	if err != nil && uc.deadline.Before(full) && IsTimeout(err) && ctx.Err() == nil {
		uc.deadline = full
		_ = uc.c.SetDeadline(full)
		_, err = uc.br.Peek(1)
	}
	return err
}

// deadline is now plus d, or plus def when d is zero; zero when both are.
func deadline(now time.Time, d, def time.Duration) time.Time {
	if d <= 0 {
		d = def
	}
	if d <= 0 {
		return time.Time{}
	}
	return now.Add(d)
}

// IsUpgrade reports whether r asks to switch to WebSocket, the one
// upgrade the gateway relays: Upgrade websocket, Connection upgrade and a
// Sec-WebSocket-Key, as RFC 6455 4.1 has a client send, and as APIcast
// relays it (its websocket policy; without it, none). Over a connection
// switched to another protocol the app would serve whatever the client
// sends next without the gateway seeing it: h2c above all (h2c
// smuggling), and any protocol an app switches to when asked. Any other
// upgrade is sent as an ordinary request, without its Upgrade header
// (hop-by-hop), and the app answers it in HTTP/1.1.
func IsUpgrade(r *http.Request) bool {
	ups := r.Header["Upgrade"]
	if len(ups) == 0 || len(r.Header["Sec-Websocket-Key"]) == 0 {
		return false
	}
	websocket := false
	for _, v := range ups {
		for p := range strings.SplitSeq(v, ",") {
			name, _, _ := strings.Cut(strings.TrimSpace(p), "/")
			if !strings.EqualFold(name, "websocket") {
				return false // another protocol beside it (h2c): not only a WebSocket
			}
			websocket = true
		}
	}
	if !websocket {
		return false
	}
	for _, v := range r.Header["Connection"] {
		if strings.Contains(strings.ToLower(v), "upgrade") {
			return true
		}
	}
	return false
}
