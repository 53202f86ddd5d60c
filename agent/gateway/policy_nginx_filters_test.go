package gateway

import (
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/portolan/portolan/agent/gateway/policy"
)

// reachedUpstream is the next request the upstream got; the test fails
// when none comes within 5 s.
func reachedUpstream(t *testing.T, got chan *http.Request) *http.Request {
	t.Helper()
	select {
	case r := <-got:
		return r
	case <-time.After(5 * time.Second):
		require.FailNow(t, "the request did not reach the upstream")
		return nil
	}
}

func nginxFiltersChain(conf string) string {
	return `[{"name":"nginx_filters","version":"builtin","enabled":true,"configuration":` + conf + `},
		{"name":"apicast","version":"builtin","configuration":{},"enabled":true}]`
}

// The README's first example: "Send If-Match header to the upstream
// server, and avoid Nginx 412 response" ({"name": "If-Match", "append":
// true}). The request is answered by the upstream, which gets the header
// as the client sent it; a header the policy does not list goes on as
// always.
func TestPolicyNginxFiltersAppendSendsTheHeaderUpstream(t *testing.T) {
	cg := startChainGateway(t, nginxFiltersChain(`{"headers":[{"name":"If-Match","append":true}]}`))
	a := call(t, "GET", cg.base+"/?user_key="+cg.key, http.Header{"If-Match": {`"v1"`, `"v2"`}, "If-None-Match": {`"v3"`}})
	assert.Equal(t, http.StatusOK, a.status)
	assert.Equal(t, "app", a.body)
	r := reachedUpstream(t, cg.got)
	assert.Equal(t, []string{`"v1"`, `"v2"`}, r.Header.Values("If-Match"))
	assert.Equal(t, `"v3"`, r.Header.Get("If-None-Match"))
}

// The README's second example: "Delete If-Match header and avoid the Nginx
// 412 response" ({"name": "If-Match", "append": false}): the upstream never
// gets it. Names are matched whatever their case; a name listed twice takes
// the later append, as APIcast's table of names does.
func TestPolicyNginxFiltersWithoutAppendRemovesTheHeader(t *testing.T) {
	cg := startChainGateway(t, nginxFiltersChain(`{"headers":[{"name":"if-match","append":false},
		{"name":"If-None-Match","append":true},{"name":"if-none-match","append":false}]}`))
	a := call(t, "GET", cg.base+"/?user_key="+cg.key, http.Header{"If-Match": {`"v1"`}, "If-None-Match": {`"v2"`},
		"If-Modified-Since": {"Sat, 29 Oct 1994 19:43:31 GMT"}})
	assert.Equal(t, http.StatusOK, a.status)
	r := reachedUpstream(t, cg.got)
	assert.Empty(t, r.Header.Values("If-Match"))
	assert.Empty(t, r.Header.Values("If-None-Match"), "the later entry says append false")
	assert.Equal(t, "Sat, 29 Oct 1994 19:43:31 GMT", r.Header.Get("If-Modified-Since"), "not listed")
}

// As APIcast's, the policy takes a listed header away in the rewrite phase
// and sets it back in the access phase: the rewrite phases of the policies
// after it do not see it (here the headers policy's, which would copy it),
// and what they set on it is replaced by the client's value.
func TestPolicyNginxFiltersSetsTheHeaderBackInTheAccessPhase(t *testing.T) {
	cg := startChainGateway(t, `[{"name":"nginx_filters","version":"builtin","enabled":true,"configuration":{"headers":[{"name":"If-Match","append":true}]}},
		{"name":"headers","version":"builtin","enabled":true,"configuration":{"request":[
			{"op":"set","header":"X-Seen-If-Match","value":"[{{headers['If-Match']}}]","value_type":"liquid"},
			{"op":"set","header":"If-Match","value":"\"from-a-policy\""}]}},
		{"name":"apicast","version":"builtin","configuration":{},"enabled":true}]`)
	a := call(t, "GET", cg.base+"/?user_key="+cg.key, http.Header{"If-Match": {`"v1"`}})
	assert.Equal(t, http.StatusOK, a.status)
	r := reachedUpstream(t, cg.got)
	assert.Equal(t, "[]", r.Header.Get("X-Seen-If-Match"), "not there in the rewrite phase")
	assert.Equal(t, []string{`"v1"`}, r.Header.Values("If-Match"), "the client's value, set back")
}

