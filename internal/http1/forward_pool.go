package http1

import "sync"

// readableConn is a connection that tells, without waiting, whether it has
// anything to read (rawConn).
type readableConn interface{ Readable() bool }

// spoilt reports whether a pooled connection received anything while it
// was idle: bytes no request asked for (an answer longer than it said, a
// body on an answer to HEAD, 204 or 304) or its end. The bytes would be
// read as the next request's answer: one client's answer, perhaps of an
// attacker's making, handed to another. The end would fail a request that
// cannot be replayed. Go's Transport notices both with the read it keeps
// waiting on an idle connection ("Unsolicited response received on idle
// HTTP channel"), nginx's keepalive module with its close handler; the
// forwarder keeps no read waiting, so it looks once, when it takes the
// connection, at the cost of a system call. A connection that cannot look
// (not TCP on Linux) is only checked for what its buffer holds.
func (uc *upstreamConn) spoilt() bool {
	if uc.br.Buffered() > 0 {
		return true
	}
	rc, ok := uc.c.(readableConn)
	return ok && rc.Readable()
}

// upstreamPool is a forwarder's kept-alive connections, the most recently
// used taken first, as nginx's keepalive cache and Go's Transport take
// them: under a steady load the same connections serve, warm, and when the
// load falls the others age out (maxIdleAge) instead of each being kept
// alive by its turn, as a queue would.
type upstreamPool struct {
	mu    sync.Mutex
	conns []*upstreamConn // the most recently put last
	max   int
}

// take returns the most recently put connection, or nil.
func (p *upstreamPool) take() *upstreamConn {
	p.mu.Lock()
	defer p.mu.Unlock()
	n := len(p.conns)
	if n == 0 {
		return nil
	}
	uc := p.conns[n-1]
	p.conns[n-1] = nil
	p.conns = p.conns[:n-1]
	return uc
}

// put keeps uc, or closes it when the pool is full; it closes the least
// recently used connection once it is idle maxIdleAge.
func (p *upstreamPool) put(uc *upstreamConn) {
	var drop *upstreamConn
	p.mu.Lock()
	if len(p.conns) >= p.max {
		drop = uc
	} else {
		p.conns = append(p.conns, uc)
		if oldest := p.conns[0]; uc.used.Sub(oldest.used) >= maxIdleAge {
			drop = oldest
			n := copy(p.conns, p.conns[1:])
			p.conns[n] = nil
			p.conns = p.conns[:n]
		}
	}
	p.mu.Unlock()
	if drop != nil {
		drop.c.Close()
	}
}
