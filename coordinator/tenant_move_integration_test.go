package coordinator_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/portolan/portolan/internal/testenv"
)

// portolanCLI runs the portolan binary's command args against co and returns
// its exit code, standard output and standard error.
func portolanCLI(t *testing.T, co *testenv.Coordinator, args ...string) (int, string, string) {
	t.Helper()
	cmd := exec.Command(testenv.Binary(t), append(args, "--home", co.URL, "--token", co.Token)...)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	if err != nil {
		if _, ok := err.(*exec.ExitError); !ok {
			t.Fatalf("run portolan %v: %v", args, err)
		}
	}
	return cmd.ProcessState.ExitCode(), out.String(), errOut.String()
}

// exportYAML is `portolan export -o yaml` of co's composition.
func exportYAML(t *testing.T, co *testenv.Coordinator) string {
	t.Helper()
	code, out, errOut := portolanCLI(t, co, "export", "-o", "yaml")
	require.Equal(t, 0, code, errOut)
	return out
}

// buildRichTenant builds, through co's 3scale API, a composition with one
// of every kind the documents carry: services with metrics, methods, mapping
// rules, proxy settings and a policy chain, a backend and its usage, plans
// with limits, pricing rules and features, account plans (one the default),
// accounts on them with users and applications, and a placement.
func buildRichTenant(t *testing.T, co *testenv.Coordinator) {
	t.Helper()
	const form, js = "application/x-www-form-urlencoded", "application/json"
	put := func(path, contentType, body string) {
		t.Helper()
		got := send(t, co, "PUT", path, contentType, body)
		require.Equal(t, 200, got.status, "PUT %s: %s", path, got.body)
	}
	svc := co.Create(t, "/admin/api/services.json", "name=News&system_name=news&description=The+news+API&backend_version=2&support_email=api%40news.example")
	weather := co.Create(t, "/admin/api/services.json", "name=Weather&system_name=weather")
	put("/admin/api/services/"+svc+"/proxy.json", form, "endpoint=https%3A%2F%2Fnews.example.com&error_auth_failed=Go+away&error_status_auth_failed=401&api_test_path=%2Fhealth")
	put("/admin/api/services/"+svc+"/proxy/policies.json", js,
		`{"policies_config":[{"name":"cors","version":"builtin","configuration":{"allow_origin":"*"},"enabled":true},{"name":"apicast","version":"builtin","configuration":{},"enabled":true}]}`)

	hits := ""
	for _, m := range metricIDs(t, co, "/admin/api/services/"+svc+"/metrics.json") {
		if m.SystemName == "hits" {
			hits = fmt.Sprint(m.ID)
		}
	}
	require.NotEmpty(t, hits)
	bytesMetric := co.Create(t, "/admin/api/services/"+svc+"/metrics.json", "friendly_name=Bytes&system_name=bytes&unit=byte")
	list := co.Create(t, "/admin/api/services/"+svc+"/metrics/"+hits+"/methods.json", "friendly_name=List+articles&system_name=list_articles")
	co.Create(t, "/admin/api/services/"+svc+"/metrics/"+hits+"/methods.json", "friendly_name=Read+article&system_name=read_article")
	co.Create(t, "/admin/api/services/"+svc+"/proxy/mapping_rules.json", "http_method=GET&pattern=%2Farticles%24&metric_id="+list+"&delta=1&last=true")
	co.Create(t, "/admin/api/services/"+svc+"/proxy/mapping_rules.json", "http_method=POST&pattern=%2Fupload&metric_id="+bytesMetric+"&delta=5")

	backend := co.Create(t, "/admin/api/backend_apis.json", "name=Store&system_name=store&private_endpoint=http%3A%2F%2Fstore.internal%3A8080&description=Article+store")
	search := co.Create(t, "/admin/api/backend_apis/"+backend+"/metrics.json", "friendly_name=Search&system_name=search&unit=query")
	co.Create(t, "/admin/api/backend_apis/"+backend+"/mapping_rules.json", "http_method=GET&pattern=%2Fsearch&metric_id="+search+"&delta=1")
	co.Create(t, "/admin/api/services/"+svc+"/backend_usages.json", "backend_api_id="+backend+"&path=%2Fstore")

	sla := co.Create(t, "/admin/api/services/"+svc+"/features.json", "name=SLA&system_name=sla&description=99.9%25+uptime&scope=ApplicationPlan")
	co.Create(t, "/admin/api/services/"+svc+"/features.json", "name=Support&system_name=support&scope=ServicePlan")
	basic := co.Create(t, "/admin/api/services/"+svc+"/application_plans.json", "name=Basic&system_name=basic&state_event=publish")
	gold := co.Create(t, "/admin/api/services/"+svc+"/application_plans.json", "name=Gold&system_name=gold&setup_fee=10&cost_per_month=9.99&trial_period_days=7&approval_required=true")
	co.Create(t, "/admin/api/services/"+weather+"/application_plans.json", "name=Free&system_name=free")
	co.Create(t, "/admin/api/application_plans/"+basic+"/metrics/"+hits+"/limits.json", "period=day&value=1000")
	co.Create(t, "/admin/api/application_plans/"+gold+"/metrics/"+hits+"/limits.json", "period=month&value=100000")
	co.Create(t, "/admin/api/application_plans/"+gold+"/metrics/"+list+"/limits.json", "period=minute&value=60")
	co.Create(t, "/admin/api/application_plans/"+gold+"/metrics/"+search+"/limits.json", "period=hour&value=10")
	co.Create(t, "/admin/api/application_plans/"+gold+"/metrics/"+bytesMetric+"/pricing_rules.json", "min=1&max=500&cost_per_unit=0.001")
	co.Create(t, "/admin/api/application_plans/"+gold+"/metrics/"+bytesMetric+"/pricing_rules.json", "min=501&cost_per_unit=0.0005")
	co.Create(t, "/admin/api/application_plans/"+gold+"/features.json", "feature_id="+sla)

	starter := co.Create(t, "/admin/api/account_plans.json", "name=Starter&system_name=starter")
	put("/admin/api/account_plans/"+starter+"/default.json", form, "")
	partners := co.Create(t, "/admin/api/account_plans.json", "name=Partners&system_name=partners&approval_required=true&state_event=publish")
	acme := co.Create(t, "/admin/api/signup.json", "org_name=ACME&username=bob&email=bob%40acme.example&password=secret123&city=Madrid&country=ES")
	put("/admin/api/accounts/"+acme+"/change_plan.json", form, "plan_id="+partners)
	co.Create(t, "/admin/api/accounts/"+acme+"/users.json", "username=alice&email=alice%40acme.example&password=secret123")
	reader := co.Create(t, "/admin/api/accounts/"+acme+"/applications.json", "plan_id="+gold+"&name=Reader&description=reads+the+news&redirect_url=https%3A%2F%2Facme.example%2Fcb")
	co.Create(t, "/admin/api/accounts/"+acme+"/applications/"+reader+"/referrer_filters.json", "referrer_filter=*.acme.example")
	co.Create(t, "/admin/api/accounts/"+acme+"/applications.json", "plan_id="+basic+"&name=Writer")
	globex := co.Create(t, "/admin/api/signup.json", "org_name=Globex&username=carol&email=carol%40globex.example")
	co.Create(t, "/admin/api/accounts/"+globex+"/applications.json", "plan_id="+basic+"&name=Dashboard")

	placement := send(t, co, "POST", "/admin/portolan/placements", js,
		fmt.Sprintf(`{"name":"news-gold","selector":{"service":"newsapi","labels":{"tier":"gold"}},"service_id":%s,"plan_ids":[%s]}`, svc, gold))
	require.Equal(t, 201, placement.status, placement.body)
}

