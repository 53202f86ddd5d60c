package threescale_test

import (
	"bytes"
	"io"
	"mime/multipart"
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// As apisonator, a report's body may be multipart/form-data (curl -F, many
// HTTP libraries' default for forms) as well as form-encoded; another
// Content-Type is content_type_invalid, not a missing token.
func TestServiceManagementReportTakesMultipartAndRefusesOtherBodies(t *testing.T) {
	f := newSMFixture(t)
	waitForFreshMinute()
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	for _, kv := range [][2]string{
		{"service_token", f.co.Token}, {"service_id", f.keys},
		{"transactions[0][user_key]", f.userKey}, {"transactions[0][usage][hits]", "2"},
	} {
		require.NoError(t, mw.WriteField(kv[0], kv[1]))
	}
	require.NoError(t, mw.Close())
	post := func(contentType string, b io.Reader) (int, string) {
		req, err := http.NewRequest(http.MethodPost, f.co.URL+"/transactions.xml", b)
		require.NoError(t, err)
		req.Header.Set("Content-Type", contentType)
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		defer resp.Body.Close()
		out, err := io.ReadAll(resp.Body)
		require.NoError(t, err)
		return resp.StatusCode, string(out)
	}
	status, out := post(mw.FormDataContentType(), &body)
	require.Equal(t, http.StatusAccepted, status, out)
	st, _ := f.status(t, "/transactions/authorize.xml", f.query("user_key", f.userKey), http.StatusOK)
	assert.EqualValues(t, 2, st.Reports[2].CurrentValue, "the multipart report counted")

	status, out = post("application/json", bytes.NewReader([]byte(`{"service_token":"`+f.co.Token+`"}`)))
	assert.Equal(t, http.StatusBadRequest, status, out)
	assert.Contains(t, out, `<error code="content_type_invalid">invalid Content-Type: application/json</error>`)
	st, _ = f.status(t, "/transactions/authorize.xml", f.query("user_key", f.userKey), http.StatusOK)
	assert.EqualValues(t, 2, st.Reports[2].CurrentValue, "nothing more counted")
}
