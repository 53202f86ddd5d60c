package agent_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/portolan/portolan/agent"
	"github.com/portolan/portolan/composition"
	"github.com/portolan/portolan/gossip"
	"github.com/portolan/portolan/internal/testenv"
	"github.com/portolan/portolan/registry"
	"github.com/portolan/portolan/registry/client"
)

// forge rewrites a signed view as an attacker who can write files or speak
// gossip would: revision 999999, a user_key of their own on a live
// application, no usage limits. The signature is kept (it no longer
// matches) unless unsigned, which writes the bare document an older agent
// cached.
func forge(t *testing.T, view []byte, unsigned bool) []byte {
	t.Helper()
	var v registry.SignedView
	require.NoError(t, json.Unmarshal(view, &v))
	var d composition.Document
	require.NoError(t, json.Unmarshal(v.Document, &d))
	d.Revision, v.Revision = 999999, 999999
	d.UsageLimits = nil
	d.CredentialKey = nil
	for _, a := range d.Applications {
		a.UserKey, a.State = "forged-key", composition.AppLive
	}
	doc, err := json.Marshal(d)
	require.NoError(t, err)
	if unsigned {
		return doc
	}
	v.Document = doc
	b, err := json.Marshal(v)
	require.NoError(t, err)
	return b
}

// A forged cache file, signed or not, is refused when the agent starts:
// with home down it serves no composition rather than the forgery, and with
// home up it takes home's revision instead of sticking at 999999.
func TestForgedCacheFileIsRefusedAtStart(t *testing.T) {
	co := testenv.StartCoordinator(t)
	createService(t, co, "news")
	a := testenv.StartAgent(t, co, "--service", "news", "--heartbeat", "300ms", "--ttl", "1s", "--", "sleep", "60")
	a.ID()
	want := co.Revision(t)
	require.Eventually(t, func() bool { rev, _ := agentComposition(t, a); return rev == want }, 5*time.Second, 20*time.Millisecond)
	a.Kill9()
	cached, err := os.ReadFile(filepath.Join(a.CacheDir, agent.CacheFile))
	require.NoError(t, err)
	info, err := os.Stat(filepath.Join(a.CacheDir, agent.SigningKeyCacheFile))
	require.NoError(t, err, "the agent keeps home's signing key in its cache dir")
	assert.Equal(t, os.FileMode(0o600), info.Mode().Perm())

	for _, unsigned := range []bool{false, true} {
		t.Run(fmt.Sprintf("unsigned=%v", unsigned), func(t *testing.T) {
			dir := t.TempDir()
			key, err := os.ReadFile(filepath.Join(a.CacheDir, agent.SigningKeyCacheFile))
			require.NoError(t, err)
			require.NoError(t, os.WriteFile(filepath.Join(dir, agent.SigningKeyCacheFile), key, 0o600))
			require.NoError(t, os.WriteFile(filepath.Join(dir, agent.CacheFile), forge(t, cached, unsigned), 0o600))

			// Home down: nothing served, the refusal logged.
			down := testenv.StartAgentAt(t, "http://"+testenv.FreeAddr(t), "--service", "news", "--cache-dir", dir, "--", "sleep", "60")
			down.ID()
			rev, _ := agentComposition(t, down)
			assert.Zero(t, rev, "the forged cache is not served")
			down.Output.Contains(t, "the cached composition is refused")
			down.Kill9() // the cache directory serves one agent at a time

			// Home up: home's revision, not the forgery's.
			up := testenv.StartAgent(t, co, "--service", "news", "--cache-dir", dir, "--heartbeat", "300ms", "--ttl", "1s", "--", "sleep", "60")
			up.ID()
			require.Eventually(t, func() bool { rev, _ := agentComposition(t, up); return rev == want }, 5*time.Second, 20*time.Millisecond,
				"the agent takes home's revision %d", want)
			rev, doc := agentComposition(t, up)
			assert.Equal(t, want, rev)
			for _, app := range doc.Applications {
				assert.NotEqual(t, "forged-key", app.UserKey)
			}
		})
	}
}

// An agent never registered has no key: it takes no cache at all.
func TestCacheWithoutKeyIsRefused(t *testing.T) {
	co := testenv.StartCoordinator(t)
	createService(t, co, "news")
	a := testenv.StartAgent(t, co, "--service", "news", "--", "sleep", "60")
	a.ID()
	require.Eventually(t, func() bool { rev, _ := agentComposition(t, a); return rev > 0 }, 5*time.Second, 20*time.Millisecond)
	a.Kill9()
	require.NoError(t, os.Remove(filepath.Join(a.CacheDir, agent.SigningKeyCacheFile)))
	b := testenv.StartAgentAt(t, "http://"+testenv.FreeAddr(t), "--service", "news", "--cache-dir", a.CacheDir, "--", "sleep", "60")
	b.ID()
	rev, _ := agentComposition(t, b)
	assert.Zero(t, rev, "a valid-looking cache is not taken without the key learned from home")
}

