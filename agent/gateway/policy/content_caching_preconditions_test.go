package policy

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
)

// nginx's not_modified filter (ngx_http_not_modified_filter_module.c) as
// the oracle: its order (If-Unmodified-Since, If-Match, then If-Modified-Since
// with If-None-Match), its exact date comparison, its byte-wise tag
// comparison, strong for If-Match and weak for If-None-Match.
func TestPreconditionAnswerIsNginxsNotModifiedFilter(t *testing.T) {
	const lm = "Sun, 06 Dec 2026 06:00:00 GMT"
	resp := http.Header{"Etag": {`"v1"`}, "Last-Modified": {lm}}
	weak := http.Header{"Etag": {`W/"v1"`}, "Last-Modified": {lm}}
	bare := http.Header{}
	for _, tc := range []struct {
		name string
		req  http.Header
		resp http.Header
		want int
	}{
		{"no precondition", http.Header{}, resp, 0},
		{"If-None-Match lists the tag", http.Header{"If-None-Match": {`"v0", "v1"`}}, resp, 304},
		{"If-None-Match another tag", http.Header{"If-None-Match": {`"v2"`}}, resp, 0},
		{"If-None-Match weak against a strong tag", http.Header{"If-None-Match": {`W/"v1"`}}, resp, 304},
		{"If-None-Match strong against a weak tag", http.Header{"If-None-Match": {`"v1"`}}, weak, 304},
		{"If-None-Match *", http.Header{"If-None-Match": {"*"}}, bare, 304},
		{"If-None-Match without an ETag", http.Header{"If-None-Match": {`"v1"`}}, bare, 0},
		{"If-None-Match a longer tag", http.Header{"If-None-Match": {`"v12"`}}, resp, 0},
		{"If-None-Match the tag then spaces", http.Header{"If-None-Match": {`"v1" 	,"v3"`}}, resp, 304},
		{"If-Modified-Since the exact date", http.Header{"If-Modified-Since": {lm}}, resp, 304},
		{"If-Modified-Since later (exact, as nginx's default)", http.Header{"If-Modified-Since": {"Mon, 07 Dec 2026 06:00:00 GMT"}}, resp, 0},
		{"If-Modified-Since unreadable", http.Header{"If-Modified-Since": {"yesterday"}}, resp, 0},
		{"If-Modified-Since without Last-Modified", http.Header{"If-Modified-Since": {lm}}, bare, 0},
		{"both, the date not matching", http.Header{"If-Modified-Since": {"Mon, 07 Dec 2026 06:00:00 GMT"}, "If-None-Match": {`"v1"`}}, resp, 0},
		{"both matching", http.Header{"If-Modified-Since": {lm}, "If-None-Match": {`"v1"`}}, resp, 304},
		{"If-Match the tag", http.Header{"If-Match": {`"v1"`}}, resp, 0},
		{"If-Match another", http.Header{"If-Match": {`"v2"`}}, resp, 412},
		{"If-Match weak is compared strongly", http.Header{"If-Match": {`W/"v1"`}}, resp, 412},
		{"If-Match *", http.Header{"If-Match": {"*"}}, bare, 0},
		{"If-Match without an ETag", http.Header{"If-Match": {`"v1"`}}, bare, 412},
		{"If-Unmodified-Since later", http.Header{"If-Unmodified-Since": {"Mon, 07 Dec 2026 06:00:00 GMT"}}, resp, 0},
		{"If-Unmodified-Since the date", http.Header{"If-Unmodified-Since": {lm}}, resp, 0},
		{"If-Unmodified-Since earlier", http.Header{"If-Unmodified-Since": {"Sat, 05 Dec 2026 06:00:00 GMT"}}, resp, 412},
		{"If-Unmodified-Since without Last-Modified", http.Header{"If-Unmodified-Since": {lm}}, bare, 412},
		{"If-Match refuses before If-None-Match", http.Header{"If-Match": {`"v2"`}, "If-None-Match": {`"v1"`}}, resp, 412},
		{"a repeated header is judged on its first line (nginx refuses it: 400)", http.Header{"If-None-Match": {`"v2"`, `"v1"`}}, resp, 0},
	} {
		assert.Equal(t, tc.want, preconditionAnswer(tc.req, nil, tc.resp), tc.name)
	}
	// nginx_filters keeps its headers from the judgement.
	assert.Equal(t, 0, preconditionAnswer(http.Header{"If-Match": {`"v2"`}}, []string{"If-Match"}, resp))
	assert.Equal(t, 304, preconditionAnswer(http.Header{"If-Match": {`"v2"`}, "If-None-Match": {`"v1"`}}, []string{"If-Match"}, resp))
}
