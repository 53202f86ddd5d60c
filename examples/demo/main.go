// Command demo is what `make demo` runs: it starts a coordinator on a temporary
// data dir serving HTTPS with a CA of its own (--tls on), imports the news API from its OpenAPI spec (`portolan import
// openapi`: a service with methods, mapping rules and ActiveDocs), then starts
// an agent wrapping the demo news API whose image brings the API's own
// documents (--composition examples/newsapi/portolan: two plans with limits)
// and prints the plans home learned; adds through the 3scale Account
// Management API a signed-up consumer with an application on the Basic plan
// (5 hits a minute), and prints it all; then it starts two more agents of the
// same image (home changes nothing), each with its gateway in front (two in
// the basic pool, one in a premium pool placed on the premium plan), each
// joined with a join token scoped to its pool that also pins home's CA, and
// prints the service map. Last, it calls the
// news API through a gateway with the consumer's user_key until the plan's
// limit answers 429, waits for the agent to report the usage, prints home's
// figures for the application, and stops cleanly. Interrupted (Ctrl-C, or
// SIGTERM to it alone), it stops what it started, removes its data dir
// (home's CA key, the tokens) and exits with code 130.
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/portolan/portolan/internal/loopback"
	"github.com/portolan/portolan/internal/pki"
	homeclient "github.com/portolan/portolan/registry/client"
)

func main() {
	bin := flag.String("bin", "bin/portolan", "the portolan binary (full build): the coordinator and the CLI")
	agentBin := flag.String("agent-bin", "bin/portolan-agent", "the agent build of portolan, which the agents run, as in app images")
	news := flag.String("newsapi", "bin/newsapi", "the demo news API binary")
	spec := flag.String("spec", "examples/newsapi/openapi.yaml", "the news API's OpenAPI spec, imported with portolan import openapi")
	composition := flag.String("composition", "examples/newsapi/portolan", "the news API image's own documents, which the agents bring to home")
	flag.Parse()
	// Ctrl-C (SIGINT to the whole foreground job) or a SIGTERM to the demo
	// alone ends the run, which then stops its agents and coordinator and
	// removes its data dir (its CA key and tokens); a second signal kills.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	context.AfterFunc(ctx, stop)
	err := run(ctx, *bin, *agentBin, *news, *spec, *composition)
	// Read before stop, which cancels ctx too: a run that failed on its
	// own is not one that was interrupted.
	interrupted := ctx.Err() != nil
	stop()
	if err != nil && interrupted {
		fmt.Fprintln(os.Stderr, "demo: interrupted: the agents and the coordinator are stopped and their data removed")
		os.Exit(130)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "demo:", err)
		os.Exit(1)
	}
}