// rogueSource serves a forged view to whoever fetches it by gossip.
type rogueSource struct{ view []byte }

func (s rogueSource) Latest() (uint64, []byte) { return 999999, s.view }

// A gossiped higher revision with a bad signature is refused, and logged
// once, while a valid one from a real peer is taken: a new agent with home
// down, home's key in its cache dir and no composition joins a real agent
// and a rogue node that serves revision 999999 with forged keys.
func TestGossipedForgeryIsRefusedAndValidViewAdopted(t *testing.T) {
	// The rogue is an insider: it holds the gossip key (home's, fixed here
	// so the test can give it) and its service's view key (an agent of news
	// gone bad), but not home's signing key.
	gossipKey := base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{7}, 32))
	co := testenv.StartCoordinator(t, "--gossip-bind", testenv.FreeAddr(t), "--gossip-key", gossipKey)
	createService(t, co, "news")
	want := co.Revision(t)
	a := testenv.StartAgent(t, co, "--gossip-bind", "127.0.0.1:0", "--service", "news", "--heartbeat", "300ms", "--ttl", "1s", "--", "sleep", "60")
	a.ID()
	require.Eventually(t, func() bool { rev, _ := agentComposition(t, a); return rev == want }, 5*time.Second, 20*time.Millisecond)
	peer := gossipAddrOf(t, a) // gossip starts once home handed the keyring
	cached, err := os.ReadFile(filepath.Join(a.CacheDir, agent.CacheFile))
	require.NoError(t, err)

	envelope, err := gossip.NewKeyEnvelope(cachedViewKey(t, a.CacheDir, "news"))
	require.NoError(t, err)

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	rogue, err := gossip.Start(ctx, gossip.Config{
		Name: "rogue", Bind: "127.0.0.1:0", Join: []string{peer}, Cluster: "portolan", Source: rogueSource{forge(t, cached, false)},
		Keys: [][]byte{bytes.Repeat([]byte{7}, 32)}, Envelope: envelope,
		Meta:   gossip.Meta{Role: gossip.RoleAgent, Service: "news", InstanceID: "rogue", Revision: 999999},
		Logger: zerolog.Nop(),
	})
	require.NoError(t, err)
	t.Cleanup(func() { _ = rogue.Shutdown() })
	require.NoError(t, rogue.Announce(999999))

	dir := cacheCopy(t, a.CacheDir, agent.SigningKeyCacheFile, agent.ViewKeyFile)
	c := testenv.StartAgentAt(t, "http://"+testenv.FreeAddr(t), "--gossip-bind", "127.0.0.1:0", "--join", peer, "--join", rogue.Addr(),
		"--gossip-key", gossipKey, "--service", "news", "--cache-dir", dir, "--", "sleep", "60")
	c.ID()
	require.Eventually(t, func() bool { rev, _ := agentComposition(t, c); return rev == want }, 10*time.Second, 50*time.Millisecond,
		"the valid view is taken from the real peer")
	require.Eventually(t, func() bool { return strings.Contains(c.Output.String(), "signature does not verify") }, 10*time.Second, 50*time.Millisecond,
		"the forgery is logged")
	time.Sleep(time.Second)
	assert.Equal(t, 1, strings.Count(c.Output.String(), "signature does not verify"), "logged once per revision")
	rev, _ := agentComposition(t, c)
	assert.Equal(t, want, rev, "still home's revision")
	rev, _ = agentComposition(t, a)
	assert.Equal(t, want, rev, "the registered agent did not take the forgery either")
}

