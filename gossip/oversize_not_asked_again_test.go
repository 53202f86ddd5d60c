package gossip

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A node holds a revision it can never send: its document is over
// MaxDocumentBytes (home serves signed views up to 64 MiB; gossip sends 32
// MiB at most, 20 MiB compressed: hashicorp/memberlist net.go,
// maxUserMsgBytes = 20 * 1024 * 1024, "Largest user message we will
// buffer off the wire"). Its metadata still names that revision, as an
// agent's does for every view it installs. A peer told once that the
// document will not be sent must not ask again for that revision, every
// backoff, for as long as both run (memberlist's anti-entropy asks a peer
// once per PushPullInterval, 30 s on a LAN, config.go DefaultLANConfig).
func TestGossipRevisionTooLargeToSendIsNotAskedAgain(t *testing.T) {
	big := bytes.Repeat([]byte("a"), MaxDocumentBytes+1)
	h := startNode(t, "big", time.Second, func(c *Config) { c.Meta.Revision = 7 })
	h.src.set(7, big)
	log := &syncBuf{}
	p := startNode(t, "peer", 5*time.Second, withJoin(h.Addr()), func(c *Config) {
		c.Logger = zerolog.New(log).Level(zerolog.DebugLevel)
	})
	p.src.set(6, testDoc(t, 6, 2000))
	waitMembers(t, []*tnode{h, p}, 2)
	require.Eventually(t, func() bool { return strings.Contains(log.String(), "over the limit") }, 5*time.Second, 20*time.Millisecond,
		"the peer asks the node once for the revision its metadata names")
	time.Sleep(4 * time.Second)
	asked := strings.Count(log.String(), `"message":"gossip: fetch failed"`)
	assert.LessOrEqual(t, asked, 1, "the peer asked %d times for a document the node said it will not send; log:\n%s", asked, log.String())
	assert.Empty(t, p.got())
}
