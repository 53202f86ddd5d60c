package gossip

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// Every message of this package starts with wireVersion and a kind byte;
// fields are uvarints and length-prefixed strings, a response's document
// (gzip) takes the rest.
const wireVersion = 1

const (
	kindAnnounce byte = 'A' // broadcast: revision R is available at a holder
	kindRequest  byte = 'Q' // TCP: send me a document of at least revision R
	kindResponse byte = 'R' // TCP: the answer to a request
	kindState    byte = 'S' // push/pull: the newest revision a node serves
)

const maxWireString = 1024

// announce says that Holder can serve Revision.
type announce struct {
	Revision uint64
	Holder   string
}

// request asks a peer for a document at revision Want or newer; the answer
// goes to From at Addr and carries ID.
type request struct {
	ID   uint64
	Want uint64
	From string
	Addr string
}

// response answers request ID with a gzip document at Revision, or Err.
type response struct {
	ID       uint64
	Revision uint64
	Err      string
	Doc      []byte // gzip
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
	return newMessage(kindAnnounce, 16+len(a.Holder)).uvarint(a.Revision).str(a.Holder)
}

func (r request) encode() []byte {
	return newMessage(kindRequest, 32+len(r.From)+len(r.Addr)).uvarint(r.ID).uvarint(r.Want).str(r.From).str(r.Addr)
}

func (r response) encode() []byte {
	e := newMessage(kindResponse, 32+len(r.Err)+len(r.Doc)).uvarint(r.ID).uvarint(r.Revision).str(r.Err)
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

func decodeAnnounce(body []byte) (announce, error) {
	d := decoder{b: body}
	a := announce{Revision: d.uvarint(), Holder: d.str()}
	return a, d.err
}

func decodeRequest(body []byte) (request, error) {
	d := decoder{b: body}
	r := request{ID: d.uvarint(), Want: d.uvarint(), From: d.str(), Addr: d.str()}
	return r, d.err
}

// decodeResponse copies the document: memberlist may reuse the buffer.
func decodeResponse(body []byte) (response, error) {
	d := decoder{b: body}
	r := response{ID: d.uvarint(), Revision: d.uvarint(), Err: d.str()}
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
