package gossip

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// Every message of this package starts with wireVersion and a kind byte;
// fields are uvarints and length-prefixed strings, a response's document
// (gzip) or delta takes the rest. Fields added later go at the end, where
// older nodes ignore them: a node that sends no base in its request gets no
// delta, and an announcement's delta is lost on an older node, which fetches.
const wireVersion = 1

const (
	kindAnnounce byte = 'A' // broadcast: revision R is available at a holder
	kindRequest  byte = 'Q' // TCP: send me a document of at least revision R
	kindResponse byte = 'R' // TCP: the answer to a request
	kindState    byte = 'S' // push/pull: the newest revision a node serves
	kindDelta    byte = 'D' // TCP: the answer to a request, as a delta

	// The same two answers naming their responder, sent to a requester
	// that said it reads them (request.Named): older nodes drop kinds they
	// do not know, so they are never sent one.
	kindNamedResponse byte = 'r'
	kindNamedDelta    byte = 'd'
)

const maxWireString = 1024

// announce says that Holder can serve Revision and, when it fits, carries
// the delta to it from revision Base.
type announce struct {
	Revision uint64
	Holder   string
	Base     uint64
	Delta    []byte
}

// request asks a peer for a document at revision Want or newer; the answer
// goes to the member named From and carries ID. Addr is From's gossip
// address, which older nodes answer at; newer ones answer the member at
// the address membership knows it by. Base, when not 0, is the revision the
// requester has: a delta from it will do. Named says the requester reads
// responses that name their responder.
type request struct {
	ID    uint64
	Want  uint64
	From  string
	Addr  string
	Base  uint64
	Named bool
}

// response answers request ID with a gzip document at Revision, or Err; with
// Base set, Doc is the delta from Base to Revision instead. From, when set,
// names the responder (a named kind on the wire).
type response struct {
	ID       uint64
	Revision uint64
	Err      string
	From     string
	Base     uint64
	Doc      []byte // gzip, or a delta
}

// pushState is a node's push/pull state: the newest revision it serves.
type pushState struct {
	Revision uint64
	Holder   string
}

type encoder []byte

func newMessage(kind byte, size int) encoder {
	return append(make(encoder, 0, 2+size), wireVersion, kind)
}

func (e encoder) uvarint(v uint64) encoder { return binary.AppendUvarint(e, v) }

func (e encoder) str(s string) encoder {
	if len(s) > maxWireString {
		s = s[:maxWireString]
	}
	return append(binary.AppendUvarint(e, uint64(len(s))), s...)
}

func (a announce) encode() []byte {
	e := newMessage(kindAnnounce, 32+len(a.Holder)+len(a.Delta)).uvarint(a.Revision).str(a.Holder)
	if a.Delta == nil {
		return e
	}
	return append(e.uvarint(a.Base), a.Delta...)
}

func (r request) encode() []byte {
	e := newMessage(kindRequest, 40+len(r.From)+len(r.Addr)).uvarint(r.ID).uvarint(r.Want).str(r.From).str(r.Addr)
	if r.Base == 0 && !r.Named {
		return e
	}
	e = e.uvarint(r.Base)
	if !r.Named {
		return e
	}
	return e.uvarint(1)
}

func (r response) encode() []byte {
	kind := kindResponse
	switch {
	case r.Base != 0 && r.From != "":
		kind = kindNamedDelta
	case r.Base != 0:
		kind = kindDelta
	case r.From != "":
		kind = kindNamedResponse
	}
	e := newMessage(kind, 40+len(r.Err)+len(r.From)+len(r.Doc)).uvarint(r.ID).uvarint(r.Revision).str(r.Err)
	if r.From != "" {
		e = e.str(r.From)
	}
	if r.Base != 0 {
		e = e.uvarint(r.Base)
	}
	return append(e, r.Doc...)
}

func (s pushState) encode() []byte {
	return newMessage(kindState, 16+len(s.Holder)).uvarint(s.Revision).str(s.Holder)
}

var errShort = errors.New("truncated message")

type decoder struct {
	b   []byte
	err error
}

func (d *decoder) uvarint() uint64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Uvarint(d.b)
	if n <= 0 {
		d.err = errShort
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *decoder) str() string {
	n := d.uvarint()
	if d.err != nil {
		return ""
	}
	if n > maxWireString || n > uint64(len(d.b)) {
		d.err = errShort
		return ""
	}
	s := string(d.b[:n])
	d.b = d.b[n:]
	return s
}

// messageKind checks the header of msg and returns its kind and body.
func messageKind(msg []byte) (byte, []byte, error) {
	if len(msg) < 2 {
		return 0, nil, errShort
	}
	if msg[0] != wireVersion {
		return 0, nil, fmt.Errorf("unknown message version %d", msg[0])
	}
	return msg[1], msg[2:], nil
}

// decodeAnnounce copies the delta: memberlist may reuse the buffer.
func decodeAnnounce(body []byte) (announce, error) {
	d := decoder{b: body}
	a := announce{Revision: d.uvarint(), Holder: d.str()}
	if d.err == nil && len(d.b) > 0 {
		a.Base = d.uvarint()
		a.Delta = append([]byte(nil), d.b...)
		if d.err == nil && (a.Base == 0 || a.Base >= a.Revision || len(a.Delta) == 0) {
			d.err = fmt.Errorf("announcement of revision %d carries a delta from revision %d", a.Revision, a.Base)
		}
	}
	return a, d.err
}

func decodeRequest(body []byte) (request, error) {
	d := decoder{b: body}
	r := request{ID: d.uvarint(), Want: d.uvarint(), From: d.str(), Addr: d.str()}
	if d.err == nil && len(d.b) > 0 {
		r.Base = d.uvarint()
	}
	if d.err == nil && len(d.b) > 0 {
		r.Named = d.uvarint() == 1
	}
	return r, d.err
}

// decodeResponse copies the document: memberlist may reuse the buffer. A
// named response has its responder after Err; a delta (kindDelta,
// kindNamedDelta) has its base before the document.
func decodeResponse(kind byte, body []byte) (response, error) {
	d := decoder{b: body}
	r := response{ID: d.uvarint(), Revision: d.uvarint(), Err: d.str()}
	if kind == kindNamedResponse || kind == kindNamedDelta {
		r.From = d.str()
		if d.err == nil && r.From == "" {
			d.err = errors.New("named response names no responder")
		}
	}
	if kind == kindDelta || kind == kindNamedDelta {
		r.Base = d.uvarint()
		if d.err == nil && r.Base == 0 {
			d.err = errors.New("delta response from revision 0")
		}
	}
	if d.err == nil {
		r.Doc = append([]byte(nil), d.b...)
	}
	return r, d.err
}

func decodeState(msg []byte) (pushState, error) {
	kind, body, err := messageKind(msg)
	if err != nil {
		return pushState{}, err
	}
	if kind != kindState {
		return pushState{}, fmt.Errorf("push/pull state of unknown kind %q", kind)
	}
	d := decoder{b: body}
	s := pushState{Revision: d.uvarint(), Holder: d.str()}
	return s, d.err
}
