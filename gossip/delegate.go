package gossip

// delegate implements memberlist.Delegate for a node. memberlist calls it
// from its packet loop (UDP) and from one goroutine per TCP stream: nothing
// here blocks.
type delegate struct{ n *Node }

// NodeMeta returns the encoded Meta; Start and UpdateMeta already refused
// anything over the limit (memberlist panics on oversized metadata).
func (d delegate) NodeMeta(limit int) []byte {
	b := *d.n.metaVal.Load()
	if len(b) > limit {
		return nil
	}
	return b
}

// NotifyMsg receives announcements (gossip), document requests and responses
// (TCP).
func (d delegate) NotifyMsg(msg []byte) {
	kind, body, err := messageKind(msg)
	if err != nil {
		d.n.log.Debug().Err(err).Msg("gossip: dropped a message")
		return
	}
	switch kind {
	case kindAnnounce:
		a, err := decodeAnnounce(body)
		if err != nil {
			d.n.log.Debug().Err(err).Msg("gossip: dropped an announcement")
			return
		}
		d.n.heard(a, true)
	case kindRequest:
		r, err := decodeRequest(body)
		if err != nil {
			d.n.log.Debug().Err(err).Msg("gossip: dropped a document request")
			return
		}
		d.n.serveLater(r)
	case kindResponse, kindDelta, kindNamedResponse, kindNamedDelta:
		r, err := decodeResponse(kind, body)
		if err != nil {
			d.n.log.Debug().Err(err).Msg("gossip: dropped a document response")
			return
		}
		d.n.answered(r)
	default:
		d.n.log.Debug().Int("kind", int(kind)).Msg("gossip: dropped a message of unknown kind")
	}
}

// GetBroadcasts hands memberlist the queued announcements to piggyback on
// gossip and probes.
func (d delegate) GetBroadcasts(overhead, limit int) [][]byte {
	return d.n.broadcasts.GetBroadcasts(overhead, limit)
}

// LocalState is this node's push/pull state: the newest revision it can
// serve, not the document.
func (d delegate) LocalState(bool) []byte {
	return pushState{Revision: d.n.servable(), Holder: d.n.cfg.Name}.encode()
}

// MergeRemoteState learns a peer's newest revision from push/pull (periodic,
// and on join in both directions).
func (d delegate) MergeRemoteState(buf []byte, _ bool) {
	if len(buf) == 0 {
		return
	}
	s, err := decodeState(buf)
	if err != nil {
		d.n.log.Debug().Err(err).Msg("gossip: dropped push/pull state")
		return
	}
	d.n.heard(announce{Revision: s.Revision, Holder: s.Holder}, true)
}
