package gossip

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/binary"
	"fmt"
	"net"
	"testing"
	"time"

	"github.com/hashicorp/go-msgpack/v2/codec"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// forgeAlive sends addr memberlist alive messages for k made-up nodes,
// sealed with the cluster key as any keyring holder can.
func forgeAlive(t *testing.T, key []byte, addr, prefix string, k int) {
	t.Helper()
	type alive struct { // memberlist's alive message
		Incarnation uint32
		Node        string
		Addr        []byte
		Port        uint16
		Meta        []byte
		Vsn         []uint8
	}
	block, err := aes.NewCipher(key)
	require.NoError(t, err)
	gcm, err := cipher.NewGCM(block)
	require.NoError(t, err)
	ua, err := net.ResolveUDPAddr("udp", addr)
	require.NoError(t, err)
	uc, err := net.DialUDP("udp", nil, ua)
	require.NoError(t, err)
	defer uc.Close()
	for i := 0; i < k; {
		var parts [][]byte
		for ; i < k && len(parts) < 100; i++ {
			var m bytes.Buffer
			m.WriteByte(4) // aliveMsg
			require.NoError(t, codec.NewEncoder(&m, &codec.MsgpackHandle{}).Encode(&alive{Incarnation: 1,
				Node: fmt.Sprintf("%s-%d", prefix, i), Addr: []byte{192, 0, 2, byte(i)}, Port: 7947, Vsn: []uint8{1, 5, 2, 0, 0, 0}}))
			parts = append(parts, m.Bytes())
		}
		var c bytes.Buffer
		c.WriteByte(7) // compoundMsg
		c.WriteByte(byte(len(parts)))
		for _, p := range parts {
			_ = binary.Write(&c, binary.BigEndian, uint16(len(p)))
		}
		for _, p := range parts {
			c.Write(p)
		}
		nonce := make([]byte, 12)
		_, _ = rand.Read(nonce)
		_, err = uc.Write(gcm.Seal(append([]byte{1}, nonce...), nonce, c.Bytes(), nil)) // version 1, no label
		require.NoError(t, err)
		time.Sleep(time.Millisecond)
	}
}

// Any keyring holder can make up alive messages for as many nodes as it
// likes: a node takes no more live members than its limit, and keeps the
// members it holds.
func TestMadeUpMembersStopAtTheLimit(t *testing.T) {
	ring := bytes.Repeat([]byte{7}, 32)
	const limit = 50
	capped := func(c *Config) { c.MaxMembers = limit }
	v := startNode(t, "victim", time.Second, withKeys(ring), withCluster(""), capped)
	peer := startNode(t, "peer", 5*time.Second, withKeys(ring), withCluster(""), withJoin(v.Addr()), capped)
	waitMembers(t, []*tnode{v, peer}, 2)

	forgeAlive(t, ring, v.Addr(), "fake", 2000)
	time.Sleep(500 * time.Millisecond)
	assert.LessOrEqual(t, len(v.Members()), limit, "the victim took %d members, over its limit of %d", len(v.Members()), limit)
	assert.LessOrEqual(t, v.ml().NumMembers(), limit, "memberlist itself keeps no more")
	assert.Contains(t, v.memberNames(), "peer")

	time.Sleep(time.Second)
	assert.Contains(t, v.memberNames(), "peer", "a member held before the limit was reached stays")
}

// The member limit is checked: a negative one is refused.
func TestNegativeMemberLimitIsRefused(t *testing.T) {
	_, err := Start(t.Context(), Config{Name: "n", Bind: "127.0.0.1:0", Insecure: true, MaxMembers: -1, Logger: testLogger()})
	require.ErrorContains(t, err, "negative")
}