// GET /v1/composition for an agent of one service holds nothing of another
// service, no password, no plaintext key; nor does the agent's cache file.
func TestAgentReceivesOnlyItsServiceWithoutSecrets(t *testing.T) {
	// Gossip with a key the test also holds: an insider node fetches what
	// the agent gossips, and that must hold no secret either.
	gossipKey := bytes.Repeat([]byte{9}, 32)
	co := testenv.StartCoordinator(t, "--gossip-bind", testenv.FreeAddr(t), "--gossip-key", base64.StdEncoding.EncodeToString(gossipKey))
	newsID, _ := countedService(t, co, "News", "news")
	weatherID, _ := countedService(t, co, "Weather", "weather")
	planOf := func(sid int64) int64 {
		var p struct {
			Plan struct{ ID int64 } `json:"application_plan"`
		}
		adminCall(t, co, "POST", fmt.Sprintf("/admin/api/services/%d/application_plans.json", sid), "name=Basic", &p)
		return p.Plan.ID
	}
	newsPlan, weatherPlan := planOf(newsID), planOf(weatherID)
	var signup struct {
		Account struct{ ID int64 } `json:"account"`
	}
	adminCall(t, co, "POST", "/admin/api/signup.json",
		fmt.Sprintf("org_name=Acme&username=alice&email=alice@example.com&password=s3cret-pass-42&application_plan_id=%d", newsPlan), &signup)
	type app struct {
		UserKey string `json:"user_key"`
	}
	newApp := func(plan int64, key string) {
		var a struct {
			App app `json:"application"`
		}
		adminCall(t, co, "POST", fmt.Sprintf("/admin/api/accounts/%d/applications.json", signup.Account.ID),
			fmt.Sprintf("name=k%d&plan_id=%d&user_key=%s", plan, plan, key), &a)
		require.Equal(t, key, a.App.UserKey)
	}
	newApp(newsPlan, "news-user-key-0123456789")
	newApp(weatherPlan, "weather-user-key-0123456789")
	var apps struct {
		Applications []struct {
			App app `json:"application"`
		} `json:"applications"`
	}
	adminCall(t, co, "GET", fmt.Sprintf("/admin/api/accounts/%d/applications.json", signup.Account.ID), "", &apps)
	require.Len(t, apps.Applications, 3)

	gwHost, gwPort := gwUpstream(t, "news-instance")
	gw := testenv.FreeAddr(t)
	a := testenv.StartAgent(t, co, "--service", "news", "--address", gwHost, "--port", gwPort, "--gateway-listen", gw,
		"--upstream", "http://"+gwHost+":"+gwPort, "--heartbeat", "300ms", "--ttl", "1s", "--gossip-bind", "127.0.0.1:0", "--", "sleep", "60")
	want := co.Revision(t)
	require.Eventually(t, func() bool { rev, _ := agentComposition(t, a); return rev == want }, 5*time.Second, 20*time.Millisecond)
	gossiped := make(chan []byte, 1)
	// The insider is of news: it holds news's view key too (views travel
	// sealed with it), read where the agent keeps it.
	envelope, err := gossip.NewKeyEnvelope(cachedViewKey(t, a.CacheDir, "news"))
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	insider, err := gossip.Start(ctx, gossip.Config{
		Name: "insider", Bind: "127.0.0.1:0", Join: []string{gossipAddrOf(t, a)}, Cluster: "portolan", Keys: [][]byte{gossipKey},
		Envelope:      envelope,
		Meta:          gossip.Meta{Role: gossip.RoleAgent, Service: "news", InstanceID: "insider"},
		OnComposition: func(_ uint64, doc []byte) { gossiped <- doc },
		Logger:        zerolog.Nop(),
	})
	require.NoError(t, err)
	t.Cleanup(func() { _ = insider.Shutdown() })
	var gossipBytes []byte
	select {
	case gossipBytes = <-gossiped:
	case <-time.After(15 * time.Second):
		t.Fatal("the insider node fetched nothing by gossip")
	}

	// Read as another instance of news would: the view is the service's.
	home, err := client.New(client.Config{Address: co.URL, Token: testenv.AgentToken})
	require.NoError(t, err)
	_, err = home.Register(context.Background(), "news-reader", &registry.Registration{Service: "news", Address: "127.0.0.1", Port: 1})
	require.NoError(t, err)
	view, _, err := home.Composition(context.Background(), "news-reader", 0, 0)
	require.NoError(t, err)
	cache, err := os.ReadFile(filepath.Join(a.CacheDir, agent.CacheFile))
	require.NoError(t, err)
	_, local := agentComposition(t, a)
	localBytes, err := json.Marshal(local)
	require.NoError(t, err)
	for name, b := range map[string][]byte{"GET /v1/composition": view, "cache file": cache, "local API": localBytes, "gossip": gossipBytes} {
		for _, secret := range []string{"s3cret-pass-42", "weather", "Weather", "alice", "news-user-key-0123456789", "weather-user-key-0123456789", co.Token} {
			assert.False(t, bytes.Contains(b, []byte(secret)), "%s holds %q", name, secret)
		}
		for _, ak := range apps.Applications {
			if ak.App.UserKey != "" {
				assert.False(t, bytes.Contains(b, []byte(ak.App.UserKey)), "%s holds a plaintext user_key", name)
			}
		}
	}
	var v registry.SignedView
	require.NoError(t, json.Unmarshal(view, &v))
	assert.Equal(t, "news", v.Audience)
	assert.NotEmpty(t, v.Signature)

	// The gateway still authenticates the application by its key.
	url := "http://" + gw + "/?user_key="
	require.Eventually(t, func() bool { return get(t, url+"news-user-key-0123456789").status == 200 }, 5*time.Second, 20*time.Millisecond)
	assert.Equal(t, 403, get(t, url+"weather-user-key-0123456789").status, "another service's key")
	assert.Equal(t, 403, get(t, url+"nope").status)
}
