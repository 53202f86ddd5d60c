package gossip

import (
	"errors"
	"fmt"
	"net"
	"strconv"
	"time"

	"github.com/hashicorp/memberlist"
	"github.com/rs/zerolog"
)

// DefaultPort is the gossip port: 7946 is memberlist's usual port, but Docker
// Swarm uses it too.
const DefaultPort = 7947

// DefaultBind is where a node listens (TCP and UDP) unless told otherwise.
const DefaultBind = "0.0.0.0:7947"

// Config configures a gossip node.
type Config struct {
	// Name is the node's name in the cluster: the instance id, unique per
	// incarnation. Required.
	Name string
	// Bind is "IP:PORT" to listen on, TCP and UDP; DefaultBind when empty.
	// Port 0 picks a free port (see Node.Addr).
	Bind string
	// Advertise is the "IP:PORT" (or "IP", keeping the bound port) other
	// nodes use to reach this one, when it differs from Bind (NAT, containers).
	// With Bind on port 0 only "IP" is accepted.
	Advertise string
	// Join lists "HOST:PORT" of nodes already in the cluster. Start retries
	// them with backoff until one answers or its context ends; while the node
	// is alone they are retried in the background.
	Join []string
	// Keys turn on AES-GCM encryption and authentication: each 16, 24 or 32
	// bytes (see ParseKey). Keys[0] encrypts what this node sends; every key
	// is accepted when receiving, which is what makes rotation possible (see
	// Node.SetKeys). A node needs Keys or Insecure.
	Keys [][]byte
	// Insecure runs the node without keys: nothing it sends is encrypted or
	// authenticated, so whoever reaches its port joins, reads every
	// composition and injects its own. Start refuses a node with neither Keys
	// nor Insecure, and an insecure node says so in its log at start and
	// every hour.
	Insecure bool
	// Cluster is memberlist's label: nodes with different labels ignore each
	// other even when told to join.
	Cluster string
	// Meta is the node's initial metadata (see Node.UpdateMeta).
	Meta Meta
	// Source gives the node's newest composition, served to peers that are
	// behind. It is called from several goroutines. Nil: the node has none of
	// its own and only relays what it fetched; with OnComposition nil too it
	// fetches nothing (home's node: it has no use for documents and, without
	// their Envelope, could not open them) and relays only the news.
	Source Source
	// Envelope, when set, seals every document and delta the node sends and
	// opens every one it receives; the node keeps them as they are. A
	// payload that does not open is dropped as from a stranger: the peer is
	// not asked for that revision again. Agents seal with their service's
	// view key, so an agent of another service, or anyone holding only the
	// cluster keyring, gets nothing it can read. Nil: payloads go as they are.
	Envelope Envelope
	// OnComposition receives every newer composition the node fetched from a
	// peer: revision and the JSON document. Calls come one at a time, in
	// strictly increasing revision order, and never for a revision at or below
	// what Source reports. The node fetches nothing else while it runs. With
	// a Source, the node holds the document only once Source reports it: one
	// OnComposition did not keep (an agent that could not cache it) is
	// neither served nor announced, and is fetched again after a pause.
	OnComposition func(revision uint64, doc []byte)
	// Accept, when set, checks each document fetched from a peer before
	// OnComposition sees it (an agent verifies home's signature there). A
	// refusal is final for that peer and revision: the document is neither
	// delivered, kept nor served on, and the node asks another peer, or
	// waits for a newer revision, rather than that one again. A document
	// rebuilt from an announced delta is refused alone: the member the
	// announcement names is not the one that sent it, and is asked still.
	//
	// The revision is the one the peer claims, and a document Accept takes
	// is kept and served on under it: Accept must refuse a document that is
	// not of that revision (an agent checks the signed view's own). The node
	// cannot tell on its own, and an old document taken as a far higher
	// revision would stop it fetching every real one below that.
	Accept func(revision uint64, doc []byte) error
	// OnMember receives membership events, one at a time and in order, on a
	// goroutine of the node's own: it may call the node's methods. The first
	// is this node's own Join.
	OnMember func(Event)
	// PushPull is how often a node exchanges full state (members and newest
	// revision) with a random peer; memberlist's LAN default (30 s) when zero.
	// memberlist scales it up for clusters of more than 32 nodes.
	PushPull time.Duration
	// MaxMembers bounds the live members the node takes, itself included:
	// a node new to it is refused once it holds that many (a keyring holder
	// could otherwise make up members without end). DefaultMaxMembers when
	// zero.
	MaxMembers int
	// Logger receives the node's log, memberlist's own at debug level (its
	// errors at warn).
	Logger zerolog.Logger

	// wholeOnly sends and takes whole documents only, never deltas
	// (benchmarks compare the two).
	wholeOnly bool
	// tune, when set, adjusts the memberlist configuration last (tests).
	tune func(*memberlist.Config)
	// insecureWarnEvery is how often an insecure node repeats its warning;
	// an hour when zero (tests shorten it).
	insecureWarnEvery time.Duration
	// fetchWait is how long a document request waits for its answer;
	// fetchTimeout when zero (tests shorten it).
	fetchWait time.Duration
}

