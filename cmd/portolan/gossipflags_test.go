package main

import (
	"bytes"
	"encoding/base64"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/urfave/cli/v2"

	"github.com/portolan/portolan/gossip"
	"github.com/portolan/portolan/registry"
)

// runGossipFlags parses args with the agent's gossip flags and returns what
// gossipConfig made of them.
func runGossipFlags(t *testing.T, args ...string) (*gossip.Config, error) {
	t.Helper()
	var (
		cfg *gossip.Config
		err error
	)
	app := &cli.App{Name: "t", Flags: gossipFlags(), Action: func(c *cli.Context) error {
		cfg, err = gossipConfig(c)
		return nil
	}}
	require.NoError(t, app.Run(append([]string{"t"}, args...)))
	return cfg, err
}

func TestGossipKeyFlags(t *testing.T) {
	k1, k2 := bytes.Repeat([]byte{1}, 32), bytes.Repeat([]byte{2}, 16)
	file := filepath.Join(t.TempDir(), "keys")
	require.NoError(t, os.WriteFile(file, []byte("# primary first\n"+base64.StdEncoding.EncodeToString(k2)+"\n\n"), 0o600))

	cfg, err := runGossipFlags(t, "--join", "10.0.0.1:7947", "--gossip-key", base64.StdEncoding.EncodeToString(k1), "--gossip-key-file", file)
	require.NoError(t, err)
	assert.Equal(t, [][]byte{k1, k2}, cfg.Keys, "--gossip-key first, then the file's")
	assert.False(t, cfg.Insecure)

	cfg, err = runGossipFlags(t, "--join", "10.0.0.1:7947")
	require.NoError(t, err)
	assert.Empty(t, cfg.Keys, "no key: the agent waits for home's")
	assert.False(t, cfg.Insecure)

	cfg, err = runGossipFlags(t, "--join", "10.0.0.1:7947", "--gossip-insecure")
	require.NoError(t, err)
	assert.True(t, cfg.Insecure)

	_, err = runGossipFlags(t, "--join", "10.0.0.1:7947", "--gossip-insecure", "--gossip-key-file", file)
	assert.ErrorContains(t, err, "choose one")
	_, err = runGossipFlags(t, "--gossip-key-file", file)
	assert.ErrorContains(t, err, "need --gossip-bind or --join")
	_, err = runGossipFlags(t, "--join", "10.0.0.1:7947", "--gossip-key-file", filepath.Join(t.TempDir(), "none"))
	assert.ErrorContains(t, err, "--gossip-key-file")
	empty := filepath.Join(t.TempDir(), "empty")
	require.NoError(t, os.WriteFile(empty, []byte("# nothing\n"), 0o600))
	_, err = runGossipFlags(t, "--join", "10.0.0.1:7947", "--gossip-key-file", empty)
	assert.ErrorContains(t, err, "holds no key")
}

// --gossip-key-file is bounded as every secret file is: a large file is
// refused for its size, not read whole.
func TestGossipKeyFileIsBounded(t *testing.T) {
	file := filepath.Join(t.TempDir(), "keys")
	line := strings.Repeat("#", 1023) + "\n"
	require.NoError(t, os.WriteFile(file, []byte(strings.Repeat(line, 8<<10)), 0o600))
	_, err := runGossipFlags(t, "--join", "10.0.0.1:7947", "--gossip-key-file", file)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "over", "a file past the secret-file bound is refused for its size, before it is read whole")
	assert.Contains(t, err.Error(), "--gossip-key-file")
}

// --gossip-max-members reaches the node's member bound; the default is
// gossip's, above home's default --max-instances.
func TestGossipMaxMembersFlag(t *testing.T) {
	cfg, err := runGossipFlags(t, "--join", "10.0.0.1:7947")
	require.NoError(t, err)
	assert.Equal(t, gossip.DefaultMaxMembers, cfg.MaxMembers)
	assert.Greater(t, gossip.DefaultMaxMembers, registry.DefaultMaxInstances)

	cfg, err = runGossipFlags(t, "--join", "10.0.0.1:7947", "--gossip-max-members", "120000")
	require.NoError(t, err)
	assert.Equal(t, 120000, cfg.MaxMembers)

	_, err = runGossipFlags(t, "--join", "10.0.0.1:7947", "--gossip-max-members", "1")
	assert.ErrorContains(t, err, "--gossip-max-members 1: want at least 2")
}
