package registry

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"sync"

	"github.com/portolan/portolan/internal/httpjson"
)

// The heartbeat's JSON, on the path every instance takes every few seconds.
// The body is read into a pooled buffer and, when it has the plain shape
// agents send (an object of "status", "output", "revision" and
// "gossip_keys_version", strings of printable ASCII without escapes),
// parsed here without reflection; any
// other body, valid or not, goes through encoding/json (decodeBody), so
// what is accepted and every error message stay those of encoding/json.
// The usual answer, {"revision":N}, is written into the same buffer
// (BenchmarkHeartbeatHandler: 39 → 29 allocations per heartbeat).

// heartbeatBuffers holds the buffers of heartbeat bodies and answers; one
// grown past maxPooledBuffer by a large body is let go.
var heartbeatBuffers = sync.Pool{New: func() any { b := make([]byte, 0, 512); return &b }}

const maxPooledBuffer = 4 << 10

func putHeartbeatBuffer(b *[]byte) {
	if cap(*b) <= maxPooledBuffer {
		heartbeatBuffers.Put(b)
	}
}

// readHeartbeat reads the heartbeat of req into hb; on failure it has
// answered 400 or 413 and returns false. buf is a pooled buffer it may grow.
func readHeartbeat(w http.ResponseWriter, req *http.Request, buf *[]byte, hb *Heartbeat) bool {
	b, err := readAtMost((*buf)[:0], req.Body, MaxBodyBytes)
	*buf = b
	switch {
	case errors.Is(err, errTooLarge):
		httpjson.Error(w, http.StatusRequestEntityTooLarge, errTooLarge.Error())
		return false
	case err != nil:
		httpjson.Error(w, http.StatusBadRequest, "reading the heartbeat: "+err.Error())
		return false
	}
	if parseHeartbeat(b, hb) {
		return true
	}
	req.Body = io.NopCloser(bytes.NewReader(b))
	// Decoded into a variable of its own, so that only this path pays
	// for a heartbeat on the heap.
	var decoded Heartbeat
	if !decodeBody(w, req, "heartbeat", &decoded) {
		return false
	}
	*hb = decoded
	return true
}

// errTooLarge is readAtMost's answer to a body over its limit.
var errTooLarge = fmt.Errorf("request body exceeds %d bytes", MaxBodyBytes)

// readAtMost appends r to b, up to limit bytes; errTooLarge beyond.
func readAtMost(b []byte, r io.Reader, limit int) ([]byte, error) {
	for {
		if len(b) == cap(b) {
			b = append(b, 0)[:len(b)]
		}
		n, err := r.Read(b[len(b):min(cap(b), limit+1)])
		b = b[:len(b)+n]
		if len(b) > limit {
			return b, errTooLarge
		}
		if err == io.EOF {
			return b, nil
		}
		if err != nil {
			return b, err
		}
	}
}

// parseHeartbeat parses b when it has the plain shape (see above) and
// reports whether it did; hb is then what encoding/json would decode.
func parseHeartbeat(b []byte, hb *Heartbeat) bool {
	p := jsonScan{b: b}
	if !p.byte('{') {
		return false
	}
	*hb = Heartbeat{}
	if p.byte('}') {
		return p.end()
	}
	for {
		key, ok := p.str()
		if !ok || !p.byte(':') {
			return false
		}
		switch string(key) {
		case "status":
			v, ok := p.str()
			if !ok {
				return false
			}
			hb.Status = statusOf(v)
		case "output":
			v, ok := p.str()
			if !ok {
				return false
			}
			hb.Output = string(v)
		case "revision":
			n, ok := p.uint()
			if !ok {
				return false
			}
			hb.Revision = n
		case "gossip_keys_version":
			n, ok := p.uint()
			if !ok {
				return false
			}
			hb.GossipKeysVersion = n
		default:
			return false
		}
		if p.byte('}') {
			return p.end()
		}
		if !p.byte(',') {
			return false
		}
	}
}

// statusOf returns the status constant spelled by b without allocating, or
// a copy of b.
func statusOf(b []byte) string {
	switch string(b) {
	case StatusPassing:
		return StatusPassing
	case StatusWarning:
		return StatusWarning
	case StatusCritical:
		return StatusCritical
	}
	return string(b)
}

// jsonScan reads the plain JSON of parseHeartbeat.
type jsonScan struct {
	b []byte
	i int
}

func (p *jsonScan) space() {
	for p.i < len(p.b) && (p.b[p.i] == ' ' || p.b[p.i] == '\t' || p.b[p.i] == '\n' || p.b[p.i] == '\r') {
		p.i++
	}
}

// byte consumes c after blanks.
func (p *jsonScan) byte(c byte) bool {
	p.space()
	if p.i < len(p.b) && p.b[p.i] == c {
		p.i++
		return true
	}
	return false
}

// end tells whether nothing but blanks is left.
func (p *jsonScan) end() bool {
	p.space()
	return p.i == len(p.b)
}

// str reads a string of printable ASCII without escapes.
func (p *jsonScan) str() ([]byte, bool) {
	if !p.byte('"') {
		return nil, false
	}
	start := p.i
	for ; p.i < len(p.b); p.i++ {
		switch c := p.b[p.i]; {
		case c == '"':
			p.i++
			return p.b[start : p.i-1], true
		case c == '\\' || c < 0x20 || c >= 0x80:
			return nil, false
		}
	}
	return nil, false
}

// uint reads a non-negative integer without a leading zero that fits 64 bits.
func (p *jsonScan) uint() (uint64, bool) {
	p.space()
	start := p.i
	for p.i < len(p.b) && p.b[p.i] >= '0' && p.b[p.i] <= '9' {
		p.i++
	}
	digits := p.b[start:p.i]
	if len(digits) == 0 || (len(digits) > 1 && digits[0] == '0') {
		return 0, false
	}
	if p.i < len(p.b) && (p.b[p.i] == '.' || p.b[p.i] == 'e' || p.b[p.i] == 'E') {
		return 0, false
	}
	n, err := strconv.ParseUint(string(digits), 10, 64)
	return n, err == nil
}

// writeHeartbeatReply answers reply, written into buf when it is the usual
// {"revision":N}, through httpjson otherwise.
func writeHeartbeatReply(w http.ResponseWriter, buf *[]byte, reply HeartbeatReply) {
	if reply.Placement != nil || len(reply.GossipKeys) > 0 {
		httpjson.Write(w, http.StatusOK, reply)
		return
	}
	b := append((*buf)[:0], `{"revision":`...)
	b = strconv.AppendUint(b, reply.Revision, 10)
	b = append(b, "}\n"...)
	*buf = b
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(b)
}
