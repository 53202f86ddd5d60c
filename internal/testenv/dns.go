package testenv

import (
	"context"
	"net"
	"net/netip"
	"strings"
	"sync"
	"testing"

	"golang.org/x/net/dns/dnsmessage"
)

// DNS is a DNS server on loopback that answers A queries for the names a
// test sets, so that a test can move a name as Docker's or Kubernetes' DNS
// moves a restarted container's. UseDNS points the test process's resolver
// at it: whatever resolves with net.DefaultResolver (net.Dialer, net.LookupIP)
// asks it, with no root and no shared file to edit. Processes the test
// starts keep the system's resolver.
type DNS struct {
	pc    net.PacketConn
	mu    sync.Mutex
	names map[string]netip.Addr // lower case, no trailing dot
	asked map[string]int        // A queries answered, by name
}

// UseDNS starts a DNS and makes it the process's resolver until the test
// ends. Tests that use it must not call t.Parallel, nor run beside tests
// that resolve names.
func UseDNS(t testing.TB) *DNS {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("testenv: DNS server: %v", err)
	}
	d := &DNS{pc: pc, names: map[string]netip.Addr{}, asked: map[string]int{}}
	go d.serve()
	preferGo, dial := net.DefaultResolver.PreferGo, net.DefaultResolver.Dial
	net.DefaultResolver.PreferGo = true
	net.DefaultResolver.Dial = func(ctx context.Context, _, _ string) (net.Conn, error) {
		var dl net.Dialer
		return dl.DialContext(ctx, "udp", pc.LocalAddr().String())
	}
	t.Cleanup(func() {
		net.DefaultResolver.PreferGo, net.DefaultResolver.Dial = preferGo, dial
		_ = pc.Close()
	})
	return d
}

// Set makes name resolve to ip (IPv4); an invalid ip makes it unknown.
func (d *DNS) Set(name string, ip netip.Addr) {
	d.mu.Lock()
	defer d.mu.Unlock()
	name = strings.ToLower(name)
	if !ip.IsValid() {
		delete(d.names, name)
		return
	}
	d.names[name] = ip
}

// Queries is how many A queries for name were answered.
func (d *DNS) Queries(name string) int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.asked[strings.ToLower(name)]
}

// lookup is name's address, counted as a query when a is set (an A query).
func (d *DNS) lookup(name string, a bool) (netip.Addr, bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	name = strings.ToLower(strings.TrimSuffix(name, "."))
	ip, ok := d.names[name]
	if a {
		d.asked[name]++
	}
	return ip, ok
}

func (d *DNS) serve() {
	buf := make([]byte, 1500)
	for {
		n, from, err := d.pc.ReadFrom(buf)
		if err != nil {
			return
		}
		if out, ok := d.answer(buf[:n]); ok {
			_, _ = d.pc.WriteTo(out, from)
		}
	}
}

// answer is the reply to one query: an A record for a known name (TTL 0,
// so that nothing keeps it), no record of another type for it, NXDOMAIN
// for any other name.
func (d *DNS) answer(query []byte) ([]byte, bool) {
	var p dnsmessage.Parser
	h, err := p.Start(query)
	if err != nil {
		return nil, false
	}
	q, err := p.Question()
	if err != nil {
		return nil, false
	}
	ip, known := d.lookup(q.Name.String(), q.Type == dnsmessage.TypeA)
	rh := dnsmessage.Header{ID: h.ID, Response: true, Authoritative: true, RecursionDesired: h.RecursionDesired}
	if !known {
		rh.RCode = dnsmessage.RCodeNameError
	}
	b := dnsmessage.NewBuilder(nil, rh)
	b.EnableCompression()
	if b.StartQuestions() != nil || b.Question(q) != nil || b.StartAnswers() != nil {
		return nil, false
	}
	if known && q.Type == dnsmessage.TypeA && ip.Is4() {
		res := dnsmessage.ResourceHeader{Name: q.Name, Type: dnsmessage.TypeA, Class: dnsmessage.ClassINET}
		if b.AResource(res, dnsmessage.AResource{A: ip.As4()}) != nil {
			return nil, false
		}
	}
	out, err := b.Finish()
	return out, err == nil
}
