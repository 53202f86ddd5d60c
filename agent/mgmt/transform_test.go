package mgmt

import (
	"net/http"
	"net/url"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestTransformOps(t *testing.T) {
	ts, err := parseTransforms([]byte(`
transforms:
  - match: "GET /admin/api/services/**"
    path: {from: /legacy/api, to: /admin/api}
    request:
      headers: {set: {x-team: payments}, remove: [X-Debug]}
      query:
        rename: {size: per_page, a: b}
        remove: [debug]
        set: {per_page: 50, source: app}
      body:
        remove: [service.secret, items.hidden]
        rename: {service.title: name, items.old: new}
`))
	require.NoError(t, err)
	require.Len(t, ts, 1)
	tr := ts[0]

	assert.Equal(t, "/admin/api/x", tr.rewritePath("/legacy/api/x"))
	assert.Equal(t, "/admin/api", tr.rewritePath("/legacy/api"))
	assert.Equal(t, "/legacy/apix", tr.rewritePath("/legacy/apix"), "whole segments only")
	assert.Equal(t, "/other/legacy/api", tr.rewritePath("/other/legacy/api"))

	h := http.Header{"X-Debug": {"1"}, "X-Team": {"old"}, "Accept": {"application/json"}}
	tr.applyHeaders(h)
	assert.Equal(t, http.Header{"X-Team": {"payments"}, "Accept": {"application/json"}}, h)

	q := url.Values{"size": {"10"}, "debug": {"1"}, "a": {"1"}, "b": {"2"}, "keep": {"k"}}
	tr.applyQuery(q)
	assert.Equal(t, url.Values{"per_page": {"50"}, "source": {"app"}, "b": {"2", "1"}, "keep": {"k"}}, q)

	body := []byte(`{"service":{"title":"T","secret":"s","id":12345678901234567890},"items":[{"hidden":1,"old":"o"},{"old":"p"},3,[{"hidden":2}]],"html":"<a>"}`)
	out, err := transformJSONStrict(body, append(tr.reqBody, tr.respBody...))
	require.NoError(t, err)
	assert.JSONEq(t, `{"service":{"name":"T","id":12345678901234567890},"items":[{"new":"o"},{"new":"p"},3,[{}]],"html":"<a>"}`, string(out))
	assert.Contains(t, string(out), "12345678901234567890", "numbers kept as written")
	assert.Contains(t, string(out), `"<a>"`, "no HTML escaping")

	same := []byte(`{"other":1}`)
	out, err = transformJSONStrict(same, tr.reqBody)
	require.NoError(t, err)
	assert.Equal(t, same, out, "unchanged bytes when nothing applies")
	_, err = transformJSONStrict([]byte(`name=x`), tr.reqBody)
	assert.Error(t, err, "not JSON")
}

func TestTransformRefusesWhatTheProxyOwns(t *testing.T) {
	for _, doc := range []string{
		"transforms:\n  - match: tag:X\n    request: {headers: {set: {Host: h}}}\n",
		"transforms:\n  - match: tag:X\n    request: {headers: {set: {Connection: close}}}\n",
		"transforms:\n  - match: tag:X\n    request: {headers: {remove: [Proxy-Authorization]}}\n",
		"transforms:\n  - match: tag:X\n    request: {headers: {set: {Proxy-Foo: x}}}\n",
		"transforms:\n  - match: tag:X\n    request: {headers: {set: {X-HTTP-Method-Override: DELETE}}}\n",
		"transforms:\n  - match: tag:X\n    request: {headers: {set: {X-A: \"a\\r\\nB: b\"}}}\n",
		"transforms:\n  - match: tag:X\n    request: {query: {set: {_method: DELETE}}}\n",
		"transforms:\n  - match: tag:X\n    request: {query: {rename: {x: provider_key}}}\n",
		"transforms:\n  - match: tag:X\n    request: {body: {rename: {a.b: c.d}}}\n",
		"transforms:\n  - match: tag:X\n    request: {body: {remove: [a..b]}}\n",
		"transforms:\n  - match: tag:X\n    path: {from: /a/, to: /b}\n",
		"transforms:\n  - match: tag:X\n    path: {from: /a, to: /b%2fc}\n",
		"transforms:\n  - match: NOPE\n",
		"transforms:\n  - match: tag:X\n    response: {headers: {set: {X: y}}}\n",
	} {
		_, err := parseTransforms([]byte(doc))
		assert.Error(t, err, doc)
	}
}

// Rack reads "[debug]" and "debug[]" as debug (rack lib/rack/query_parser.rb
// normalize_params): a query parameter a transform removes or sets came
// back to the upstream under those spellings.
func TestQueryTransformsCatchEverySpellingRackReads(t *testing.T) {
	ts, err := parseTransforms([]byte(`
transforms:
  - match: "GET /admin/api/services/**"
    request:
      query:
        remove: [debug]
        set: {per_page: "50"}
`))
	require.NoError(t, err)
	q := url.Values{"[debug]": {"1"}, "debug[]": {"2"}, "]debug": {"3"}, "[per_page]": {"1000"}, "per_page[]": {"1000"}, "debugger": {"k"}}
	ts[0].applyQuery(q)
	assert.Equal(t, url.Values{"per_page": {"50"}, "debugger": {"k"}}, q)
}
