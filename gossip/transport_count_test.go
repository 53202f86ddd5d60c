package gossip

import (
	"io"
	"log"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/memberlist"
)

// byteCounter counts what one node puts on and takes off the wire: UDP
// payloads and TCP stream bytes as memberlist writes and reads them (after
// compression, encryption and label headers; without IP, UDP or TCP
// headers).
type byteCounter struct{ sent, recv atomic.Int64 }

func (c *byteCounter) total() int64 { return c.sent.Load() + c.recv.Load() }

// countingTransport wraps memberlist's NetTransport to count bytes.
type countingTransport struct {
	*memberlist.NetTransport
	c       *byteCounter
	packets chan *memberlist.Packet
	streams chan net.Conn
	done    chan struct{}
	wg      sync.WaitGroup
}

var _ memberlist.NodeAwareTransport = (*countingTransport)(nil)

// newCountingTransport binds a free loopback port and returns the transport
// and the port.
func newCountingTransport(c *byteCounter) (*countingTransport, int, error) {
	var nt *memberlist.NetTransport
	var err error
	for range 10 { // TCP picks the port; UDP may find it taken
		nt, err = memberlist.NewNetTransport(&memberlist.NetTransportConfig{
			BindAddrs: []string{"127.0.0.1"},
			Logger:    log.New(io.Discard, "", 0),
		})
		if err == nil {
			break
		}
	}
	if err != nil {
		return nil, 0, err
	}
	t := &countingTransport{
		NetTransport: nt, c: c,
		packets: make(chan *memberlist.Packet), streams: make(chan net.Conn),
		done: make(chan struct{}),
	}
	t.wg.Add(2)
	go func() {
		defer t.wg.Done()
		for {
			select {
			case p := <-nt.PacketCh():
				c.recv.Add(int64(len(p.Buf)))
				select {
				case t.packets <- p:
				case <-t.done:
					return
				}
			case <-t.done:
				return
			}
		}
	}()
	go func() {
		defer t.wg.Done()
		for {
			select {
			case conn := <-nt.StreamCh():
				select {
				case t.streams <- &countingConn{Conn: conn, c: c}:
				case <-t.done:
					_ = conn.Close()
					return
				}
			case <-t.done:
				return
			}
		}
	}()
	return t, nt.GetAutoBindPort(), nil
}

func (t *countingTransport) PacketCh() <-chan *memberlist.Packet { return t.packets }
func (t *countingTransport) StreamCh() <-chan net.Conn           { return t.streams }

func (t *countingTransport) WriteTo(b []byte, addr string) (time.Time, error) {
	t.c.sent.Add(int64(len(b)))
	return t.NetTransport.WriteTo(b, addr)
}

func (t *countingTransport) WriteToAddress(b []byte, a memberlist.Address) (time.Time, error) {
	t.c.sent.Add(int64(len(b)))
	return t.NetTransport.WriteToAddress(b, a)
}

func (t *countingTransport) DialTimeout(addr string, timeout time.Duration) (net.Conn, error) {
	conn, err := t.NetTransport.DialTimeout(addr, timeout)
	if err != nil {
		return nil, err
	}
	return &countingConn{Conn: conn, c: t.c}, nil
}

func (t *countingTransport) DialAddressTimeout(a memberlist.Address, timeout time.Duration) (net.Conn, error) {
	return t.DialTimeout(a.Addr, timeout)
}

func (t *countingTransport) Shutdown() error {
	err := t.NetTransport.Shutdown()
	close(t.done)
	t.wg.Wait()
	return err
}

type countingConn struct {
	net.Conn
	c *byteCounter
}

func (c *countingConn) Read(b []byte) (int, error) {
	n, err := c.Conn.Read(b)
	c.c.recv.Add(int64(n))
	return n, err
}

func (c *countingConn) Write(b []byte) (int, error) {
	n, err := c.Conn.Write(b)
	c.c.sent.Add(int64(n))
	return n, err
}