// run runs the demo until it ends or ctx does, and then stops every
// process it started and removes its data dir.
func run(ctx context.Context, bin, agentBin, news, spec, composition string) error {
	dir, err := os.MkdirTemp("", "portolan-demo-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	addr, err := loopback.FreeAddr()
	if err != nil {
		return err
	}
	const token = "demo-access-token"
	step("Starting a coordinator on https://%s with a CA of its own (data in %s)", addr, dir)
	cmd := exec.Command(bin, "--log-format", "console", "--log-level", "warn", "coordinator", "--listen", addr, "--data-dir", dir,
		"--access-token", token, "--tls", "on")
	cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start coordinator: %w", err)
	}
	// exited is closed once the coordinator has exited, with its Wait
	// error in exitErr: both the start and the stop below wait on it.
	exited, exitErr := make(chan struct{}), error(nil)
	go func() { exitErr = cmd.Wait(); close(exited) }()
	defer func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			<-exited // gone before its data dir is removed
		}
	}()
	caFile := filepath.Join(dir, "tls", pki.CACertFile)
	api := &client{ctx: ctx, base: "https://" + addr, token: token, caFile: caFile}
	if err := api.waitReady(exited, &exitErr); err != nil {
		return err
	}
	fmt.Printf("  its CA: %s (the CLI below trusts it with --ca-file)\n", caFile)

	step("Importing the news API from its OpenAPI spec (portolan import openapi %s --service news)", spec)
	imp := exec.CommandContext(ctx, bin, "import", "openapi", spec, "--service", "news", "--home", api.base, "--token", token, "--ca-file", caFile)
	imp.Stdout, imp.Stderr = os.Stdout, os.Stderr
	if err := imp.Run(); err != nil {
		return fmt.Errorf("portolan import openapi: %w", err)
	}

	svc := api.find("/admin/api/services.json", "services", "service", "news")
	if api.err != nil {
		return api.err
	}

	step("Creating a join token per pool (portolan token create --service news --label pool=P): it can only register, and carries the pin of home's CA")
	joinTokens := map[string]string{}
	for _, pool := range []string{"basic", "premium"} {
		out, err := exec.CommandContext(ctx, bin, "token", "create", "--home", api.base, "--token", token, "--ca-file", caFile,
			"--service", "news", "--label", "pool="+pool, "--max-instances", "2", "--ttl", "1h", "--description", "demo "+pool+" pool").Output()
		if err != nil {
			return fmt.Errorf("portolan token create: %w", err)
		}
		joinTokens[pool] = strings.TrimSpace(string(out))
		fmt.Printf("  pool=%s: %s\n", pool, redactJoinToken(joinTokens[pool]))
	}

	var agents []*exec.Cmd
	var gateways []gatewayAgent
	defer func() {
		for _, a := range agents {
			_ = a.Process.Signal(syscall.SIGTERM)
		}
		for _, a := range agents {
			stopAgent(a)
		}
	}()
	// Every agent wraps the news API with its gateway in front, joined with
	// nothing but its pool's token, and brings the image's own documents
	// (--composition): the news API's plans and limits.
	startAgent := func(i int, pool string) error {
		appAddr, err := loopback.FreeAddr()
		if err != nil {
			return err
		}
		apiAddr, err := loopback.FreeAddr()
		if err != nil {
			return err
		}
		gwAddr, err := loopback.FreeAddr()
		if err != nil {
			return err
		}
		_, port, _ := net.SplitHostPort(appAddr)
		name := fmt.Sprintf("news-%d", i+1)
		a := exec.Command(agentBin, "--log-level", "warn", "agent",
			"--home", api.base, "--token", joinTokens[pool], "--service", "news", "--address", "127.0.0.1", "--port", port,
			"--label", "pool="+pool, "--api", apiAddr, "--placement-file", dir+"/"+name+".placement.json",
			"--cache-dir", dir+"/"+name+".cache", "--gateway-listen", gwAddr, "--upstream", "http://"+appAddr,
			"--check-http", "http://"+appAddr+"/health", "--check-interval", "500ms", "--heartbeat", "1s",
			"--composition", composition,
			"--", news, "--listen", appAddr, "--name", name)
		a.Stdout, a.Stderr = os.Stdout, os.Stderr
		if err := a.Start(); err != nil {
			return fmt.Errorf("start agent: %w", err)
		}
		agents = append(agents, a)
		gateways = append(gateways, gatewayAgent{name: name, gateway: gwAddr})
		fmt.Printf("  agent %s: news API on %s, gateway on %s, pool=%s, local agent API on %s\n", name, appAddr, gwAddr, pool, apiAddr)
		return nil
	}

	step("Starting the first agent: its image brings the news API's plans and limits (--composition %s)", composition)
	if err := startAgent(0, "basic"); err != nil {
		return err
	}
	rev, err := api.waitPlans(svc, "basic", "premium")
	if err != nil {
		return err
	}
	fmt.Printf("  home applied them as revision %d; the plans home learned from the image:\n", rev)
	api.printPlans(svc)
	basic := api.find("/admin/api/services/"+svc+"/application_plans.json", "plans", "application_plan", "basic")
	premium := api.find("/admin/api/services/"+svc+"/application_plans.json", "plans", "application_plan", "premium")

	step("Adding a consumer through the 3scale Account Management API")
	acct := api.post("/admin/api/signup.json", "account", url.Values{"org_name": {"Acme Readers"}, "username": {"alice"}, "email": {"alice@example.com"}, "password": {"correct-horse"}})
	appID := api.post("/admin/api/accounts/"+acct+"/applications.json", "application", url.Values{"plan_id": {basic}, "name": {"Acme reader"}, "description": {"Reads the news"}})
	if api.err != nil {
		return api.err
	}
	app, err := api.application(acct, appID)
	if err != nil {
		return err
	}

	step("The composition, as the API serves it")
	if err := api.print(svc, acct); err != nil {
		return err
	}

	step("Placing two pools: pool=basic instances serve Basic, pool=premium instances serve Premium")
	for _, p := range []struct{ pool, plan string }{{"basic", basic}, {"premium", premium}} {
		doc := fmt.Sprintf(`{"name":"%s-pool","selector":{"service":"news","labels":{"pool":"%s"}},"service_id":%s,"plan_ids":[%s]}`, p.pool, p.pool, svc, p.plan)
		if err := api.placement(p.pool+"-pool", doc); err != nil {
			return err
		}
	}

	step("Starting two more agents of the same image: they bring the same documents, and home changes nothing")
	before, err := api.revision()
	if err != nil {
		return err
	}
	for i, pool := range []string{"basic", "premium"} {
		if err := startAgent(i+1, pool); err != nil {
			return err
		}
	}
	if err := api.waitPassing(token, 3); err != nil { // the map is read with the access token
		return err
	}
	if after, err := api.revision(); err == nil {
		fmt.Printf("  home's composition revision: %d before them, %d now\n", before, after)
	}

	step("The service map (portolan map)")
	for _, format := range []string{"table", "tree"} {
		m := exec.CommandContext(ctx, bin, "map", "--home", api.base, "--token", token, "--ca-file", caFile, "-o", format)
		m.Stdout, m.Stderr = os.Stdout, os.Stderr
		if err := m.Run(); err != nil {
			return fmt.Errorf("portolan map: %w", err)
		}
		fmt.Println()
	}

	if err := limitDemo(ctx, api, svc, app, gateways[0]); err != nil {
		return err
	}
	step("Stopping the agents and the coordinator")
	return nil
}

