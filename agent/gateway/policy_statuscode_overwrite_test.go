package gateway

import (
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httptrace"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// statusUpstream answers a path /NNN with status NNN and the body "from
// NNN", any other path with 200 and "app".
func statusUpstream(t *testing.T) *httptest.Server {
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if code, err := strconv.Atoi(strings.TrimPrefix(r.URL.Path, "/")); err == nil {
			w.WriteHeader(code)
			_, _ = io.WriteString(w, "from "+strconv.Itoa(code))
			return
		}
		_, _ = io.WriteString(w, "app")
	}))
	t.Cleanup(s.Close)
	return s
}

const statusMapConf = `{"http_statuses":[{"upstream":200,"apicast":201},{"upstream":403,"apicast":401}]}`

// APIcast's apicast-policy-statuscode-overwrite.t, "HTTP CODES policy placed
// before apicast" and "... placed after apicast": with 200 → 201 and 403 →
// 401 ("Configures a 1-1 mapping for upstream's http codes"), the upstream's
// 200, 403 and 401 reach the client as 201, 401 and 401, wherever the
// policy is in the chain; the body stays the upstream's.
func TestPolicyStatuscodeOverwriteMapsUpstreamStatuses(t *testing.T) {
	up := statusUpstream(t)
	el := `{"name":"statuscode_overwrite","version":"builtin","enabled":true,"configuration":` + statusMapConf + `}`
	apicast := `{"name":"apicast","version":"builtin","enabled":true,"configuration":{}}`
	for name, chain := range map[string]string{"before apicast": "[" + el + "," + apicast + "]", "after apicast": "[" + apicast + "," + el + "]"} {
		cg := startRouteGatewayTo(t, chain, nil, up.URL)
		a := call(t, "GET", cg.base+"/?user_key="+cg.key, nil)
		assert.Equal(t, http.StatusCreated, a.status, name)
		assert.Equal(t, "app", a.body, name)
		a = call(t, "GET", cg.base+"/403?user_key="+cg.key, nil)
		assert.Equal(t, http.StatusUnauthorized, a.status, name)
		assert.Equal(t, "from 403", a.body, name)
		a = call(t, "GET", cg.base+"/401?user_key="+cg.key, nil)
		assert.Equal(t, http.StatusUnauthorized, a.status, name+": a status not mapped is kept")
		assert.Equal(t, 2.0, policyEvents(cg.reg, "statuscode_overwrite", "overwritten"), name)
	}
}

// The policy runs in the header filter, which APIcast's location runs for
// what its own rewrite and access phases answer as well: the gateway's 403
// "Authentication parameters missing" goes out as 401; its 404 "No Mapping
// Rule matched", not mapped, stays 404.
func TestPolicyStatuscodeOverwriteAppliesToTheGatewaysOwnAnswers(t *testing.T) {
	cg := startChainGateway(t, `[{"name":"statuscode_overwrite","version":"builtin","enabled":true,"configuration":`+statusMapConf+`},
		{"name":"apicast","version":"builtin","enabled":true,"configuration":{}}]`)
	a := call(t, "GET", cg.base+"/", nil)
	assert.Equal(t, http.StatusUnauthorized, a.status)
	assert.Equal(t, "Authentication parameters missing\n", a.body)
	a = call(t, "POST", cg.base+"/?user_key="+cg.key, nil)
	assert.Equal(t, http.StatusNotFound, a.status)
	assert.Equal(t, "No Mapping Rule matched\n", a.body)
	assert.Empty(t, cg.got)
}

// A 204 or 304 has no body in HTTP (nginx sends them header only): an
// upstream 200 with a body mapped to 204 goes out without the body or its
// Content-Length, and the kept-alive connection serves the next request.
// The schema's maximum, 600, is sent as it is.
func TestPolicyStatuscodeOverwriteToNoContentSendsNoBody(t *testing.T) {
	up := statusUpstream(t)
	cg := startRouteGatewayTo(t, `[{"name":"statuscode_overwrite","version":"builtin","enabled":true,"configuration":
		{"http_statuses":[{"upstream":200,"apicast":204},{"upstream":418,"apicast":600}]}},
		{"name":"apicast","version":"builtin","enabled":true,"configuration":{}}]`, nil, up.URL)
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 1}}
	t.Cleanup(client.CloseIdleConnections)
	for i := range 3 {
		reused := false
		req, err := http.NewRequest(http.MethodGet, cg.base+"/?user_key="+cg.key, nil)
		require.NoError(t, err)
		req = req.WithContext(httptrace.WithClientTrace(req.Context(), &httptrace.ClientTrace{
			GotConn: func(ci httptrace.GotConnInfo) { reused = ci.Reused }}))
		resp, err := client.Do(req)
		require.NoError(t, err, "request %d on the kept-alive connection", i+1)
		assert.Equal(t, i > 0, reused, "request %d: the connection is kept alive", i+1)
		b, err := io.ReadAll(resp.Body)
		require.NoError(t, err)
		require.NoError(t, resp.Body.Close())
		assert.Equal(t, http.StatusNoContent, resp.StatusCode)
		assert.Empty(t, b)
		assert.Empty(t, resp.Header.Get("Content-Length"))
	}
	resp, err := client.Get(cg.base + "/418?user_key=" + cg.key)
	require.NoError(t, err)
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	require.NoError(t, resp.Body.Close())
	assert.Equal(t, 600, resp.StatusCode)
	assert.Equal(t, "from 418", string(b))
}

// The schema: upstream and apicast are required integers from 100 to 600.
// The gateway also refuses what cannot make a response: an apicast status
// below 200 (informational) and an upstream 101 (switched protocols).
func TestPolicyStatuscodeOverwriteInvalidConfigurationFailsClosed(t *testing.T) {
	for conf, field := range map[string]string{
		`{"http_statuses":[{"apicast":201}]}`:                   "http_statuses[0].upstream",
		`{"http_statuses":[{"upstream":200}]}`:                  "http_statuses[0].apicast",
		`{"http_statuses":[{"upstream":1,"apicast":201}]}`:      "http_statuses[0].upstream",
		`{"http_statuses":[{"upstream":200,"apicast":601}]}`:    "http_statuses[0].apicast",
		`{"http_statuses":[{"upstream":"200","apicast":201}]}`:  "http_statuses.upstream",
		`{"http_statuses":[{"upstream":200,"apicast":100}]}`:    "http_statuses[0].apicast",
		`{"http_statuses":[{"upstream":101,"apicast":200}]}`:    "http_statuses[0].upstream",
		`{"http_statuses":{"upstream":200,"apicast":201}}`:      "http_statuses",
		`{"http_statuses":[{"upstream":200.5,"apicast":201}]}`:  "http_statuses.upstream",
		`{"http_statuses":[{"upstream":200,"apicast":201},{}]}`: "http_statuses[1].upstream",
	} {
		cg := startChainGateway(t, `[{"name":"statuscode_overwrite","version":"builtin","enabled":true,"configuration":`+conf+`},
			{"name":"apicast","version":"builtin","enabled":true,"configuration":{}}]`)
		a := call(t, "GET", cg.base+"/?user_key="+cg.key, nil)
		assert.Equal(t, http.StatusServiceUnavailable, a.status, conf)
		assert.Contains(t, a.body, "configuration."+field+":", conf)
		assert.Empty(t, cg.got, conf)
	}
}