// ErrNoKeys is returned by Start for a node with neither Keys nor Insecure.
var ErrNoKeys = errors.New("gossip: no keyring: gossip is encrypted by default; give a key (home hands one to registered agents, or --gossip-key) or run it openly with --gossip-insecure")

// Gossip runs faster than memberlist's LAN default (every 200 ms to 3
// nodes): news takes about log(N)/log(fanout+1) + ln(N)/fanout rounds to
// reach N nodes, 7.3 rounds (1.5 s) for 1,000 nodes at the default and 6
// (0.6 s) at these, which is what brings a composition change to 99 % of
// 1,000 nodes within a second (BenchmarkConvergenceAtScale). An idle round
// sends nothing, and a broadcast is sent the same number of times either
// way (RetransmitMult), only sooner: the cost is timer wake-ups, not bytes.
const (
	gossipInterval = 100 * time.Millisecond
	gossipNodes    = 4
)

// memberlistConfig turns c into a memberlist configuration, from
// memberlist's LAN defaults (probe every second, push/pull every 30 s)
// with faster gossip (gossipInterval, gossipNodes).
func (c *Config) memberlistConfig() (*memberlist.Config, error) {
	if c.Name == "" {
		return nil, errors.New("gossip: node name is required (the instance id)")
	}
	mc := memberlist.DefaultLANConfig()
	mc.Name = c.Name
	mc.GossipInterval, mc.GossipNodes = gossipInterval, gossipNodes
	// memberlist compresses every packet with LZW, allocating and zeroing
	// a 16 KB table each time: at 1,000 nodes that was a third of a
	// composition change's CPU (BenchmarkConvergenceAtScale's profile), to
	// shrink packets under 1,400 bytes whose payloads (announcements,
	// deltas) are compressed already. Peers decode compressed packets
	// either way, so nodes of either setting mix.
	mc.EnableCompression = false

	bind := c.Bind
	if bind == "" {
		bind = DefaultBind
	}
	ip, port, err := splitAddr(bind, -1)
	if err != nil {
		return nil, fmt.Errorf("gossip bind address %q: %w", bind, err)
	}
	mc.BindAddr, mc.BindPort = ip, port
	mc.AdvertiseAddr, mc.AdvertisePort = "", port
	if c.Advertise != "" {
		ip, port, err := splitAddr(c.Advertise, mc.BindPort)
		if err != nil {
			return nil, fmt.Errorf("gossip advertise address %q: %w", c.Advertise, err)
		}
		if port == 0 && mc.BindPort != 0 {
			return nil, fmt.Errorf("gossip advertise address %q: port 0 cannot be advertised", c.Advertise)
		}
		if mc.BindPort == 0 && port != 0 {
			// memberlist advertises the port it bound when asked for port 0,
			// whatever AdvertisePort says.
			return nil, fmt.Errorf("gossip advertise address %q: a port can only be advertised with a fixed bind port, not 0", c.Advertise)
		}
		mc.AdvertiseAddr, mc.AdvertisePort = ip, port
	}

	if len(c.Cluster) > memberlist.LabelMaxSize {
		return nil, fmt.Errorf("gossip cluster name is %d bytes, over memberlist's label limit of %d", len(c.Cluster), memberlist.LabelMaxSize)
	}
	mc.Label = c.Cluster

	switch {
	case len(c.Keys) == 0 && !c.Insecure:
		return nil, ErrNoKeys
	case len(c.Keys) > 0 && c.Insecure:
		return nil, errors.New("gossip: keys given and Insecure set: choose one (--gossip-key or --gossip-insecure)")
	}
	if mc.Keyring, err = keyring(c.Keys); err != nil {
		return nil, err
	}
	if c.PushPull < 0 {
		return nil, fmt.Errorf("gossip push/pull interval %s is negative", c.PushPull)
	}
	if c.PushPull > 0 {
		mc.PushPullInterval = c.PushPull
	}
	return mc, nil
}

// splitAddr parses "IP:PORT"; with defPort >= 0 a bare "IP" takes defPort.
func splitAddr(s string, defPort int) (string, int, error) {
	host, ps, err := net.SplitHostPort(s)
	if err != nil {
		if defPort < 0 || net.ParseIP(s) == nil {
			return "", 0, fmt.Errorf("want IP:PORT: %w", err)
		}
		host, ps = s, strconv.Itoa(defPort)
	}
	if net.ParseIP(host) == nil {
		return "", 0, fmt.Errorf("%q is not an IP address", host)
	}
	port, err := strconv.Atoi(ps)
	if err != nil || port < 0 || port > 65535 {
		return "", 0, fmt.Errorf("port %q is not a number from 0 to 65535", ps)
	}
	return host, port, nil
}
