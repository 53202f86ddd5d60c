package gossip

import (
	"context"
	"math"
	"net"
	"strings"
	"time"
)

// seedLookupTimeout bounds the name lookup of the Join list's hosts.
const seedLookupTimeout = 2 * time.Second

// seedMaxAge is how long the Join list's addresses, once resolved, are
// matched against the members before the names are resolved again: as a
// DNS cache keeps an answer (Kubernetes' CoreDNS answers with a TTL of
// 30 s). A name whose old address another member took (a pod's IP given to
// the next pod) would otherwise match that member for good.
const seedMaxAge = 30 * time.Second

// rejoinLoop retries the Join list whenever the node is alone (before its
// first successful join, after every other member left or died) and
// whenever none of the Join list's nodes is a live member: a home that
// restarted (under a new node name) or a side of a partition that healed.
// memberlist does not reach back by itself: it pushes and pulls only with
// alive nodes and gossips to dead ones only for GossipToTheDeadTime, so
// two agents that kept each other would never find home's node again
// (Serf's reconnect is what heals this for Consul).
//
// While not alone the tries back off up to rejoinMax scaled by the
// cluster's size as memberlist scales its push/pull interval, so that a
// cluster whose seed stays away, or is reached at another address than it
// advertises (NAT), costs its seed no more than push/pull does.
func (n *Node) rejoinLoop() {
	wait := rejoinMin
	var seeds seedCache // the Join list as last resolved
	for {
		t := time.NewTimer(wait)
		select {
		case <-n.stop:
			t.Stop()
			return
		case <-t.C:
		}
		alone := n.alive.Load() <= 1
		if !alone && n.seedLive(&seeds) {
			wait = rejoinMin
			continue
		}
		limit := rejoinMax
		if !alone {
			limit = scaleByMembers(rejoinMax, int(n.alive.Load()))
		}
		k, err := n.ml().Join(n.cfg.Join)
		switch {
		case err != nil:
			wait = min(2*wait, limit)
			n.log.Debug().Err(err).Bool("alone", alone).Dur("retry_in", wait).Msg("gossip: rejoin failed")
		case alone || n.seedLive(&seeds):
			wait = rejoinMin
			n.log.Info().Int("contacted", k).Bool("was_alone", alone).Msg("gossip: rejoined")
		default:
			// Joined, yet no member is at a Join address: the seed
			// advertises another one. Keep trying, ever more rarely.
			wait = min(2*wait, limit)
			n.log.Debug().Int("contacted", k).Dur("retry_in", wait).Msg("gossip: joined, but no member is at a join address")
		}
	}
}

// seedAddr is an address of the Join list, as last resolved.
type seedAddr struct {
	ip   net.IP
	port string // "" for any port
}

// seedCache is the Join list's addresses as resolved at a time.
type seedCache struct {
	addrs []seedAddr // nil until resolved
	at    time.Time
}

// seedLive tells whether another live member is at an address of the Join
// list (a host name stands for every address it resolves to; an entry
// without a port matches any port). It matches the addresses resolved
// last time first, and resolves the list again when they match no member
// or are seedMaxAge old: each agent checks every second while its seed is
// there, and names must not cost a DNS query each time, yet a name that
// moved must be followed even when another member took its old address.
func (n *Node) seedLive(seeds *seedCache) bool {
	if seeds.addrs != nil && time.Since(seeds.at) < seedMaxAge && n.anyLiveAt(seeds.addrs) {
		return true
	}
	seeds.addrs, seeds.at = resolveJoin(n.cfg.Join), time.Now()
	return n.anyLiveAt(seeds.addrs)
}

func (n *Node) anyLiveAt(seeds []seedAddr) bool {
	for _, p := range n.events.live() {
		if p.Name == n.cfg.Name {
			continue
		}
		for _, s := range seeds {
			if s.ip.Equal(p.ip) && (s.port == "" || s.port == portOf(p.Addr)) {
				return true
			}
		}
	}
	return false
}

// resolveJoin resolves the Join list's entries ("HOST:PORT", "HOST", or
// memberlist's "NAME/HOST:PORT") to addresses; an entry that does not
// resolve is left out.
func resolveJoin(join []string) []seedAddr {
	out := []seedAddr{}
	for _, entry := range join {
		if i := strings.Index(entry, "/"); i >= 0 {
			entry = entry[i+1:]
		}
		host, port, err := net.SplitHostPort(entry)
		if err != nil {
			host, port = entry, ""
		}
		for _, ip := range lookupHost(host) {
			out = append(out, seedAddr{ip: ip, port: port})
		}
	}
	return out
}

// lookupHost is host's addresses: itself when it is an IP, else what it
// resolves to now; none when the lookup fails.
func lookupHost(host string) []net.IP {
	if ip := net.ParseIP(strings.Trim(host, "[]")); ip != nil {
		return []net.IP{ip}
	}
	ctx, cancel := context.WithTimeout(context.Background(), seedLookupTimeout)
	defer cancel()
	addrs, err := net.DefaultResolver.LookupIPAddr(ctx, host)
	if err != nil {
		return nil
	}
	ips := make([]net.IP, 0, len(addrs))
	for _, a := range addrs {
		ips = append(ips, a.IP)
	}
	return ips
}

func portOf(addr string) string {
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		return ""
	}
	return port
}

// scaleByMembers scales d as memberlist scales its push/pull interval for
// clusters of more than 32 members (memberlist util.go, pushPullScale).
func scaleByMembers(d time.Duration, members int) time.Duration {
	const threshold = 32
	if members <= threshold {
		return d
	}
	return time.Duration(math.Ceil(math.Log2(float64(members))-math.Log2(threshold))+1) * d
}
