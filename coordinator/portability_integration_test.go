package coordinator_test

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/portolan/portolan/composition"
	"github.com/portolan/portolan/internal/testenv"
)

// buildComposition makes a small but complete composition through the API.
func buildComposition(t *testing.T, co *testenv.Coordinator) {
	t.Helper()
	const form = "application/x-www-form-urlencoded"
	post := func(path, body string) map[string]map[string]any {
		got := send(t, co, "POST", path, form, body)
		require.Equal(t, 201, got.status, "%s: %s", path, got.body)
		var out map[string]map[string]any
		require.NoError(t, json.Unmarshal([]byte(got.body), &out))
		return out
	}
	id := func(m map[string]map[string]any, key string) string {
		v, ok := m[key]["id"].(float64)
		require.True(t, ok, "no %s.id in %v", key, m)
		return jsonNumber(v)
	}
	svc := id(post("/admin/api/services.json", "name=News&backend_version=1"), "service")
	// Two services, so that remapped ids differ between the homes.
	post("/admin/api/services.json", "name=Weather")
	metrics := send(t, co, "GET", "/admin/api/services/"+svc+"/metrics.json", "", "")
	require.Equal(t, 200, metrics.status, metrics.body)
	var ml struct {
		Metrics []struct {
			Metric struct {
				ID         float64 `json:"id"`
				SystemName string  `json:"system_name"`
			} `json:"metric"`
		} `json:"metrics"`
	}
	require.NoError(t, json.Unmarshal([]byte(metrics.body), &ml))
	require.NotEmpty(t, ml.Metrics)
	hits := jsonNumber(ml.Metrics[0].Metric.ID)
	method := id(post("/admin/api/services/"+svc+"/metrics/"+hits+"/methods.json", "friendly_name=Get+article&system_name=get_article"), "method")
	post("/admin/api/services/"+svc+"/proxy/mapping_rules.json", "http_method=GET&pattern=/articles/{id}$&metric_id="+method+"&delta=1")
	plan := id(post("/admin/api/services/"+svc+"/application_plans.json", "name=Basic&state_event=publish"), "application_plan")
	post("/admin/api/application_plans/"+plan+"/metrics/"+hits+"/limits.json", "period=minute&value=5")
	acct := post("/admin/api/signup.json", "org_name=Acme&username=alice&email=alice@example.com&password=secret123")
	acctID := id(acct, "account")
	post("/admin/api/accounts/"+acctID+"/applications.json", "plan_id="+plan+"&name=Reader&description=reads")
}

func jsonNumber(f float64) string {
	b, _ := json.Marshal(int64(f))
	return string(b)
}

func exportDoc(t *testing.T, co *testenv.Coordinator, secrets bool) *composition.Document {
	t.Helper()
	path := "/admin/portolan/composition"
	if secrets {
		path += "?include_secrets=true"
	}
	got := send(t, co, "GET", path, "", "")
	require.Equal(t, 200, got.status, got.body)
	var d composition.Document
	require.NoError(t, json.Unmarshal([]byte(got.body), &d))
	return &d
}

// Export from one coordinator, import into a fresh one with the CLI: the two
// compositions are equal.
func TestExportImportMovesTheWholeComposition(t *testing.T) {
	if testing.Short() {
		t.Skip("integration: starts processes")
	}
	a := testenv.StartCoordinator(t)
	b := testenv.StartCoordinator(t)
	buildComposition(t, a)
	// b already holds something, so ids must be remapped.
	require.Equal(t, 201, send(t, b, "POST", "/admin/api/services.json", "application/x-www-form-urlencoded", "name=Existing").status)

	for _, secrets := range []bool{true, false} {
		file := filepath.Join(t.TempDir(), "composition.json")
		args := []string{"export", "--home", a.URL, "--token", a.Token}
		if secrets {
			args = append(args, "--include-secrets")
		}
		out, err := exec.Command(testenv.Binary(t), args...).Output()
		require.NoError(t, err)
		require.NoError(t, os.WriteFile(file, out, 0o600))

		c := testenv.StartCoordinator(t)
		res, err := exec.Command(testenv.Binary(t), "import", "composition", file, "--home", c.URL, "--token", c.Token).CombinedOutput()
		require.NoError(t, err, string(res))
		assert.Contains(t, string(res), `"imported"`)

		wantDoc, err := exportDoc(t, a, secrets).Canonical()
		require.NoError(t, err)
		gotDoc, err := exportDoc(t, c, secrets).Canonical()
		require.NoError(t, err)
		assert.Equal(t, wantDoc, gotDoc, "secrets=%v", secrets)
		if secrets {
			assert.NotEmpty(t, gotDoc.Applications[0].UserKey, "the application keeps its key")
			assert.Equal(t, exportDoc(t, a, true).Applications[0].UserKey, exportDoc(t, c, true).Applications[0].UserKey)
		}
	}

	// Import into the non-empty b: ids remapped, references kept.
	file := filepath.Join(t.TempDir(), "composition.json")
	out, err := exec.Command(testenv.Binary(t), "export", "--home", a.URL, "--token", a.Token, "--include-secrets").Output()
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(file, out, 0o600))
	res, err := exec.Command(testenv.Binary(t), "import", "composition", file, "--home", b.URL, "--token", b.Token).CombinedOutput()
	require.NoError(t, err, string(res))
	got := exportDoc(t, b, true)
	assert.Len(t, got.Services, 3)
	ids := map[int64]bool{}
	for _, s := range got.Services {
		assert.False(t, ids[s.ID], "duplicate id %d", s.ID)
		ids[s.ID] = true
	}

	// A broken document is refused whole, naming the problem.
	bad := filepath.Join(t.TempDir(), "bad.json")
	require.NoError(t, os.WriteFile(bad, []byte(`{"format":"portolan.composition/v1","mapping_rules":[{"id":5,"owner_type":"Service","owner_id":77,"metric_id":78,"http_method":"GET","pattern":"/x","delta":1}]}`), 0o600))
	before := b.Revision(t)
	res, err = exec.Command(testenv.Binary(t), "import", "composition", bad, "--home", b.URL, "--token", b.Token).CombinedOutput()
	require.Error(t, err)
	assert.Contains(t, string(res), "owner_id")
	assert.Equal(t, before, b.Revision(t))
	// A wrong token is refused.
	res, err = exec.Command(testenv.Binary(t), "export", "--home", a.URL, "--token", "nope").CombinedOutput()
	require.Error(t, err)
	assert.Contains(t, string(res), "403")
}