// placement creates a placement through Portolan's own admin API.
func (c *client) placement(name, doc string) error {
	req, err := http.NewRequestWithContext(c.ctx, http.MethodPost, c.base+"/admin/portolan/placements", strings.NewReader(doc))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.SetBasicAuth("", c.token)
	resp, err := c.http().Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		b, _ := io.ReadAll(resp.Body)
		return fmt.Errorf("create placement: %s: %s", resp.Status, b)
	}
	fmt.Println("  created placement", name)
	return nil
}

// waitPassing waits until n instances are passing on the map, read with
// the access token.
func (c *client) waitPassing(accessToken string, n int) error {
	home, err := homeclient.New(homeclient.Config{Address: c.base, Token: accessToken, TLS: homeclient.TLS{CAFile: c.caFile}})
	if err != nil {
		return err
	}
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		if m, _, err := home.Map(c.ctx, 0, 0, ""); err == nil {
			passing := 0
			for _, s := range m.Services {
				passing += len(s.Passing())
			}
			if passing >= n {
				return nil
			}
		}
		if err := pause(c.ctx, 100*time.Millisecond); err != nil {
			return err
		}
	}
	return fmt.Errorf("%d instances not passing on the map within 20s", n)
}

type client struct {
	ctx         context.Context // the run's: every request and wait ends with it
	base, token string
	caFile      string // home's CA
	hc          *http.Client
	err         error
}

// http is a client trusting home's CA (caFile), made once the file exists.
func (c *client) http() *http.Client {
	if c.hc == nil {
		cfg, err := pki.CAPoolClientConfig(c.caFile)
		if err != nil {
			return &http.Client{Transport: failing{err}}
		}
		c.hc = &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: cfg}}
	}
	return c.hc
}

// failing is a transport that fails every request with err.
type failing struct{ err error }

func (f failing) RoundTrip(*http.Request) (*http.Response, error) { return nil, f.err }

// redactJoinToken shows a join token's id and pin, not its secret.
func redactJoinToken(tok string) string {
	parts := strings.Split(tok, ".")
	if len(parts) != 4 {
		return "(a join token)"
	}
	return parts[0] + "." + parts[1] + ".<secret>." + parts[3][:16] + "..."
}

func (c *client) do(method, path string, form url.Values) (map[string]any, error) {
	if c.err != nil {
		return nil, c.err
	}
	req, err := http.NewRequestWithContext(c.ctx, method, c.base+path, strings.NewReader(form.Encode()))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth("", c.token)
	resp, err := c.http().Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode >= 300 {
		return nil, fmt.Errorf("%s %s: %s: %s", method, path, resp.Status, body)
	}
	var out map[string]any
	if err := json.Unmarshal(body, &out); err != nil {
		return nil, fmt.Errorf("%s %s: %w", method, path, err)
	}
	return out, nil
}

