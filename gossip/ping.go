package gossip

import (
	"net"
	"strconv"
)

// Answers tells whether m answers a direct ping at its gossip address, in
// up to tries attempts of memberlist's probe timeout each. Membership's
// word that a node is dead is any keyring holder's to forge (one dead
// message), so a caller about to act on a death asks the node itself: a
// live node answers a ping that names it, whoever said it died.
func (n *Node) Answers(m Member, tries int) bool {
	host, port, err := net.SplitHostPort(m.Addr)
	if err != nil {
		return false
	}
	p, err := strconv.ParseUint(port, 10, 16)
	ip := net.ParseIP(host)
	if err != nil || ip == nil {
		return false
	}
	addr := &net.UDPAddr{IP: ip, Port: int(p)}
	for range tries {
		select {
		case <-n.stop:
			return false
		default:
		}
		if _, err := n.ml().Ping(m.Name, addr); err == nil {
			return true
		}
	}
	return false
}
