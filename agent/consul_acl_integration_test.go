package agent_test

import (
	"net/http"
	"os"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	consul "github.com/hashicorp/consul/api"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/portolan/portolan/internal/testenv"
)

// Consul's ACL answers these tests rely on were seen from the real Consul
// 1.15 (.tools/consul, started with default_policy = "deny"); the refusals'
// words are hashicorp/consul acl/errors.go's ("Permission denied", "ACL not
// found"), answered 403 by agent/http.go.

// readmePolicies returns the Consul ACL policies README.md documents under
// "### Consul ACLs": the coordinator's (its hcl block) and the agent's of
// --service news. The tests run with those texts, so the README cannot
// drift from what the flows need.
func readmePolicies(t *testing.T) (coordinator, agent string) {
	t.Helper()
	b, err := os.ReadFile("../README.md")
	require.NoError(t, err)
	_, sec, ok := strings.Cut(string(b), "\n### Consul ACLs\n")
	require.True(t, ok, "README.md has a ### Consul ACLs section")
	sec, _, _ = strings.Cut(sec, "\n#")
	m := regexp.MustCompile("(?s)```hcl\n(.*?)```").FindStringSubmatch(sec)
	require.NotNil(t, m, "the section shows the coordinator's policy in an hcl block")
	agent = regexp.MustCompile(`service "news" \{ policy = "write" \}`).FindString(sec)
	require.NotEmpty(t, agent, "the section shows the agent's policy for --service news")
	return m[1], agent
}

// aclConsul starts Consul with ACLs and makes the README's tokens: the
// coordinators' and the news agents'.
func aclConsul(t *testing.T) (cs *testenv.Consul, coordinatorToken, newsToken string) {
	t.Helper()
	coordinator, agent := readmePolicies(t)
	cs = testenv.StartConsulACL(t)
	return cs, cs.Token(t, "portolan-coordinator", coordinator), cs.Token(t, "portolan-agent-news", agent)
}

// noSecretsIn asserts that no process output holds a Consul token.
func noSecretsIn(t *testing.T, outputs map[string]string, tokens ...string) {
	t.Helper()
	for name, out := range outputs {
		for _, tok := range tokens {
			assert.NotContains(t, out, tok, "%s logged a Consul token", name)
		}
	}
}

// With exactly the README's policies every Consul flow works: two
// coordinators write and read one composition in KV, one of them takes the
// webhook lock (session), each draws the instances the catalog holds, and an
// agent registers, keeps its TTL check passing and deregisters on exit. No
// process is refused anything, and none logs a token.
func TestConsulACLReadmePoliciesRunEveryFlow(t *testing.T) {
	t.Parallel()
	cs, coTok, newsTok := aclConsul(t)
	admin := cs.Client(t)
	co1 := testenv.StartCoordinator(t, "--consul", cs.URL, "--consul-token", coTok)
	co2 := testenv.StartCoordinator(t, "--consul", cs.URL, "--consul-token", coTok)

	sid := co1.Create(t, "/admin/api/services.json", "name=News&system_name=news")
	require.Eventually(t, func() bool { return co2.Revision(t) == co1.Revision(t) },
		10*time.Second, 20*time.Millisecond, "the second coordinator reads the first one's write")
	co2.Create(t, "/admin/api/services/"+sid+"/application_plans.json", "name=Basic")
	require.Eventually(t, func() bool { return co1.Revision(t) == co2.Revision(t) },
		10*time.Second, 20*time.Millisecond, "and the first the second's")

	require.Eventually(t, func() bool {
		p, _, err := admin.KV().Get("portolan/webhooks/leader", nil)
		return err == nil && p != nil && p.Session != ""
	}, 15*time.Second, 50*time.Millisecond, "a coordinator holds the webhook lock:\n%s\n%s", co1.Output, co2.Output)

	for _, co := range []*testenv.Coordinator{co1, co2} {
		resp, err := http.Get(co.URL + "/health/ready") // asks Consul for its leader: no permission needed
		require.NoError(t, err)
		resp.Body.Close()
		assert.Equal(t, http.StatusOK, resp.StatusCode, "the coordinator is ready")
	}

	a := testenv.StartAgent(t, co1, "--consul", cs.URL, "--consul-token", newsTok, "--service", "news",
		"--address", "127.0.0.1", "--port", "3000", "--heartbeat", "200ms", "--ttl", "1s", "--", "sleep", "300")
	id := a.ID()
	require.Eventually(t, func() bool { return checkStatus(t, admin, "news", id) == consul.HealthPassing },
		10*time.Second, 20*time.Millisecond, "registered and passing:\n%s", a.Output)
	time.Sleep(2500 * time.Millisecond) // several TTLs: the updates go through
	assert.Equal(t, consul.HealthPassing, checkStatus(t, admin, "news", id), "the TTL check stays passing")
	// co2 knows the instance from the catalog alone (it phones co1).
	require.Eventually(t, func() bool {
		_, ok := testenv.FindInstance(co2.Map(t), id)
		return ok
	}, 10*time.Second, 50*time.Millisecond, "the other coordinator reads the catalog:\n%s", co2.Output)

	a.Signal(syscall.SIGTERM)
	_, exited := a.Wait(15 * time.Second)
	require.True(t, exited)
	_, ok := catalogEntry(t, admin, "news", id)
	assert.False(t, ok, "deregistered on exit:\n%s", a.Output)

	outputs := map[string]string{"coordinator 1": co1.Output.String(), "coordinator 2": co2.Output.String(), "agent": a.Output.String()}
	for name, out := range outputs {
		assert.NotContains(t, out, "Permission denied", "%s was refused something", name)
		assert.NotContains(t, out, "ACL not found", name)
	}
	noSecretsIn(t, outputs, coTok, newsTok)
}

