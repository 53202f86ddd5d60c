package e2e

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/portolan/portolan/internal/pki"
	"github.com/portolan/portolan/registry/jointoken"
)

// httpsHint is what Go's server answers, with a 400, to plain HTTP on its
// TLS port.
const httpsHint = "Client sent an HTTP request to an HTTPS server"

// withGateway gives an agent a gateway on :8080 in front of its app,
// published on the host's loopback.
func withGateway(_ string, o *RunOpts) {
	o.Env = append(o.Env, "PORTOLAN_AGENT_GATEWAY_LISTEN=0.0.0.0:8080", "PORTOLAN_AGENT_UPSTREAM=http://127.0.0.1:3000")
	o.Publish = append(o.Publish, "127.0.0.1::8080")
}

// Trust across hosts, as a user sets it up: home on a private network with
// its default TLS (auto), two agents given home's https:// URL and one
// scoped join token, nothing else, serving gateway traffic. Home's port
// speaks TLS only; a client that does not pin home's CA is refused; and an
// agent sent to an impostor with a CA of its own refuses it before saying
// anything, so the impostor never gets its token nor a registration.
func TestJoinTokenIsAllAnAgentNeeds(t *testing.T) {
	pools := map[string]string{"gw-1": "basic", "gw-2": "basic"}
	c := newCluster(t, pools, withGateway)
	token := c.tokens["basic"]

	// The token carries the pin home logged; the agents were told nothing
	// else of home (no CA file or pin, no gossip key) and registered
	// through it.
	tok, err := jointoken.Parse(token)
	if err != nil {
		t.Fatal(err)
	}
	if tok.Pin != c.pin {
		t.Fatalf("the join token pins %s, home logged %s", tok.Pin, c.pin)
	}
	for h, a := range c.agents {
		var env []string
		if err := json.Unmarshal([]byte(a.Inspect("{{json .Config.Env}}")), &env); err != nil {
			t.Fatal(err)
		}
		for _, kv := range env {
			for _, banned := range []string{"PORTOLAN_AGENT_CA_", "PORTOLAN_AGENT_GOSSIP_KEY", "PORTOLAN_AGENT_TLS_"} {
				if strings.HasPrefix(kv, banned) {
					t.Errorf("%s was given %s", h, strings.SplitN(kv, "=", 2)[0])
				}
			}
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	infos, err := c.home(adminToken).JoinTokens(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, info := range infos {
		if info.ID == tok.ID && (info.Instances != 2 || info.Service != "news" || info.Labels["pool"] != "basic") {
			t.Errorf("join token %s: %+v, want service news, pool=basic, 2 instances", info.ID, info)
		}
	}

	gatewayTrafficFlows(t, c)
	homeSpeaksTLSOnly(t, c)
	impostorIsRefused(t, c, token)
}

// gatewayTrafficFlows makes a user_key service with a plan and an
// application through the 3scale API, then sends requests through each
// agent's gateway: the application's key is answered 200 by a news
// instance, a wrong key 403 by the gateway.
func gatewayTrafficFlows(t *testing.T, c *cluster) {
	t.Helper()
	key := c.newsApplication()
	for _, h := range sortedKeys(map[string]string{"gw-1": "", "gw-2": ""}) {
		addr, err := c.agents[h].Port("8080/tcp")
		if err != nil {
			t.Fatal(err)
		}
		gw := "http://" + addr
		var servedBy string
		waitFor(t, 15*time.Second, 100*time.Millisecond, h+"'s gateway answering the key 200", func() (bool, string) {
			code, body, by, err := get(gw + "/articles?user_key=" + key)
			servedBy = by
			return code == http.StatusOK, fmt.Sprintf("%d %q %v", code, body, err)
		})
		if servedBy != "gw-1" && servedBy != "gw-2" {
			t.Errorf("%s: a 200 served by %q, want a news instance", h, servedBy)
		}
		code, body, _, err := get(gw + "/articles?user_key=0123456789abcdef")
		if err != nil || code != http.StatusForbidden || body != "Authentication failed\n" {
			t.Errorf("%s with a wrong key: %d %q %v, want 403 Authentication failed", h, code, body, err)
		}
		t.Logf("%s: 200 served by %s with the key, 403 with a wrong one", h, servedBy)
	}
}

// newsApplication creates, through the 3scale API, the user_key service
// news with a mapping rule counting hits on GET /, a plan, and an account
// signed up on it, and returns its application's user_key.
func (c *cluster) newsApplication() string {
	c.t.Helper()
	var svc struct {
		Service struct{ ID int64 } `json:"service"`
	}
	c.admin(http.MethodPost, "/admin/api/services.json", "name=News&system_name=news&backend_version=1", http.StatusCreated, &svc)
	var metrics struct {
		Metrics []struct {
			Metric struct {
				ID         int64
				SystemName string `json:"system_name"`
			} `json:"metric"`
		} `json:"metrics"`
	}
	c.admin(http.MethodGet, fmt.Sprintf("/admin/api/services/%d/metrics.json", svc.Service.ID), "", http.StatusOK, &metrics)
	if len(metrics.Metrics) == 0 || metrics.Metrics[0].Metric.SystemName != "hits" {
		c.t.Fatalf("service news: metrics %+v, want hits first", metrics.Metrics)
	}
	c.admin(http.MethodPost, fmt.Sprintf("/admin/api/services/%d/proxy/mapping_rules.json", svc.Service.ID),
		fmt.Sprintf("http_method=GET&pattern=/&delta=1&metric_id=%d", metrics.Metrics[0].Metric.ID), http.StatusCreated, nil)
	var plan struct {
		Plan struct{ ID int64 } `json:"application_plan"`
	}
	c.admin(http.MethodPost, fmt.Sprintf("/admin/api/services/%d/application_plans.json", svc.Service.ID), "name=Basic", http.StatusCreated, &plan)
	var signup struct {
		Account struct{ ID int64 } `json:"account"`
	}
	c.admin(http.MethodPost, "/admin/api/signup.json",
		fmt.Sprintf("org_name=Acme&username=alice&email=alice@example.com&password=s3cret-pass&application_plan_id=%d", plan.Plan.ID),
		http.StatusCreated, &signup)
	var apps struct {
		Applications []struct {
			App struct {
				UserKey string `json:"user_key"`
			} `json:"application"`
		} `json:"applications"`
	}
	c.admin(http.MethodGet, fmt.Sprintf("/admin/api/accounts/%d/applications.json", signup.Account.ID), "", http.StatusOK, &apps)
	if len(apps.Applications) != 1 || apps.Applications[0].App.UserKey == "" {
		c.t.Fatalf("the signup's applications: %+v, want one with a user_key", apps.Applications)
	}
	return apps.Applications[0].App.UserKey
}

// get is a GET through a gateway: status, body and the news instance that
// answered (its X-Served-By header).
func get(url string) (code int, body, servedBy string, err error) {
	hc := &http.Client{Timeout: 5 * time.Second}
	resp, err := hc.Get(url)
	if err != nil {
		return 0, "", "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), resp.Header.Get("X-Served-By"), err
}

// homeSpeaksTLSOnly holds that the port the agents talk to home on speaks
// TLS and nothing else, without a packet capture: plain HTTP to it from the
// host gets Go's TLS server's 400; from inside the private network, at the
// address the agents use, the CLI will not send its token in plain HTTP at
// all; a TLS client that trusts the system's roots, or another CA's pin, is
// refused.
func homeSpeaksTLSOnly(t *testing.T, c *cluster) {
	t.Helper()
	addr, err := c.co.Port("7070/tcp")
	if err != nil {
		t.Fatal(err)
	}
	code, body, _, err := get("http://" + addr + "/v1/map")
	if err != nil || code != http.StatusBadRequest || !strings.Contains(body, httpsHint) {
		t.Errorf("plain HTTP to home: %d %q %v, want 400 %q", code, body, err, httpsHint)
	}
	// A client will not send a token in plain HTTP off loopback: it
	// refuses before anything leaves the container.
	const inClear = "would send the token in clear: use https://coordinator:7070"
	out, err := c.agents["gw-1"].Exec("/portolan", "map", "--home", "http://coordinator:7070", "--token", adminToken)
	if err == nil || !strings.Contains(err.Error(), inClear) {
		t.Errorf("plain HTTP to http://coordinator:7070 from an agent's container: %v %s, want refused with %q", err, out, inClear)
	}

	// The system's roots: home's CA is not among them. The name is one its
	// certificate holds, so that the authority is what fails.
	roots := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{
		TLSClientConfig: &tls.Config{MinVersion: tls.VersionTLS12, ServerName: "localhost"},
	}}
	_, err = roots.Get("https://" + addr + "/metrics")
	var unknown x509.UnknownAuthorityError
	if !errors.As(err, &unknown) {
		t.Errorf("a TLS client with the system's roots: %v, want an unknown authority", err)
	}
	// Another CA's pin.
	other, err := pki.NewAuthority("not home", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	_, err = pinnedClient(pki.PinOf(other.Cert)).Get("https://" + addr + "/metrics")
	if !errors.Is(err, pki.ErrPinMismatch) {
		t.Errorf("a TLS client pinning another CA: %v, want %v", err, pki.ErrPinMismatch)
	}
}

// impostorToken is the impostor's admin access token.
const impostorToken = "impostor-admin-token"

// impostorIsRefused runs a fourth container, an impostor home with a CA of
// its own (a `portolan coordinator --tls on` anyone can start), and an agent
// given the real join token and the impostor's URL. The agent refuses the
// impostor's certificate, its log naming both pins, and aborts each
// handshake with a bad-certificate alert, which the impostor logs: the
// connection ends before any request, so the token never leaves the agent
// (an agent that did not pin would complete the handshake and send it).
// Nothing registers, at the impostor or at home.
func impostorIsRefused(t *testing.T, c *cluster, token string) {
	t.Helper()
	imp := c.env.Run(RunOpts{
		Name: "impostor", Aliases: []string{"impostor"}, Image: c.env.Images.Portolan,
		Publish: []string{"127.0.0.1::7070"},
		Args: []string{"--log-level", "debug", "coordinator", "--listen", "0.0.0.0:7070", "--tls", "on", "--data-dir", "/data",
			"--access-token", impostorToken},
	})
	impPin := waitPin(t, imp)
	if impPin == c.pin {
		t.Fatalf("the impostor has home's CA %s", impPin)
	}
	rogue := c.env.Run(RunOpts{Name: "rogue", Image: c.env.Images.NewsAPI, Env: agentEnv("https://impostor:7070", token, "basic")})
	refusal := waitLogLine(t, rogue, "the agent refusing the impostor's CA", func(line string) bool {
		return strings.Contains(line, pki.ErrPinMismatch.Error())
	})
	if !strings.Contains(refusal, c.pin.String()) || !strings.Contains(refusal, impPin.String()) {
		t.Errorf("the agent's refusal names not both the pinned CA %s and the impostor's %s: %s", c.pin, impPin, refusal)
	}
	t.Logf("the agent: %s", refusal)
	rogueIP := rogue.IP()
	aborted := waitLogLine(t, imp, "the impostor logging the agent's aborted handshake", func(line string) bool {
		return strings.Contains(line, "TLS handshake error from "+rogueIP+":") && strings.Contains(line, "bad certificate")
	})
	t.Logf("the impostor: %s", aborted)

	impAddr, err := imp.Port("7070/tcp")
	if err != nil {
		t.Fatal(err)
	}
	m, err := getMap(pinnedClient(impPin), "https://"+impAddr, impostorToken)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range m.Services {
		if len(s.Instances) > 0 {
			t.Errorf("the impostor registered %s: %+v", s.Name, s.Instances)
		}
	}
	if ins := instancesOf(c.mustMap(), "rogue"); len(ins) != 0 {
		t.Errorf("the rogue agent is on home's map: %s", describe(ins))
	}
}

// waitLogLine waits for a line of co's log that match accepts, and
// returns it.
func waitLogLine(t testing.TB, co *Container, what string, match func(string) bool) string {
	t.Helper()
	var found string
	waitFor(t, 20*time.Second, 200*time.Millisecond, what, func() (bool, string) {
		logs, err := co.Logs(0)
		if err != nil {
			return false, err.Error()
		}
		for _, line := range strings.Split(logs, "\n") {
			if match(line) {
				found = line
				return true, ""
			}
		}
		return false, "no such line in the log of " + co.Name
	})
	return found
}
