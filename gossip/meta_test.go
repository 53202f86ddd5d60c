package gossip

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestOversizedMetaIsRejected(t *testing.T) {
	t.Parallel()
	big := Meta{Role: RoleAgent, Service: strings.Repeat("s", 300), InstanceID: strings.Repeat("i", 200), API: "10.0.0.1:7071"}
	raw, err := json.Marshal(big)
	require.NoError(t, err)
	size := fmt.Sprintf("metadata is %d bytes encoded", len(raw))

	t.Run("at start", func(t *testing.T) {
		_, err := Start(context.Background(), Config{Name: "big", Bind: "127.0.0.1:0", Insecure: true, Meta: big, Logger: testLogger()})
		require.Error(t, err)
		assert.Contains(t, err.Error(), size)
		assert.Contains(t, err.Error(), "limit of 512 bytes")
	})

	t.Run("at update", func(t *testing.T) {
		nodes := cluster(t, "meta", 2)
		before := nodes[0].Meta()
		err := nodes[0].UpdateMeta(big)
		require.Error(t, err)
		assert.Contains(t, err.Error(), size)
		assert.Contains(t, err.Error(), "limit of 512 bytes")
		assert.Equal(t, before, nodes[0].Meta(), "refused metadata is not applied")

		// Metadata just within the limit goes through and reaches the peer.
		fits := Meta{Role: RoleCoordinator, InstanceID: "meta-0", API: "127.0.0.1:7070", Revision: 42}
		b, err := encodeMeta(fits)
		require.NoError(t, err)
		fits.Service = strings.Repeat("x", MaxMetaBytes-len(b)-len(`,"s":""`))
		b, err = encodeMeta(fits)
		require.NoError(t, err)
		require.Len(t, b, MaxMetaBytes)
		require.NoError(t, nodes[0].UpdateMeta(fits))
		require.Eventually(t, func() bool {
			for _, m := range nodes[1].Members() {
				if m.Name == "meta-0" {
					return m.Meta == fits
				}
			}
			return false
		}, 5*time.Second, 20*time.Millisecond)
		require.Eventually(t, func() bool {
			for _, e := range nodes[1].seenEvents() {
				if e.Kind == Update && e.Node.Name == "meta-0" && e.Node.Meta == fits {
					return true
				}
			}
			return false
		}, 5*time.Second, 20*time.Millisecond)
	})

	t.Run("unknown role", func(t *testing.T) {
		_, err := Start(context.Background(), Config{Name: "role", Bind: "127.0.0.1:0", Insecure: true, Meta: Meta{Role: "home"}, Logger: testLogger()})
		require.ErrorContains(t, err, `role "home"`)
	})
}

// The app address travels in the metadata, compactly, and reaches peers
// whole; Endpoint splits it for routing.
func TestMetaAppAddrRoundTrip(t *testing.T) {
	t.Parallel()
	m := Meta{Role: RoleAgent, Service: "news", InstanceID: "news-a1b2", API: "10.0.0.5:7071", Revision: 7, Addr: "10.0.0.5:3000"}
	b, err := encodeMeta(m)
	require.NoError(t, err)
	assert.Contains(t, string(b), `"p":"10.0.0.5:3000"`)
	got, leaving, ok := decodeMeta(b)
	require.True(t, ok)
	assert.False(t, leaving)
	assert.Equal(t, m, got)
	host, port, ok := got.Endpoint()
	require.True(t, ok)
	assert.Equal(t, "10.0.0.5", host)
	assert.Equal(t, 3000, port)

	b, err = encodeMeta(Meta{Role: RoleAgent})
	require.NoError(t, err)
	assert.NotContains(t, string(b), `"p"`, "no address, no field")
	_, _, ok = Meta{}.Endpoint()
	assert.False(t, ok)

	for addr, want := range map[string]struct {
		host string
		port int
	}{
		"[fd00::5]:8080":                {"fd00::5", 8080},
		"app.internal:443":              {"app.internal", 443},
		"10.0.0.6:0":                    {"10.0.0.6", 0}, // an app without a port
		"10.0.0.7:65535":                {"10.0.0.7", 65535},
		strings.Repeat("h", 253) + ":1": {strings.Repeat("h", 253), 1},
	} {
		host, port, ok := Meta{Addr: addr}.Endpoint()
		require.True(t, ok, addr)
		assert.Equal(t, want.host, host, addr)
		assert.Equal(t, want.port, port, addr)
	}

	nodes := cluster(t, "addr", 2)
	m = Meta{Role: RoleAgent, Service: "news", InstanceID: "addr-0", API: "127.0.0.1:7071", Revision: 3, Addr: "10.0.0.5:3000"}
	require.NoError(t, nodes[0].UpdateMeta(m))
	assert.Equal(t, m, nodes[0].Meta())
	require.Eventually(t, func() bool {
		for _, mb := range nodes[1].Members() {
			if mb.Name == "addr-0" {
				return mb.Meta == m
			}
		}
		return false
	}, 5*time.Second, 20*time.Millisecond, "the peer sees the app address")
}

