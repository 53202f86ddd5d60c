package agent

import (
	"crypto/rand"
	"encoding/hex"
	"sync"
	"time"

	"github.com/portolan/portolan/registry"
)

// Instance ids. The agent draws one at start (service, hostname, random
// suffix), unique to the container incarnation. Home keeps an id with the
// join token that registered it only while the instance is live: after
// home restarts (instances are soft state) or once it removed the
// instance, whoever registers the id first holds it, and the map shows
// every id. So an id home answers is taken (409, client.ErrIDTaken) is not
// this agent's any more: it draws a new one and registers under it at once,
// rather than wait for a token change that would never come. The new id is
// what home, the local API, the placement file, the credential file, the
// gateway (never a route to itself), gossip metadata (peers match it to
// home's map) and Consul's instance_id say from then on. What keeps the
// incarnation's id, which nothing else can hold: the usage ledger's batch
// ids, which must stay unique forever and do (the same prefix, numbering
// on), so a batch spooled or in flight under the old id counts once all the
// same (home deduplicates within the join token, which has not changed);
// the gossip node name, which memberlist keeps for life; Consul's service
// id, in the Consul agent's own namespace.

// maxNewIDsPerMinute bounds the ids drawn in any minute. A random 32-bit
// suffix is never live already by chance, so a second one taken within a
// minute means a squatter racing every new id or a home answering 409 to
// everything: then the agent asks again at the pace of a refused token.
const maxNewIDsPerMinute = 3

// newIDWindow is the window maxNewIDsPerMinute counts in.
const newIDWindow = time.Minute

// idDraws counts the new ids drawn in the last newIDWindow. It is the home
// loop's alone.
type idDraws struct {
	at []time.Time // oldest first, at most maxNewIDsPerMinute
}

// next reports whether another id may be drawn at now, and if not, how
// long until one may.
func (d *idDraws) next(now time.Time) (ok bool, wait time.Duration) {
	for len(d.at) > 0 && now.Sub(d.at[0]) >= newIDWindow {
		d.at = d.at[1:]
	}
	if len(d.at) >= maxNewIDsPerMinute {
		return false, newIDWindow - now.Sub(d.at[0])
	}
	d.at = append(d.at, now)
	return true, 0
}

// idFollowers are told of every new id: the gateway and gossip, which hold
// the id for themselves.
type idFollowers struct {
	mu  sync.Mutex
	fns []func(id string)
}

// followID has fn called with each new id the agent takes, from the home
// loop; fn must not block.
func (a *Agent) followID(fn func(id string)) {
	a.idFollow.mu.Lock()
	a.idFollow.fns = append(a.idFollow.fns, fn)
	a.idFollow.mu.Unlock()
}

// idTaken handles home's answer that the id registered is taken: it draws
// a new id and returns 0 (register again at once), or, past
// maxNewIDsPerMinute, keeps the id and returns how long to wait. It logs
// either, with the reason. err is home's answer.
func (a *Agent) idTaken(err error, draws *idDraws, now time.Time) time.Duration {
	old := a.ID()
	ok, wait := draws.next(now)
	if !ok {
		a.log.Error().Err(err).Str("id", old).Int("max_per_minute", maxNewIDsPerMinute).Dur("retry_in", wait).
			Msg("home holds this instance id for another join token again, and this agent has drawn as many new ids as it may this minute: " +
				"another registration is racing for its ids (check who holds join tokens); the command keeps running unregistered")
		return wait
	}
	id := instanceID(a.cfg.Service, a.reg.Hostname)
	a.st.renamed(id)
	a.log.Warn().Err(err).Str("old_id", old).Str("id", id).
		Msg("home holds this instance id for another join token (registered by someone else while home had forgotten this instance: " +
			"after home restarted or removed it); registering under a new id")
	a.idFollow.mu.Lock()
	fns := a.idFollow.fns
	a.idFollow.mu.Unlock()
	for _, fn := range fns {
		fn(id)
	}
	return 0
}

// renamed carries the instance's new id to peers in its gossip metadata:
// they match a peer to home's map by it (registeredByHome).
func (g *agentGossip) renamed(id string) {
	g.mu.Lock()
	g.meta.InstanceID = id
	node := g.node
	g.mu.Unlock()
	if node == nil {
		return // start takes meta as it is then
	}
	g.sending.Lock()
	defer g.sending.Unlock()
	g.sendMetaHeld(node)
}

// instanceID is unique per container incarnation: a restarted container with
// the same hostname never collides with the one before it.
func instanceID(service, hostname string) string {
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	id := hostname
	if service != "" {
		id = service + "-" + hostname
	}
	if len(id) > registry.MaxIDLen-9 {
		id = id[:registry.MaxIDLen-9]
	}
	return sanitizeID(id) + "-" + hex.EncodeToString(b)
}

// sanitizeID keeps the characters an instance id may hold, '_' for others.
func sanitizeID(s string) string {
	out := []byte(s)
	for i, c := range out {
		ok := c == '-' || c == '_' || c == '.' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
		if !ok {
			out[i] = '_'
		}
	}
	return string(out)
}