// What the policy turns off, nginx's checks of If-Match, If-None-Match and
// the like (412, 304) on the answers content_caching keeps or may keep, the
// README's "Send If-Match header to the upstream server, and avoid Nginx
// 412 response": without the policy such a request is answered 412 or 304;
// with it, with append true or false, it gets the answer, on a miss as on a
// hit, and the headers it does not list are still judged.
func TestPolicyNginxFiltersKeepsHeadersFromTheCachesPreconditions(t *testing.T) {
	for _, appendIt := range []string{"", "true", "false"} {
		filters := ""
		if appendIt != "" {
			filters = `{"name":"nginx_filters","version":"builtin","enabled":true,"configuration":{"headers":[
				{"name":"If-Match","append":` + appendIt + `},{"name":"If-None-Match","append":` + appendIt + `}]}},`
		}
		cg := startCacheGateway(t, `[`+filters+`{"name":"content_caching","version":"builtin","enabled":true,"configuration":{"rules":[{"cache":true}]}},
			{"name":"apicast","version":"builtin","configuration":{},"enabled":true}]`, policy.ContentCaching{})
		target := cg.base + `/things?user_key=` + cg.key + `&h=ETag:"v1"&h=Last-Modified:Sun,%2006%20Dec%202026%2006:00:00%20GMT`
		refused, notModified := http.StatusOK, http.StatusOK
		if filters == "" {
			refused, notModified = http.StatusPreconditionFailed, http.StatusNotModified
		}
		a := call(t, "GET", target, http.Header{"If-Match": {`"other"`}})
		assert.Equal(t, refused, a.status, "append %q: If-Match that does not match, a miss", appendIt)
		a = call(t, "GET", target, nil)
		require.Equal(t, http.StatusOK, a.status)
		a = call(t, "GET", target, http.Header{"If-Match": {`"other"`}})
		assert.Equal(t, refused, a.status, "append %q: If-Match that does not match, a hit", appendIt)
		a = call(t, "GET", target, http.Header{"If-None-Match": {`"v1"`}})
		assert.Equal(t, notModified, a.status, "append %q: If-None-Match that matches", appendIt)
		a = call(t, "GET", target, http.Header{"If-Modified-Since": {"Sun, 06 Dec 2026 06:00:00 GMT"}})
		assert.Equal(t, http.StatusNotModified, a.status, "append %q: If-Modified-Since, not listed, is judged", appendIt)
	}
}

// The schema: headers required, at least one, each with a name and an
// append (a boolean), both required. Refused as well, since the gateway
// cannot honour them: removing a header that addresses or frames the
// request, and sending one it never sends upstream.
func TestPolicyNginxFiltersInvalidConfigurationFailsClosed(t *testing.T) {
	for conf, field := range map[string]string{
		`{}`:                                     "headers",
		`{"headers":[]}`:                         "headers",
		`{"headers":{"name":"If-Match"}}`:        "headers",
		`{"headers":[{"name":5,"append":true}]}`: "headers[0].name",
		`{"headers":[{"append":true}]}`:          "headers[0].name",
		`{"headers":[{"name":"If Match","append":true}]}`:                                "headers[0].name",
		`{"headers":[{"name":"If-Match"}]}`:                                              "headers[0].append",
		`{"headers":[{"name":"If-Match","append":"yes"}]}`:                               "headers[0].append",
		`{"headers":[{"name":"If-Match","append":true},{"name":"Host","append":false}]}`: "headers[1].append",
		`{"headers":[{"name":"content-length","append":false}]}`:                         "headers[0].append",
		`{"headers":[{"name":"Connection","append":true}]}`:                              "headers[0].append",
		`{"headers":[{"name":"X_Forwarded","append":true}]}`:                             "headers[0].append",
	} {
		cg := startChainGateway(t, nginxFiltersChain(conf))
		a := call(t, "GET", cg.base+"/?user_key="+cg.key, nil)
		require.Equal(t, http.StatusServiceUnavailable, a.status, conf)
		assert.Contains(t, a.body, `policy "nginx_filters"`, conf)
		assert.Contains(t, a.body, "configuration."+field+":", conf)
	}
	// What it can do with them is taken: a hop-by-hop header removed.
	cg := startChainGateway(t, nginxFiltersChain(`{"headers":[{"name":"Connection","append":false},{"name":"Host","append":true}]}`))
	a := call(t, "GET", cg.base+"/?user_key="+cg.key, nil)
	assert.Equal(t, http.StatusOK, a.status)
}
