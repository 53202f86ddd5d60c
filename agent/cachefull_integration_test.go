package agent_test

import (
	"bytes"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/portolan/portolan/agent"
	"github.com/portolan/portolan/internal/testenv"
)

// A suspension made at home reaches the gateway while the agent's cache dir
// cannot take the composition (a full disk): the gateway enforces the
// newest revision, not the last one the disk could keep; and the revision
// is cached once the disk can take it.
func TestSuspensionTakesEffectWhileTheCacheCannotBeWritten(t *testing.T) {
	co := testenv.StartCoordinator(t)
	sid, _ := countedService(t, co, "News", "news")
	var p struct {
		Plan struct{ ID int64 } `json:"application_plan"`
	}
	adminCall(t, co, "POST", fmt.Sprintf("/admin/api/services/%d/application_plans.json", sid), "name=Basic", &p)
	acct, key := signUp(t, co, p.Plan.ID)
	var apps struct {
		Applications []struct {
			App struct{ ID int64 } `json:"application"`
		} `json:"applications"`
	}
	adminCall(t, co, "GET", fmt.Sprintf("/admin/api/accounts/%d/applications.json", acct), "", &apps)
	require.Len(t, apps.Applications, 1)

	host, port := gwUpstream(t, "news-instance")
	gw := testenv.FreeAddr(t)
	a := testenv.StartAgent(t, co, "--service", "news", "--address", host, "--port", port,
		"--gateway-listen", gw, "--upstream", "http://"+net.JoinHostPort(host, port),
		"--heartbeat", "300ms", "--ttl", "1s", "--", "sleep", "120")
	url := "http://" + gw + "/articles?user_key=" + key
	require.Eventually(t, func() bool { return get(t, url) == reply{200, "news-instance"} }, 10*time.Second, 20*time.Millisecond)

	// The cache file can no longer be replaced, as on a full disk.
	cacheFile := filepath.Join(a.CacheDir, agent.CacheFile)
	require.NoError(t, os.Remove(cacheFile))
	require.NoError(t, os.MkdirAll(filepath.Join(cacheFile, "x"), 0o700))

	adminCall(t, co, "PUT", fmt.Sprintf("/admin/api/accounts/%d/applications/%d/suspend.json", acct, apps.Applications[0].App.ID), "", nil)
	require.Eventually(t, func() bool { return get(t, url) == reply{403, "Authentication failed\n"} }, 10*time.Second, 20*time.Millisecond,
		"the suspension should be enforced though the cache dir cannot take its revision")
	require.True(t, a.Output.Contains(t, "composition in force but not cached"), "the agent says the revision in force is not cached")

	require.NoError(t, os.RemoveAll(cacheFile)) // room again
	want := []byte(`"revision":` + strconv.FormatUint(co.Revision(t), 10))
	require.Eventually(t, func() bool {
		b, err := os.ReadFile(cacheFile)
		return err == nil && bytes.Contains(b, want)
	}, 15*time.Second, 100*time.Millisecond, "the revision in force should be cached once the cache dir can take it")
}
