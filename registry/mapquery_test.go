package registry

import (
	"encoding/json"
	"net/http"
	"net/url"
	"reflect"
	"slices"
	"strconv"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestServeMapQueries: GET /v1/map without the new parameters answers as
// it always did (no answer header, the whole map); with them it says which
// answer it gave; bad parameters are refused with what is wrong.
func TestServeMapQueries(t *testing.T) {
	f := mapFleet(t, 30)
	h := f.r.Handler(Access{Admin: func(r *http.Request) bool { return r.Header.Get("Authorization") == "Bearer admin" }})

	code, hdr, body := serve(t, h, "GET", "/v1/map", "admin", "")
	require.Equal(t, http.StatusOK, code, body)
	assert.Empty(t, hdr.Get(MapAnswerHeader))
	var m Map
	require.NoError(t, json.Unmarshal([]byte(body), &m))
	assert.Equal(t, f.r.Map(), m)
	assert.NotContains(t, body, `"matched"`)

	code, hdr, body = serve(t, h, "GET", "/v1/map?service=news", "admin", "")
	require.Equal(t, http.StatusOK, code, body)
	assert.Empty(t, hdr.Get(MapAnswerHeader), "the service filter alone is answered as ever")
	assert.NotContains(t, body, `"matched"`)

	code, hdr, body = serve(t, h, "GET", "/v1/map?summary=1&status=warning", "admin", "")
	require.Equal(t, http.StatusOK, code, body)
	assert.Equal(t, MapAnswerSummary, hdr.Get(MapAnswerHeader))
	var s MapSummary
	require.NoError(t, json.Unmarshal([]byte(body), &s))
	assert.Equal(t, 6, s.Instances)

	code, hdr, body = serve(t, h, "GET", "/v1/map?label=zone%3Da&limit=4", "admin", "")
	require.Equal(t, http.StatusOK, code, body)
	assert.Equal(t, MapAnswerPage, hdr.Get(MapAnswerHeader))
	require.NoError(t, json.Unmarshal([]byte(body), &m))
	assert.Equal(t, 15, m.Matched)
	assert.Equal(t, "in-000006", m.Next)
	at := hdr.Get(IndexHeader)
	assert.Equal(t, strconv.FormatUint(f.r.Index(), 10), at)

	code, hdr, body = serve(t, h, "GET", "/v1/map?delta=1&wait=1ms&index="+at, "admin", "")
	require.Equal(t, http.StatusOK, code, body)
	assert.Equal(t, MapAnswerDelta, hdr.Get(MapAnswerHeader))
	assert.JSONEq(t, `{"index":`+at+`,"revision":2,"changed":[],"removed":[]}`, body, "nothing changed within the wait")

	for q, want := range map[string]string{
		"limit=0":               "limit must be a number from 1 to 10000",
		"limit=x":               "limit must be a number",
		"label==eu":             "label must be key=value or key",
		"summary=yes":           "summary must be 1 or 0",
		"summary=1&delta=1":     "summary and delta do not go together",
		"cursor=" + longID(200): "cursor is an instance id",
	} {
		code, _, body := serve(t, h, "GET", "/v1/map?"+q, "admin", "")
		assert.Equal(t, http.StatusBadRequest, code, q)
		assert.Contains(t, body, want, q)
	}
}

func longID(n int) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = 'x'
	}
	return string(b)
}

// A label filter is key=value, or key alone for any value; the query
// writes itself back as the same parameters.
func TestParseMapQueryLabels(t *testing.T) {
	q, err := ParseMapQuery(url.Values{ParamLabel: {"zone=a", "rack", "rack", "tier="}})
	require.NoError(t, err)
	assert.Equal(t, map[string]string{"zone": "a", "tier": ""}, q.Labels)
	assert.Equal(t, []string{"rack"}, q.HasLabels)
	assert.True(t, q.Keeps("news", MapInstance{Labels: map[string]string{"zone": "a", "tier": "", "rack": "r1"}}))
	assert.False(t, q.Keeps("news", MapInstance{Labels: map[string]string{"zone": "a", "tier": ""}}), "no rack label")
	back, err := ParseMapQuery(q.Values())
	require.NoError(t, err)
	assert.Equal(t, q, back)

	_, err = ParseMapQuery(url.Values{ParamLabel: {"=a"}})
	assert.ErrorContains(t, err, "label must be key=value or key")

	_, err = ParseMapQuery(url.Values{ParamStatus: {"critcal"}})
	assert.ErrorContains(t, err, `status must be passing, warning, critical or draining (got "critcal")`, "a typo is not an empty map")

	many := url.Values{}
	for i := range MaxLabels + 1 {
		many.Add(ParamLabel, "k"+strconv.Itoa(i))
	}
	_, err = ParseMapQuery(many)
	assert.ErrorContains(t, err, "labels may filter the map", "counted before they are read")
}

// FuzzParseMapQuery: whatever query string GET /v1/map accepts, the query
// writes back as parameters that parse to the same query, and within the
// bounds it states.
func FuzzParseMapQuery(f *testing.F) {
	f.Add("service=news&plan=basic&status=critical&label=zone%3Da&label=rack&limit=10&cursor=in-1")
	f.Add("label=%3Da&label=k%3D%3Dv&summary=1")
	f.Add("delta=true&limit=10000&label=a&label=a")
	f.Fuzz(func(t *testing.T, raw string) {
		v, err := url.ParseQuery(raw)
		if err != nil {
			return
		}
		q, err := ParseMapQuery(v)
		if err != nil {
			return
		}
		if n := len(q.Labels) + len(q.HasLabels); n > MaxLabels || q.Limit < 0 || q.Limit > MaxMapLimit || len(q.Cursor) > MaxIDLen {
			t.Fatalf("%q: out of bounds: %+v", raw, q)
		}
		back, err := ParseMapQuery(q.Values())
		if err != nil {
			t.Fatalf("%q: its own parameters %q refused: %v", raw, q.Values().Encode(), err)
		}
		if !reflect.DeepEqual(normalizeQuery(q), normalizeQuery(back)) {
			t.Fatalf("%q: %+v came back as %+v", raw, q, back)
		}
	})
}

// normalizeQuery orders what a query holds in no order.
func normalizeQuery(q MapQuery) MapQuery {
	q.HasLabels = slices.Sorted(slices.Values(q.HasLabels))
	if len(q.HasLabels) == 0 {
		q.HasLabels = nil
	}
	return q
}
