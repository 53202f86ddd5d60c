package gossip

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestConfigErrors(t *testing.T) {
	for _, tc := range []struct {
		cfg  Config
		want string
	}{
		{Config{}, "node name is required"},
		{Config{Name: "x", Bind: "localhost:7947"}, `"localhost" is not an IP address`},
		{Config{Name: "x", Bind: "127.0.0.1"}, "want IP:PORT"},
		{Config{Name: "x", Bind: "127.0.0.1:99999"}, "port \"99999\""},
		{Config{Name: "x", Bind: "127.0.0.1:0", Advertise: "10.0.0.1:7000"}, "not 0"},
		{Config{Name: "x", Bind: "127.0.0.1:7947", Advertise: "10.0.0.1:0"}, "port 0 cannot be advertised"},
		{Config{Name: "x", Bind: "127.0.0.1:0", PushPull: -time.Second, Insecure: true}, "negative"},
		{Config{Name: "x", Bind: "127.0.0.1:0"}, "no keyring: gossip is encrypted by default"},
		{Config{Name: "x", Bind: "127.0.0.1:0", Keys: [][]byte{key(1, 32)}, Insecure: true}, "choose one"},
	} {
		_, err := Start(t.Context(), tc.cfg)
		assert.ErrorContains(t, err, tc.want, "%+v", tc.cfg)
	}
}

func TestConfigDefaults(t *testing.T) {
	c := Config{Name: "x", Insecure: true}
	mc, err := c.memberlistConfig()
	require.NoError(t, err)
	assert.Equal(t, "0.0.0.0", mc.BindAddr)
	assert.Equal(t, DefaultPort, mc.BindPort)
	assert.Equal(t, 100*time.Millisecond, mc.GossipInterval, "faster than memberlist's LAN default: see gossipInterval")
	assert.Equal(t, 4, mc.GossipNodes)
	assert.Equal(t, 30*time.Second, mc.PushPullInterval)
	assert.False(t, mc.EnableCompression, "LZW per packet costs more CPU than it saves bytes: see memberlistConfig")

	c = Config{Name: "x", Bind: "127.0.0.1:8000", Advertise: "192.0.2.7", PushPull: time.Second, Cluster: "prod", Keys: [][]byte{key(1, 32)}}
	mc, err = c.memberlistConfig()
	require.NoError(t, err)
	assert.Equal(t, "192.0.2.7", mc.AdvertiseAddr)
	assert.Equal(t, 8000, mc.AdvertisePort)
	assert.Equal(t, time.Second, mc.PushPullInterval)
	assert.Equal(t, "prod", mc.Label)
}

func TestStartFailsOnTakenPort(t *testing.T) {
	t.Parallel()
	n := startNode(t, "port", time.Second)
	_, err := Start(t.Context(), Config{Name: "port-2", Bind: n.Addr(), Insecure: true, Logger: testLogger()})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "gossip: start on 127.0.0.1")
}

func TestAdvertisedAddress(t *testing.T) {
	t.Parallel()
	n := startNode(t, "adv", time.Second, func(c *Config) { c.Advertise = "127.0.0.2" })
	assert.Regexp(t, `^127\.0\.0\.2:[1-9][0-9]*$`, n.Addr())
}
