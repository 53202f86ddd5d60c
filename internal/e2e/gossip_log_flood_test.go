package e2e

import (
	"net"
	"strings"
	"testing"
	"time"

	"github.com/portolan/portolan/internal/testenv"
)

// memberlistWarnings counts the lines of out that memberlist's errors
// became (gossip/logging.go logs them at warn, component "memberlist").
func memberlistWarnings(out string) int {
	n := 0
	for _, line := range strings.Split(out, "\n") {
		if strings.Contains(line, `"component":"memberlist"`) && strings.Contains(line, `"level":"warn"`) {
			n++
		}
	}
	return n
}

// An outsider without the gossip key who sprays home's gossip port with
// packets makes home log a bounded number of lines, not one per packet.
// Oracle: README "Bounds": "every listener ... limits" what a client may
// make it hold, and every other refusal an outsider can repeat at will is
// logged at most once a minute (a join token's cap, the member limit, a
// refused token: "logged once a minute per token"); a UDP packet costs its
// sender one send, with any source address, so a line per packet lets
// anyone on the network fill home's disk through its log.
func TestGossipGarbageFromAnOutsiderDoesNotFloodHomesLog(t *testing.T) {
	gossipAddr := testenv.FreeAddr(t)
	co := testenv.StartCoordinator(t, "--gossip-bind", gossipAddr)
	// Home's gossip is up once it logs its address (info is below the
	// warn level StartCoordinator runs at), so wait for the port instead.
	waitFor(t, 10*time.Second, 50*time.Millisecond, "home's gossip port", func() (bool, string) {
		c, err := net.DialTimeout("tcp", gossipAddr, time.Second)
		if err != nil {
			return false, err.Error()
		}
		c.Close()
		return true, ""
	})
	before := memberlistWarnings(co.Output.String())

	const packets = 2000
	udp, err := net.Dial("udp", gossipAddr)
	if err != nil {
		t.Fatal(err)
	}
	defer udp.Close()
	junk := []byte("\x01not a gossip packet, and not sealed with home's key")
	for i := 0; i < packets; i++ {
		if _, err := udp.Write(junk); err != nil {
			t.Fatalf("send packet %d: %v", i, err)
		}
		if i%100 == 99 {
			time.Sleep(time.Millisecond) // keep the kernel's socket buffer from dropping them
		}
	}
	// Home took the packets: wait until its log stops growing.
	last, stable := -1, 0
	waitFor(t, 20*time.Second, 200*time.Millisecond, "home's log to settle", func() (bool, string) {
		n := memberlistWarnings(co.Output.String())
		if n == last {
			stable++
		} else {
			last, stable = n, 0
		}
		return stable >= 5, ""
	})
	lines := last - before
	t.Logf("%d garbage packets made %d warn lines", packets, lines)
	if lines > 10 {
		t.Errorf("%d garbage gossip packets from an outsider made home log %d warnings; want a bounded few (at most 10)", packets, lines)
	}
	if lines == 0 {
		t.Errorf("home logged nothing of %d garbage gossip packets; want them noticed at least once", packets)
	}
}