// post creates an entity and returns its id.
func (c *client) post(path, key string, form url.Values) string {
	out, err := c.do("POST", path, form)
	if err != nil {
		c.err = err
		return ""
	}
	obj, _ := out[key].(map[string]any)
	id, _ := obj["id"].(float64)
	fmt.Printf("  created %-16s %-6.0f %s\n", key, id, label(obj))
	return fmt.Sprintf("%.0f", id)
}

// find returns the id of the item of a list with the given system_name.
func (c *client) find(path, listKey, itemKey, systemName string) string {
	for _, it := range c.items(path, listKey, itemKey) {
		if it["system_name"] == systemName {
			return fmt.Sprintf("%.0f", it["id"].(float64))
		}
	}
	if c.err == nil {
		c.err = fmt.Errorf("GET %s: no %s %s", path, itemKey, systemName)
	}
	return ""
}

func (c *client) items(path, listKey, itemKey string) []map[string]any {
	out, err := c.do("GET", path, nil)
	if err != nil {
		c.err = err
		return nil
	}
	raw, _ := out[listKey].([]any)
	var items []map[string]any
	for _, r := range raw {
		if m, ok := r.(map[string]any)[itemKey].(map[string]any); ok {
			items = append(items, m)
		}
	}
	return items
}

func label(obj map[string]any) string {
	for _, k := range []string{"system_name", "name", "org_name", "pattern", "period"} {
		if v, ok := obj[k].(string); ok && v != "" {
			if k == "period" {
				return fmt.Sprintf("%v per %s (metric %v)", obj["value"], v, obj["metric_id"])
			}
			return v
		}
	}
	return ""
}

func (c *client) print(svc, acct string) error {
	w := bufio.NewWriter(os.Stdout)
	defer w.Flush()
	for _, s := range c.items("/admin/api/services.json", "services", "service") {
		fmt.Fprintf(w, "service %v %q (system_name %v, backend_version %v)\n", s["id"], s["name"], s["system_name"], s["backend_version"])
	}
	fmt.Fprintln(w, "  metrics and methods:")
	for _, m := range c.items("/admin/api/services/"+svc+"/metrics.json", "metrics", "metric") {
		fmt.Fprintf(w, "    %-4v %-14v %v\n", m["id"], m["system_name"], m["friendly_name"])
	}
	fmt.Fprintln(w, "  mapping rules:")
	for _, r := range c.items("/admin/api/services/"+svc+"/proxy/mapping_rules.json", "mapping_rules", "mapping_rule") {
		fmt.Fprintf(w, "    %-6v %-18v -> metric %v (+%v)\n", r["http_method"], r["pattern"], r["metric_id"], r["delta"])
	}
	c.writePlans(w, svc)
	fmt.Fprintln(w, "developer accounts:")
	for _, a := range c.items("/admin/api/accounts.json", "accounts", "account") {
		fmt.Fprintf(w, "  %v %v (%v)\n", a["id"], a["org_name"], a["state"])
	}
	for _, app := range c.items("/admin/api/accounts/"+acct+"/applications.json", "applications", "application") {
		fmt.Fprintf(w, "    application %v %q on plan %v, user_key %v, state %v\n", app["id"], app["name"], app["plan_id"], app["user_key"], app["state"])
	}
	return c.err
}

// waitReady waits until the coordinator answers, or exits (exited closed,
// its Wait error in *exitErr), or ctx ends.
func (c *client) waitReady(exited <-chan struct{}, exitErr *error) error {
	ctx, cancel := context.WithTimeout(c.ctx, 15*time.Second)
	defer cancel()
	for {
		if _, err := os.Stat(c.caFile); err == nil {
			if _, err := c.metrics(); err == nil {
				return nil
			}
		}
		select {
		case <-exited:
			return fmt.Errorf("coordinator exited before it answered (%v): its output above says why", *exitErr)
		case <-ctx.Done():
			if c.ctx.Err() != nil {
				return c.ctx.Err()
			}
			return errors.New("coordinator did not answer within 15s")
		case <-time.After(50 * time.Millisecond):
		}
	}
}

func step(format string, args ...any) {
	fmt.Printf("\n==> "+format+"\n", args...)
}
