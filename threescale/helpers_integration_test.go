package threescale_test

import (
	"encoding/json"
	"encoding/xml"
	"errors"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/3scale/3scale-porta-go-client/client"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/portolan/portolan/internal/testenv"
)

// Helpers shared by the integration tests, which drive a coordinator with
// the official 3scale client and, for what the client has no method for (bad
// input, other formats), with plain HTTP calls.

// rawCall sends body as contentType ("" for none) with the coordinator's
// token as Basic auth and returns the status and body.
func rawCall(t *testing.T, co *testenv.Coordinator, method, path, contentType, body string) (int, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, co.URL+path, strings.NewReader(body))
	require.NoError(t, err)
	req.SetBasicAuth("", co.Token)
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, b
}

// formCall sends form parameters the way the client does: in the query for
// GET and DELETE, else form-encoded in the body.
func formCall(t *testing.T, co *testenv.Coordinator, method, path string, form url.Values) (int, []byte) {
	t.Helper()
	if method == http.MethodGet || method == http.MethodDelete {
		if len(form) > 0 {
			path += "?" + form.Encode()
		}
		return rawCall(t, co, method, path, "", "")
	}
	return rawCall(t, co, method, path, "application/x-www-form-urlencoded", form.Encode())
}

// decodeCall sends a form call that must answer status and decodes the body
// (JSON or XML by the path's suffix) into v.
func decodeCall(t *testing.T, co *testenv.Coordinator, method, path string, form url.Values, status int, v any) {
	t.Helper()
	code, body := formCall(t, co, method, path, form)
	require.Equal(t, status, code, "%s %s: %s", method, path, body)
	if strings.HasSuffix(path, ".xml") {
		require.NoError(t, xml.Unmarshal(body, v), string(body))
	} else {
		require.NoError(t, json.Unmarshal(body, v), string(body))
	}
}

// fieldErrors requires a 422 answer and decodes its field errors.
func fieldErrors(t *testing.T, status int, body []byte) map[string][]string {
	t.Helper()
	require.Equal(t, http.StatusUnprocessableEntity, status, "%s", body)
	var out struct {
		Errors map[string][]string `json:"errors"`
	}
	require.NoError(t, json.Unmarshal(body, &out), "%s", body)
	return out.Errors
}

// apiErr requires err to be the client's ApiErr with code, its message
// containing each of want, and returns it.
func apiErr(t *testing.T, err error, code int, want ...string) client.ApiErr {
	t.Helper()
	require.Error(t, err)
	var e client.ApiErr
	require.True(t, errors.As(err, &e), "not an ApiErr: %v", err)
	assert.Equal(t, code, e.Code(), err.Error())
	for _, w := range want {
		assert.Contains(t, e.Error(), w)
	}
	return e
}

// parseTime requires a 3scale timestamp.
func parseTime(t *testing.T, s string) time.Time {
	t.Helper()
	ts, err := time.Parse(time.RFC3339, s)
	require.NoError(t, err, "timestamp %q", s)
	return ts
}

// recentTime requires a 3scale timestamp close to now.
func recentTime(t *testing.T, s string) time.Time {
	t.Helper()
	ts := parseTime(t, s)
	assert.WithinDuration(t, time.Now(), ts, 5*time.Minute)
	return ts
}

// createProduct creates a product (params may be nil) and returns its id.
func createProduct(t *testing.T, cl *client.ThreeScaleClient, name string, params client.Params) int64 {
	t.Helper()
	p, err := cl.CreateProduct(name, params)
	require.NoError(t, err)
	require.NotZero(t, p.Element.ID)
	return p.Element.ID
}

func createPlan(t *testing.T, cl *client.ThreeScaleClient, productID int64, params client.Params) client.ApplicationPlanItem {
	t.Helper()
	p, err := cl.CreateApplicationPlan(productID, params)
	require.NoError(t, err)
	require.NotZero(t, p.Element.ID)
	return p.Element
}

// findHits requires the hits metric among metrics.
func findHits(t *testing.T, metrics []client.MetricJSON) client.MetricItem {
	t.Helper()
	for _, m := range metrics {
		if m.Element.SystemName == "hits" {
			return m.Element
		}
	}
	t.Fatalf("no hits metric in %+v", metrics)
	return client.MetricItem{}
}

// productHits returns the id of a product's hits metric.
func productHits(t *testing.T, cl *client.ThreeScaleClient, productID int64) int64 {
	t.Helper()
	list, err := cl.ListProductMetrics(productID)
	require.NoError(t, err)
	return findHits(t, list.Metrics).ID
}

func findMetric(metrics []client.MetricJSON, id int64) (client.MetricItem, bool) {
	for _, m := range metrics {
		if m.Element.ID == id {
			return m.Element, true
		}
	}
	return client.MetricItem{}, false
}

// sharedFile reads a file of the real 3scale definitions kept beside the
// project (../shared/3scale).
func sharedFile(t *testing.T, rel string) []byte {
	t.Helper()
	dir := filepath.Join("..", "..", "shared", "3scale")
	if _, err := os.Stat(dir); err != nil {
		t.Skipf("the 3scale reference files are not at %s (CI always has them): %v", dir, err)
	}
	b, err := os.ReadFile(filepath.Join(dir, rel))
	require.NoError(t, err)
	return b
}

func s64(id int64) string { return strconv.FormatInt(id, 10) }