// metricIDs lists the metrics at path.
func metricIDs(t *testing.T, co *testenv.Coordinator, path string) []struct {
	ID         int64  `json:"id"`
	SystemName string `json:"system_name"`
} {
	t.Helper()
	got := send(t, co, "GET", path, "", "")
	require.Equal(t, 200, got.status, got.body)
	var list struct {
		Metrics []struct {
			Metric struct {
				ID         int64  `json:"id"`
				SystemName string `json:"system_name"`
			} `json:"metric"`
		} `json:"metrics"`
	}
	require.NoError(t, json.Unmarshal([]byte(got.body), &list))
	out := make([]struct {
		ID         int64  `json:"id"`
		SystemName string `json:"system_name"`
	}, 0, len(list.Metrics))
	for _, m := range list.Metrics {
		out = append(out, m.Metric)
	}
	return out
}

// moveTenant exports from's composition, applies it to the empty to, and
// requires to's export to be from's byte for byte and a diff of from's
// export against to to find nothing.
func moveTenant(t *testing.T, from, to *testenv.Coordinator) string {
	t.Helper()
	exported := exportYAML(t, from)
	file := filepath.Join(t.TempDir(), "tenant.yaml")
	require.NoError(t, os.WriteFile(file, []byte(exported), 0o600))

	code, out, errOut := portolanCLI(t, to, "apply", "-f", file)
	require.Equal(t, 0, code, "%s%s", out, errOut)
	assert.Regexp(t, `applied: revision \d+\n$`, out)

	assert.Equal(t, exported, exportYAML(t, to), "the export of the home applied to is the export applied")
	code, out, errOut = portolanCLI(t, to, "diff", "--prune", "-f", file)
	assert.Equal(t, 0, code, "diff finds nothing: %s%s", out, errOut)
	return exported
}