// A malformed or oversized app address is refused before it goes out, and
// one that comes in is dropped without losing the rest of the metadata.
func TestMetaAppAddrIsValidated(t *testing.T) {
	t.Parallel()
	for _, addr := range []string{
		"10.0.0.5",                          // no port
		":3000",                             // no host
		"10.0.0.5:",                         // empty port
		"10.0.0.5:65536",                    // port out of range
		"10.0.0.5:-1",                       // negative port
		"10.0.0.5:+80",                      // signed port
		"10.0.0.5:http",                     // named port
		"fd00::5:80",                        // unbracketed IPv6
		"bad host:80",                       // not a DNS name
		"evil\n.example:80",                 // control character
		strings.Repeat("h", 254) + ":1",     // host over a DNS name's length
		strings.Repeat("h", maxAddrBytes+1), // over the bound outright
	} {
		_, err := encodeMeta(Meta{Role: RoleAgent, Addr: addr})
		require.Error(t, err, "%q", addr)
		assert.Contains(t, err.Error(), "gossip metadata: app address", "%q", addr)
		_, _, ok := Meta{Addr: addr}.Endpoint()
		assert.False(t, ok, "%q", addr)

		raw, err := json.Marshal(wireMeta{Meta: Meta{Role: RoleAgent, InstanceID: "x", Addr: addr}})
		require.NoError(t, err)
		got, _, ok := decodeMeta(raw)
		require.True(t, ok, "%q", addr)
		assert.Equal(t, Meta{Role: RoleAgent, InstanceID: "x"}, got, "%q dropped, the rest kept", addr)
	}

	_, err := Start(context.Background(), Config{Name: "addr", Bind: "127.0.0.1:0", Insecure: true, Meta: Meta{Role: RoleAgent, Addr: "10.0.0.5"}, Logger: testLogger()})
	require.ErrorContains(t, err, `app address "10.0.0.5"`)

	nodes := cluster(t, "badaddr", 1)
	before := nodes[0].Meta()
	require.ErrorContains(t, nodes[0].UpdateMeta(Meta{Role: RoleAgent, Addr: "10.0.0.5:99999"}), "not a number from 0 to 65535")
	assert.Equal(t, before, nodes[0].Meta(), "refused metadata is not applied")
}

// The app address counts toward MaxMetaBytes: the longest one fits beside
// typical metadata, and metadata pushed over the limit by it is refused.
func TestMetaAppAddrSizeBound(t *testing.T) {
	t.Parallel()
	longest := strings.Repeat("h", 253) + ":65535"
	require.Len(t, longest, maxAddrBytes)
	typical := Meta{Role: RoleAgent, Service: "news", InstanceID: "news-0123456789ab", API: "10.0.0.5:7071", Revision: 1 << 40, Addr: longest}
	b, err := encodeMeta(typical)
	require.NoError(t, err)
	require.LessOrEqual(t, len(b), MaxMetaBytes)
	// Room left for the leaving flag, so Leave still tells peers.
	assert.NotNil(t, encodeLeaving(typical))

	full := typical
	full.Service = strings.Repeat("s", MaxMetaBytes-len(b)+len("news"))
	b, err = encodeMeta(full)
	require.NoError(t, err)
	require.Len(t, b, MaxMetaBytes, "exactly at the limit")
	full.Service += "s"
	_, err = encodeMeta(full)
	require.ErrorContains(t, err, fmt.Sprintf("metadata is %d bytes encoded", MaxMetaBytes+1))
	assert.ErrorContains(t, err, "app address")
}