// The agent's token holds only its own service: Consul refuses it the
// composition's KV and another service's registration.
func TestConsulACLAgentTokenIsRefusedTheCompositionAndOtherServices(t *testing.T) {
	t.Parallel()
	cs, coTok, newsTok := aclConsul(t)
	admin := cs.Client(t)
	co := testenv.StartCoordinator(t, "--consul", cs.URL, "--consul-token", coTok)
	co.Create(t, "/admin/api/services.json", "name=News&system_name=news")
	billingTok := cs.Token(t, "portolan-agent-billing", `service "billing" { policy = "write" }`)
	billing := testenv.StartAgentAt(t, "", "--consul", cs.URL, "--consul-token", billingTok, "--service", "billing",
		"--address", "127.0.0.1", "--port", "4000", "--heartbeat", "200ms", "--ttl", "1s", "--", "sleep", "300")
	bid := billing.ID()
	require.Eventually(t, func() bool { return checkStatus(t, admin, "billing", bid) == consul.HealthPassing },
		10*time.Second, 20*time.Millisecond, "billing registered:\n%s", billing.Output)

	news := cs.ClientWithToken(t, newsTok)
	_, _, err := news.KV().Get("portolan/composition/meta", nil)
	require.Error(t, err, "the agent's token reads the composition's meta key")
	assert.Contains(t, err.Error(), "lacks permission 'key:read'")
	pairs, qm, err := news.KV().List("portolan/", nil)
	require.NoError(t, err)
	assert.Empty(t, pairs, "the agent's token lists the composition")
	assert.True(t, qm.ResultsFilteredByACLs)
	_, err = news.KV().Put(&consul.KVPair{Key: "portolan/composition/meta", Value: []byte(`{}`)}, nil)
	require.Error(t, err, "the agent's token writes the composition")

	err = news.Agent().ServiceDeregister(bid)
	require.Error(t, err, "the news agent's token deregisters billing's instance")
	assert.Contains(t, err.Error(), `lacks permission 'service:write' on "billing"`)
	err = news.Agent().ServiceRegister(&consul.AgentServiceRegistration{ID: bid, Name: "billing", Port: 1})
	require.Error(t, err, "the news agent's token registers over billing's instance")
	err = news.Agent().UpdateTTL("service:"+bid, "taken over", consul.HealthCritical)
	require.Error(t, err, "the news agent's token fails billing's check")
	_, ok := catalogEntry(t, admin, "billing", bid)
	assert.True(t, ok, "billing's instance is still registered")
	assert.Equal(t, consul.HealthPassing, checkStatus(t, admin, "billing", bid))
}

