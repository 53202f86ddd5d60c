package gossip

import (
	"net"
	"net/netip"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/portolan/portolan/internal/testenv"
)

// Agents join home by name (--join home:7946). Home is rescheduled: its
// name moves to a new address, and its old address goes to a new agent,
// as Kubernetes hands a deleted pod's IP to the next pod. The agents must
// find home's new node, so home's node is not left alone.
//
// The rejoin loop matched the Join list's addresses, resolved once, against
// the live members, and asked DNS again only when they matched none: the
// agent at home's old address matched for good, the name was never
// resolved again, and home's new node stayed alone. A resolution is now
// kept no longer than a DNS cache would keep it. Oracle: Kubernetes'
// default CoreDNS Corefile answers with "ttl 30" (kubernetes/kubernetes
// #76238), and nginx's resolver caches an answer for its TTL, or
// "valid=time", then resolves again (ngx_http_core_module, resolver).
func TestRejoinFollowsSeedNameToItsNewAddress(t *testing.T) {
	dns := testenv.UseDNS(t)
	const name = "portolan-home-seed" // no dot: memberlist resolves it with net.LookupIP alone
	oldIP, newIP := netip.MustParseAddr("127.0.0.2"), netip.MustParseAddr("127.0.0.3")
	dns.Set(name, oldIP)

	home := startNode(t, "home-a", time.Second, func(c *Config) { c.Bind = oldIP.String() + ":0" })
	_, port, err := net.SplitHostPort(home.Addr())
	require.NoError(t, err)
	seed := net.JoinHostPort(name, port)
	a1 := startNode(t, "agent-1", 5*time.Second, withJoin(seed))
	a2 := startNode(t, "agent-2", 5*time.Second, withJoin(a1.Addr()))
	waitMembers(t, []*tnode{home, a1, a2}, 3)
	// agent-1 resolved the name twice: to join, then in its rejoin loop,
	// which keeps the answer while home is there.
	require.Eventually(t, func() bool { return dns.Queries(name) >= 2 }, 10*time.Second, 20*time.Millisecond)

	// Home's pod is deleted; a new agent's pod gets its address.
	require.NoError(t, home.Leave(2*time.Second))
	require.NoError(t, home.Shutdown())
	waitMembers(t, []*tnode{a1, a2}, 2)
	p, err := strconv.Atoi(port)
	require.NoError(t, err)
	reused := net.JoinHostPort(oldIP.String(), strconv.Itoa(p))
	a3 := startNode(t, "agent-3", 5*time.Second, withJoin(a2.Addr()), func(c *Config) { c.Bind = reused })
	waitMembers(t, []*tnode{a1, a2, a3}, 3)

	// Home's new pod: the name moves to it.
	dns.Set(name, newIP)
	back := startNode(t, "home-b", time.Second, func(c *Config) { c.Bind = net.JoinHostPort(newIP.String(), port) })
	require.Eventually(t, func() bool {
		return slices.Contains(a1.memberNames(), "home-b") && len(back.Members()) == 4
	}, seedMaxAge+2*rejoinMax, 200*time.Millisecond,
		"the agent that joined %s should find home's node at the name's new address; agent-1 sees %v, home sees %v",
		seed, a1.memberNames(), back.memberNames())
}

// An agent starts before home's container is up (Compose starts them
// together): its --join name does not resolve yet. Start must not fail:
// the node runs alone and joins once the name resolves, as Consul's
// retry_join does (Consul's agent configuration reference, retry_join:
// "Joining is retried until success. ... The value can contain IPv4,
// IPv6, or DNS addresses").
func TestJoinRetriesSeedNameThatDoesNotResolveYet(t *testing.T) {
	dns := testenv.UseDNS(t)
	const name = "portolan-home-later"
	home := startNode(t, "home-a", time.Second, func(c *Config) { c.Bind = "127.0.0.2:0" })
	_, port, err := net.SplitHostPort(home.Addr())
	require.NoError(t, err)
	agent := startNode(t, "agent-1", 500*time.Millisecond, withJoin(net.JoinHostPort(name, port)))
	require.Equal(t, []string{"agent-1"}, agent.memberNames())

	dns.Set(name, netip.MustParseAddr("127.0.0.2"))
	waitMembers(t, []*tnode{home, agent}, 2)
}
