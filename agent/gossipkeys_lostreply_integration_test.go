package agent_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/portolan/portolan/gossip"
	"github.com/portolan/portolan/internal/testenv"
	"github.com/portolan/portolan/registry"
	"github.com/portolan/portolan/registry/client"
)

// keyLosingProxy stands between agents and home and cuts the connection
// of the first heartbeat reply carrying each keyring home hands, as a
// network that drops it after home wrote it.
func keyLosingProxy(t *testing.T, home string) string {
	t.Helper()
	target, err := url.Parse(home)
	require.NoError(t, err)
	var mu sync.Mutex
	lost := map[string]bool{}
	errLost := errors.New("reply lost on the way")
	p := httputil.NewSingleHostReverseProxy(target)
	p.ModifyResponse = func(res *http.Response) error {
		if !strings.HasSuffix(res.Request.URL.Path, registry.PathHeartbeat) {
			return nil
		}
		b, err := io.ReadAll(res.Body)
		if err != nil {
			return err
		}
		res.Body = io.NopCloser(bytes.NewReader(b))
		var reply struct {
			GossipKeys []string `json:"gossip_keys"`
		}
		if decodeErr := json.Unmarshal(b, &reply); decodeErr != nil || len(reply.GossipKeys) == 0 {
			return nil
		}
		key := strings.Join(reply.GossipKeys, ",")
		mu.Lock()
		defer mu.Unlock()
		if lost[key] {
			return nil
		}
		lost[key] = true
		return errLost
	}
	p.ErrorHandler = func(http.ResponseWriter, *http.Request, error) { panic(http.ErrAbortHandler) }
	srv := httptest.NewServer(p)
	t.Cleanup(srv.Close)
	return srv.URL
}

// Every step of a gossip key rotation reaches an agent whose heartbeat
// reply carrying it is lost: the agent names the version it holds, home
// hands the keyring again until it does, and the rotation waits for it. An
// agent that did not name its version would miss each step for good and
// keep the retired key.
func TestGossipKeyRotationReachesAnAgentWhoseRepliesAreLost(t *testing.T) {
	gossipAddr := testenv.FreeAddr(t)
	co := testenv.StartCoordinator(t, "--gossip-bind", gossipAddr, "--heartbeat", "200ms", "--ttl", "1s", "--gossip-key-grace", "2s")
	a := testenv.StartAgentAt(t, keyLosingProxy(t, co.URL), "--gossip-bind", "127.0.0.1:0", "--join", gossipAddr,
		"--service", "news", "--heartbeat", "200ms", "--ttl", "1s", "--", "sleep", "60")
	old := homeKeyring(t, co)
	require.Eventually(t, func() bool { return gossip.SameKeys(agentKeyring(a), old) }, 20*time.Second, 20*time.Millisecond,
		"the agent holds home's keyring from its registration")

	admin, err := client.New(client.Config{Address: co.URL, Token: co.Token})
	require.NoError(t, err)
	_, err = admin.RotateGossipKey(context.Background())
	require.NoError(t, err)
	require.Eventually(t, func() bool {
		keys := homeKeyring(t, co)
		return len(keys) == 1 && !gossip.SameKeys(keys, old)
	}, 20*time.Second, 50*time.Millisecond, "the rotation ends")
	newKeys := homeKeyring(t, co)
	require.Eventually(t, func() bool { return gossip.SameKeys(agentKeyring(a), newKeys) }, 5*time.Second, 20*time.Millisecond,
		"the agent holds the new keyring alone, though the first reply of every step was lost")
}
