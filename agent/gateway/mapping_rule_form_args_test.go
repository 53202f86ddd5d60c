package gateway

import (
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// APIcast matches a rule's query parameters against the form body too:
// get_request_params (3scale/APIcast gateway/src/apicast/configuration/service.lua)
// reads the urlencoded body of a POST, PUT or PATCH ("it's possible to define
// mapping rules like: POST /some_path?a_param={a_value} That match a request
// like POST ... with a form URL-encoded body like: a_param=abc"), the body's
// arguments over the URI's of the same name.
func TestMappingRuleQueryArgsFromFormBody(t *testing.T) {
	gw := queryRulesGateway(t, "/orders?kind={k}", "/pay?mode=card")
	post := func(target, body string) int {
		req, err := http.NewRequest("POST", gw+target, strings.NewReader(body))
		require.NoError(t, err)
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		resp.Body.Close()
		return resp.StatusCode
	}
	assert.Equal(t, http.StatusOK, post("/orders?user_key=premium-key", "kind=book"), "the body's argument matches {k}")
	assert.Equal(t, http.StatusOK, post("/pay?user_key=premium-key", "mode=card"), "the body's argument matches a literal")
	assert.Equal(t, http.StatusNotFound, post("/pay?user_key=premium-key&mode=card", "mode=cash"), "the body's argument wins over the URI's")
	assert.Equal(t, http.StatusNotFound, post("/orders?user_key=premium-key", "other=1"))
}
