package threescale

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// transactions[1] and transactions[01] are two transactions, as Rack keys
// them: both are counted.
func TestReportKeepsTransactionsWhoseIndexesParseAlike(t *testing.T) {
	sm, counters := newMemSM(t, "1")
	w := memPost(sm, url.Values{
		"service_token": {memToken}, "service_id": {"10"},
		"transactions[1][user_key]":     {memUserKey},
		"transactions[1][usage][hits]":  {"1"},
		"transactions[01][user_key]":    {memUserKey},
		"transactions[01][usage][hits]": {"5"},
	}.Encode())
	require.Equal(t, http.StatusAccepted, w.Code, "%s", w.Body)
	var total int64
	for _, a := range counters.adds {
		if a.MetricID == memHits {
			total += a.Delta
		}
	}
	assert.EqualValues(t, 6, total)
	idx, e := transactionIndexes(url.Values{"transactions[10][x]": nil, "transactions[9][x]": nil,
		"transactions[01][x]": nil, "transactions[1][x]": nil})
	require.Nil(t, e)
	assert.Equal(t, []string{"01", "1", "9", "10"}, idx, "numeric order")
	for _, bad := range []string{"+1", "-1", " 1", "x", ""} {
		_, e := transactionIndexes(url.Values{"transactions[" + bad + "][user_key]": nil})
		assert.NotNil(t, e, "%q", bad)
	}
}

// A report POSTed without a Content-Type is read as a form, as Rack reads
// it.
func TestReportWithoutContentTypeIsReadAsAForm(t *testing.T) {
	sm, counters := newMemSM(t, "1")
	body := url.Values{"service_token": {memToken}, "service_id": {"10"},
		"transactions[0][user_key]": {memUserKey}, "transactions[0][usage][hits]": {"3"}}.Encode()
	w := httptest.NewRecorder()
	r := httptest.NewRequest(http.MethodPost, "/transactions.xml", strings.NewReader(body))
	r.Header.Del("Content-Type")
	sm.ServeHTTP(w, r)
	require.Equal(t, http.StatusAccepted, w.Code, "%s", w.Body)
	require.Len(t, counters.adds, 1)
	assert.EqualValues(t, 3, counters.adds[0].Delta)
}

// A report with more form fields than Go parses is refused with an error
// naming the bound, not as a malformed body.
func TestReportWithTooManyFieldsNamesTheLimit(t *testing.T) {
	sm, _ := newMemSM(t, "1")
	body := "service_token=" + memToken + "&service_id=10" + strings.Repeat("&transactions[0][x]=1", maxFormFields)
	w := memPost(sm, body)
	assert.Equal(t, http.StatusRequestEntityTooLarge, w.Code, "%s", w.Body)
	assert.Contains(t, w.Body.String(), "more than 10000 fields")
}
