package gateway

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/portolan/portolan/agent/gateway/policy"
)

// With content_caching on, nginx judges a request's preconditions on the
// answers its proxy_cache may keep (ngx_http_upstream:
// r->disable_not_modified = !u->cacheable), on a miss as on a hit: a
// matching If-None-Match gets 304 without a body or a Content-Type, a
// failed If-Match 412 (3scale's testsuite, THREESCALE-6704: "When the
// APIcast has enabled content caching, it blocks requests from certain
// upstreams that contain If-Match header with 412 response code"). The
// answer a 304 replaced is kept all the same; one a 412 replaced is not.
func TestPolicyContentCachingAnswersPreconditionsAsNginx(t *testing.T) {
	cg := startCacheGateway(t, contentCachingChain(`[{"cache":true}]`), policy.ContentCaching{})
	etag := http.Header{"If-None-Match": {`"v1"`}}
	path := cg.base + `/doc?h=Etag:"v1"&h=Content-Type:text/plain&user_key=` + cg.key

	a := call(t, "GET", path, etag)
	assert.Equal(t, http.StatusNotModified, a.status, "a miss whose answer matches")
	assert.Equal(t, "MISS", a.header.Get("X-Cache-Status"))
	assert.Empty(t, a.body)
	assert.Empty(t, a.header.Get("Content-Type"), "nginx drops the Content-Type of a 304")
	assert.Equal(t, `"v1"`, a.header.Get("Etag"))

	a = call(t, "GET", path, nil)
	assert.Equal(t, http.StatusOK, a.status)
	assert.Equal(t, "HIT", a.header.Get("X-Cache-Status"), "the answer behind the 304 was kept")
	assert.Equal(t, "1", a.body)

	a = call(t, "GET", path, etag)
	assert.Equal(t, http.StatusNotModified, a.status, "a hit")
	assert.Equal(t, "HIT", a.header.Get("X-Cache-Status"))
	assert.Empty(t, a.body)
	a = call(t, "GET", path, http.Header{"If-None-Match": {`"v0"`}})
	assert.Equal(t, http.StatusOK, a.status, "another tag")
	assert.Equal(t, "1", a.body)

	a = call(t, "GET", path, http.Header{"If-Match": {`"v2"`}})
	assert.Equal(t, http.StatusPreconditionFailed, a.status, "a hit whose tag is not the one asked for")
	assert.Contains(t, a.body, "<title>412 Precondition Failed</title>", "nginx's page")
	assert.Empty(t, a.header.Get("Etag"), "none of the answer's headers")

	other := cg.base + `/other?h=Etag:"v1"&user_key=` + cg.key
	a = call(t, "GET", other, http.Header{"If-Match": {`"v2"`}})
	assert.Equal(t, http.StatusPreconditionFailed, a.status, "a miss")
	assert.Equal(t, "MISS", a.header.Get("X-Cache-Status"))
	a = call(t, "GET", other, nil)
	assert.Equal(t, "MISS", a.header.Get("X-Cache-Status"), "the answer a 412 replaced is not kept")
	assert.Equal(t, int64(3), cg.served.Load())
}

// Only answers the cache may keep are judged: one it may not keep, or a
// request no rule caches, goes to the client as the upstream sent it, as
// nginx relays it.
func TestPolicyContentCachingJudgesOnlyCacheableAnswers(t *testing.T) {
	cg := startCacheGateway(t, contentCachingChain(`[{"cache":true,"condition":{"combine_op":"and",
		"operations":[{"left":"{{uri}}","left_type":"liquid","op":"==","right":"/cached"}]}}]`), policy.ContentCaching{})
	match := http.Header{"If-None-Match": {`"v1"`}, "If-Match": {`"v2"`}}
	for name, path := range map[string]string{
		"no-store":       `/cached?h=Etag:"v1"&h=Cache-Control:no-store`,
		"a 404":          `/cached?h=Etag:"v1"&status=404`,
		"no rule caches": `/plain?h=Etag:"v1"`,
	} {
		a := call(t, "GET", cg.base+path+"&user_key="+cg.key, match)
		assert.NotEqual(t, http.StatusNotModified, a.status, name)
		assert.NotEqual(t, http.StatusPreconditionFailed, a.status, name)
		assert.NotEmpty(t, a.body, name)
	}
}