// Issue 15 point 5: a tenant built through the 3scale API on one home,
// exported, and applied to an empty home exports the same documents, byte
// for byte (ids are not in the format).
func TestTenantRoundTripsThroughExportAndApply(t *testing.T) {
	a := testenv.StartCoordinator(t)
	buildRichTenant(t, a)
	b := testenv.StartCoordinator(t)
	exported := moveTenant(t, a, b)
	for _, want := range []string{"kind: Service", "kind: Backend", "kind: AccountPlan", "kind: Account", "kind: Placement",
		"plan: partners", "plan: starter", "default: true",
		"list_articles", "pricing_rules:", "referrer_filters:", "username: alice", "features:"} {
		assert.Contains(t, exported, want, "the export holds the whole tenant")
	}
}

// Moving a tenant from the embedded bbolt store to a Consul-backed home and
// back is one export and one apply each way.
func TestTenantMovesBetweenBoltAndConsul(t *testing.T) {
	consul := testenv.StartConsul(t)
	bolt := testenv.StartCoordinator(t)
	buildRichTenant(t, bolt)
	onConsul := testenv.StartCoordinator(t, "--consul", consul.URL, "--consul-prefix", "moved/")
	exported := moveTenant(t, bolt, onConsul)

	backToBolt := testenv.StartCoordinator(t)
	assert.Equal(t, exported, moveTenant(t, onConsul, backToBolt))
}

// An application's referrer filters in a document are applied by value: a
// changed list shows in diff and apply writes it, so the export says it.
func TestApplyManagesReferrerFilters(t *testing.T) {
	co := testenv.StartCoordinator(t)
	buildRichTenant(t, co)
	exported := exportYAML(t, co)
	const was = "    referrer_filters:\n      - '*.acme.example'\n"
	require.Contains(t, exported, was)
	edited := strings.Replace(exported, was, "    referrer_filters:\n      - api.acme.example\n      - '*.acme.example'\n", 1)
	file := filepath.Join(t.TempDir(), "tenant.yaml")
	require.NoError(t, os.WriteFile(file, []byte(edited), 0o600))

	code, out, errOut := portolanCLI(t, co, "diff", "-f", file)
	assert.Equal(t, 1, code, errOut)
	assert.Contains(t, out, "    referrer_filters: [\"*.acme.example\"] → [\"*.acme.example\",\"api.acme.example\"]\n")
	assert.Contains(t, out, "0 to create, 1 to update, 0 to delete\n")
	code, out, errOut = portolanCLI(t, co, "apply", "-f", file)
	require.Equal(t, 0, code, "%s%s", out, errOut)
	assert.Equal(t, edited, exportYAML(t, co))
	code, out, errOut = portolanCLI(t, co, "diff", "-f", file)
	assert.Equal(t, 0, code, "%s%s", out, errOut)
}