// A token Consul refuses is logged with the permission missing and what to
// do, and never itself: an agent whose token is another service's, and one
// whose token Consul does not know.
func TestConsulACLRefusedAgentTokenNamesTheMissingRule(t *testing.T) {
	t.Parallel()
	cs := testenv.StartConsulACL(t)
	billingTok := cs.Token(t, "portolan-agent-billing", `service "billing" { policy = "write" }`)
	unknownTok := "00000000-0000-4000-8000-000000000000"
	wrong := testenv.StartAgentAt(t, "", "--consul", cs.URL, "--consul-token", billingTok, "--service", "news",
		"--address", "127.0.0.1", "--port", "3000", "--heartbeat", "200ms", "--", "sleep", "300")
	unknown := testenv.StartAgentAt(t, "", "--consul", cs.URL, "--consul-token", unknownTok, "--service", "news",
		"--address", "127.0.0.1", "--port", "3001", "--heartbeat", "200ms", "--", "sleep", "300")
	require.Eventually(t, func() bool { return strings.Contains(wrong.Output.String(), "consul register failed") },
		10*time.Second, 20*time.Millisecond, "the refused registration is logged:\n%s", wrong.Output)
	out := wrong.Output.String()
	assert.Contains(t, out, `lacks permission 'service:write' on \"news\"`, "Consul's words name the permission")
	assert.Contains(t, out, `service \"news\" { policy = \"write\" }`, "the rule to add")
	assert.Contains(t, out, "--consul-token")

	require.Eventually(t, func() bool { return strings.Contains(unknown.Output.String(), "consul register failed") },
		10*time.Second, 20*time.Millisecond, "the unknown token is logged:\n%s", unknown.Output)
	assert.Contains(t, unknown.Output.String(), "does not know the agent's token")
	assert.Contains(t, unknown.Output.String(), "check --consul-token")

	// The instances run on without Consul: their commands keep running.
	for _, a := range []*testenv.Agent{wrong, unknown} {
		_, ok := a.Self()
		assert.True(t, ok, "the agent's local API answers")
	}
	noSecretsIn(t, map[string]string{"agent (billing's token)": out, "agent (unknown token)": unknown.Output.String()},
		billingTok, unknownTok)
}

// A coordinator whose token may read the prefix but not write it answers a
// write 503, not 409: a refusal is no other coordinator's write, and a
// retry cannot succeed. Its log names the permission and the rule to add.
func TestConsulACLReadOnlyCoordinatorTokenRefusesWritesWith503(t *testing.T) {
	t.Parallel()
	cs := testenv.StartConsulACL(t)
	ro := cs.Token(t, "portolan-read-only", `key_prefix "portolan/" { policy = "read" }
session_prefix "" { policy = "write" }
service_prefix "" { policy = "read" }
node_prefix "" { policy = "read" }`)
	co := testenv.StartCoordinator(t, "--consul", cs.URL, "--consul-token", ro)
	req, err := http.NewRequest(http.MethodPost, co.URL+"/admin/api/services.json", strings.NewReader("name=News"))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth("", co.Token)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusServiceUnavailable, resp.StatusCode)
	require.Eventually(t, func() bool { return strings.Contains(co.Output.String(), "answered a server error") },
		5*time.Second, 20*time.Millisecond, "the refusal is logged:\n%s", co.Output)
	var line string
	for _, l := range strings.Split(co.Output.String(), "\n") {
		if strings.Contains(l, "answered a server error") {
			line = l
		}
	}
	assert.Contains(t, line, `lacks permission 'key:write'`, "Consul's words name the permission")
	assert.Contains(t, line, `key_prefix \"portolan/\" { policy = \"write\" }`, "the rule to add")
	assert.Contains(t, line, "--consul-token")
	noSecretsIn(t, map[string]string{"coordinator": co.Output.String()}, ro)
}

// A coordinator whose token lacks the session rule, or the prefix's
// counters, says which rule to add where the webhook lock and the shared
// usage counters fail, as the composition store does: another
// coordinator's counters hidden by the ACLs would let through what it
// counted.
func TestConsulACLMissingRulesAreNamedForTheLockAndTheCounters(t *testing.T) {
	t.Parallel()
	cs := testenv.StartConsulACL(t)
	_, err := cs.Client(t).KV().Put(&consul.KVPair{Key: "portolan/usage/1/another-coordinator", Value: []byte("{}")}, nil)
	require.NoError(t, err)
	tok := cs.Token(t, "portolan-no-session", `key "portolan/composition/meta" { policy = "write" }
key_prefix "portolan/composition/" { policy = "write" }
service_prefix "" { policy = "read" }
node_prefix "" { policy = "read" }`)
	co := testenv.StartCoordinator(t, "--consul", cs.URL, "--consul-token", tok)
	co.Create(t, "/admin/api/services.json", "name=News&system_name=news")
	co.Output.Contains(t, "webhook lock", `session_prefix \"\" { policy = \"write\" }`,
		"counters from Consul", `key_prefix \"portolan/\" { policy = \"write\" }`, "check --consul-token")
	noSecretsIn(t, map[string]string{"coordinator": co.Output.String()}, tok)
}
