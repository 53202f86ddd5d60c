package registry

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// In-process checks of the handler; http_integration_test.go runs the same
// API against a real coordinator process.

func serve(t *testing.T, h http.Handler, method, path, token, body string) (int, http.Header, string) {
	t.Helper()
	req := httptest.NewRequest(method, path, strings.NewReader(body))
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	b, err := io.ReadAll(rec.Result().Body)
	require.NoError(t, err)
	return rec.Code, rec.Header(), string(b)
}

func TestHandlerInProcess(t *testing.T) {
	f := newFixture(t)
	h := f.r.Handler(Access{BootstrapToken: "tok"})

	code, _, body := serve(t, h, "PUT", "/v1/instances/a", "tok",
		`{"service":"news","address":"10.0.0.1","port":80,"ttl":"3s","labels":{"pool":"gold"}}`)
	require.Equal(t, http.StatusOK, code, body)
	var reply RegisterReply
	require.NoError(t, json.Unmarshal([]byte(body), &reply))
	assert.Equal(t, Duration(3*time.Second), reply.TTL, "the agent's TTL, as a duration string")
	assert.Equal(t, Duration(time.Second), reply.HeartbeatInterval)
	assert.Contains(t, body, `"ttl":"3s"`)
	assert.Contains(t, body, `"plans":[]`)
	credA := reply.Credential
	require.NotEmpty(t, credA, "registration issues the instance its credential")

	code, _, body = serve(t, h, "PUT", "/v1/instances/b", "tok",
		`{"service":"news","address":"10.0.0.2","ttl":4000000000}`)
	require.Equal(t, http.StatusOK, code, body)
	assert.Contains(t, body, `"ttl":"4s"`, "nanoseconds are accepted too")
	require.NoError(t, json.Unmarshal([]byte(body), &reply))
	credB := reply.Credential

	code, _, body = serve(t, h, "PUT", "/v1/instances/c", "tok", `{"service":"news","address":"10.0.0.2","ttl":true}`)
	assert.Equal(t, http.StatusBadRequest, code)
	assert.Contains(t, body, "ttl: ")

	code, _, body = serve(t, h, "PUT", "/v1/instances/a/heartbeat", credA, `{"status":"critical","output":"down"}`)
	require.Equal(t, http.StatusOK, code, body)
	assert.Equal(t, StatusCritical, f.status(t, "a"))

	code, _, body = serve(t, h, "PUT", "/v1/instances/a/drain", credA, "")
	require.Equal(t, http.StatusOK, code, body)
	assert.JSONEq(t, `{"id":"a","status":"draining"}`, body)

	code, hdr, body := serve(t, h, "GET", "/v1/map?service=news&index=0", credB, "")
	require.Equal(t, http.StatusOK, code, body)
	var m Map
	require.NoError(t, json.Unmarshal([]byte(body), &m))
	assert.Equal(t, hdr.Get(IndexHeader), jsonNumber(m.Index))
	require.Len(t, m.Services, 1)
	assert.Len(t, m.Services[0].Instances, 2)

	code, _, body = serve(t, h, "DELETE", "/v1/instances/a", credA, "")
	require.Equal(t, http.StatusOK, code, body)
	code, _, body = serve(t, h, "DELETE", "/v1/instances/a", credA, "")
	assert.Equal(t, http.StatusNotFound, code, "the credential went with the instance: register again")
	assert.JSONEq(t, `{"error":"unknown instance: register again"}`, body)

	code, _, body = serve(t, h, "PUT", "/v1/instances/b/heartbeat", credB, `{"status":"passing"} x`)
	assert.Equal(t, http.StatusBadRequest, code)
	assert.Contains(t, body, "after the JSON object")

	code, _, body = serve(t, h, "PUT", "/v1/instances/b/heartbeat", credB, `{"status":"passing"}`+strings.Repeat(" ", MaxBodyBytes))
	assert.Equal(t, http.StatusRequestEntityTooLarge, code, "trailing bytes count against the limit too")
	assert.Contains(t, body, "65536")

	code, hdr, _ = serve(t, h, "GET", "/v1/map", "", "")
	assert.Equal(t, http.StatusUnauthorized, code)
	assert.Equal(t, `Bearer realm="portolan"`, hdr.Get("WWW-Authenticate"))
	code, hdr, _ = serve(t, h, "GET", "/v1/map", "nope", "")
	assert.Equal(t, http.StatusUnauthorized, code)
	assert.Equal(t, `Bearer realm="portolan", error="invalid_token"`, hdr.Get("WWW-Authenticate"))

	code, _, _ = serve(t, h, "GET", "/v1/map", "tok", "")
	assert.Equal(t, http.StatusForbidden, code, "the bootstrap token only registers")

	code, _, _ = serve(t, f.r.Handler(Access{}), "PUT", "/v1/instances/c", "tok", `{"service":"news","address":"10.0.0.3"}`)
	assert.Equal(t, http.StatusUnauthorized, code, "without a bootstrap token it registers nothing")
}

func jsonNumber(n uint64) string {
	b, _ := json.Marshal(n)
	return string(b)
}

func TestBlockingParams(t *testing.T) {
	get := func(q string) (uint64, bool, time.Duration, error) {
		return blockingParams(httptest.NewRequest("GET", "/v1/map"+q, nil))
	}
	idx, blocking, wait, err := get("")
	require.NoError(t, err)
	assert.False(t, blocking)
	assert.Zero(t, idx)
	assert.GreaterOrEqual(t, wait, DefaultWait)
	assert.LessOrEqual(t, wait, DefaultWait+DefaultWait/16)

	idx, blocking, wait, err = get("?index=42&wait=30s")
	require.NoError(t, err)
	assert.True(t, blocking)
	assert.Equal(t, uint64(42), idx)
	assert.GreaterOrEqual(t, wait, 30*time.Second)
	assert.LessOrEqual(t, wait, 30*time.Second+30*time.Second/16)

	_, _, wait, err = get("?index=1&wait=10")
	require.NoError(t, err)
	assert.GreaterOrEqual(t, wait, 10*time.Second, "a bare number is seconds")
	assert.Less(t, wait, 11*time.Second)

	_, _, wait, err = get("?index=1&wait=1h")
	require.NoError(t, err)
	assert.LessOrEqual(t, wait, MaxWait+MaxWait/16, "cut to the maximum")
	assert.GreaterOrEqual(t, wait, MaxWait)

	for _, q := range []string{"?index=x", "?index=-1", "?wait=x", "?wait=-1s"} {
		_, _, _, err = get(q)
		assert.Error(t, err, q)
	}
}

func TestDescribeJSONErrorNamesTypes(t *testing.T) {
	var v struct {
		A bool              `json:"a"`
		B float64           `json:"b"`
		C []string          `json:"c"`
		D map[string]string `json:"d"`
	}
	for body, want := range map[string]string{
		`{"a":"x"}`: "expected a boolean",
		`{"b":"x"}`: "expected a number",
		`{"c":"x"}`: "expected an array",
		`{"d":"x"}`: "expected an object",
	} {
		err := json.Unmarshal([]byte(body), &v)
		require.Error(t, err)
		assert.Contains(t, describeJSONError(err, "thing"), want, body)
	}
}
