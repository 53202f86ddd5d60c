package gossip

import (
	"fmt"
	"net"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/memberlist"
	"github.com/rs/zerolog"
)

// memberlist serves every TCP connection to the gossip port on a goroutine
// of its own for up to its TCPTimeout (10 s), reading, before it can tell
// a stranger, whatever the stream announces (up to 20 MB of push/pull
// state). The port listens on every address by default, so without a bound
// anyone who reaches it holds as many goroutines and buffers as it opens
// connections. A node takes at most maxStreams inbound streams at once,
// and at most maxStreamsPerAddr from one address, so one outsider cannot
// take them all; one more is closed as soon as it is accepted, as an
// HTTP listener's one past --max-connections is. Members open few:
// memberlist itself serves at most 128 push/pulls at once, and a document
// request is one short stream to a peer that has it.
const (
	maxStreams        = 512
	maxStreamsPerAddr = 32
)

// streamCap is a memberlist transport whose inbound streams are bounded
// (maxStreams, maxStreamsPerAddr); the rest is the transport it wraps.
type streamCap struct {
	memberlist.NodeAwareTransport
	streams chan net.Conn
	log     zerolog.Logger

	mu      sync.Mutex
	open    int
	perAddr map[string]int
	refused uint64    // since the last warning
	warned  time.Time // when the last warning was logged

	done     chan struct{}
	stopOnce sync.Once
	wg       sync.WaitGroup
}

// newNetTransport makes memberlist's own transport as memberlist.Create
// does when given none (it is wrapped here instead): bound to mc's address
// and port, and, for port 0, to one the kernel chose that is free for both
// TCP and UDP, which then becomes mc's port.
func newNetTransport(mc *memberlist.Config) (*memberlist.NetTransport, error) {
	nc := &memberlist.NetTransportConfig{BindAddrs: []string{mc.BindAddr}, BindPort: mc.BindPort, Logger: mc.Logger}
	tries := 1
	if mc.BindPort == 0 {
		tries = 10 // TCP picks the port, and UDP may find it taken
	}
	var err error
	for range tries {
		var nt *memberlist.NetTransport
		if nt, err = memberlist.NewNetTransport(nc); err == nil {
			if mc.BindPort == 0 {
				mc.BindPort = nt.GetAutoBindPort()
				mc.AdvertisePort = mc.BindPort
			}
			return nt, nil
		}
		if !strings.Contains(err.Error(), "address already in use") {
			break
		}
	}
	return nil, fmt.Errorf("port %d: %w", mc.BindPort, err)
}

// capStreams wraps t so that its inbound streams are bounded; refusals are
// logged to log at most once a minute.
func capStreams(t memberlist.NodeAwareTransport, log zerolog.Logger) *streamCap {
	c := &streamCap{
		NodeAwareTransport: t,
		streams:            make(chan net.Conn),
		log:                log,
		perAddr:            map[string]int{},
		done:               make(chan struct{}),
	}
	c.wg.Add(1)
	go c.relay()
	return c
}

// StreamCh is memberlist's: the inbound streams within the bounds.
func (c *streamCap) StreamCh() <-chan net.Conn { return c.streams }

// Shutdown stops the wrapped transport, then the relay; a second call
// only repeats the first's on the wrapped transport.
func (c *streamCap) Shutdown() error {
	err := c.NodeAwareTransport.Shutdown()
	c.stopOnce.Do(func() { close(c.done) })
	c.wg.Wait()
	return err
}

// relay hands memberlist the streams the bounds admit and closes the rest.
func (c *streamCap) relay() {
	defer c.wg.Done()
	in := c.NodeAwareTransport.StreamCh()
	for {
		select {
		case conn := <-in:
			admitted := c.admit(conn)
			if admitted == nil {
				_ = conn.Close()
				continue
			}
			select {
			case c.streams <- admitted:
			case <-c.done:
				_ = admitted.Close()
				return
			}
		case <-c.done:
			return
		}
	}
}

// admit counts conn in, wrapped so that closing it counts it out, or
// returns nil when a bound refuses it.
func (c *streamCap) admit(conn net.Conn) net.Conn {
	addr := hostOf(conn.RemoteAddr())
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.open >= maxStreams || c.perAddr[addr] >= maxStreamsPerAddr {
		c.refused++
		if now := time.Now(); now.Sub(c.warned) >= time.Minute {
			c.log.Warn().Str("from", addr).Uint64("refused", c.refused).Int("open", c.open).
				Int("max", maxStreams).Int("max_per_address", maxStreamsPerAddr).
				Msg("gossip: inbound streams at their bound: connections closed at once")
			c.warned, c.refused = now, 0
		}
		return nil
	}
	c.open++
	c.perAddr[addr]++
	return &cappedConn{Conn: conn, release: func() { c.release(addr) }}
}

// release counts a closed stream from addr out.
func (c *streamCap) release(addr string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.open--
	if c.perAddr[addr]--; c.perAddr[addr] <= 0 {
		delete(c.perAddr, addr)
	}
}

// hostOf is a remote address's IP, what the per-address bound counts by.
func hostOf(a net.Addr) string {
	if ta, ok := a.(*net.TCPAddr); ok {
		return ta.IP.String()
	}
	if a == nil {
		return ""
	}
	host, _, err := net.SplitHostPort(a.String())
	if err != nil {
		return a.String()
	}
	return host
}

// cappedConn is an admitted stream; its first Close counts it out.
type cappedConn struct {
	net.Conn
	once    sync.Once
	release func()
}

func (c *cappedConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(c.release)
	return err
}
