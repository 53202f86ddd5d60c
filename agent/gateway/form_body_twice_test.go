package gateway

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The credentials and a rule's arguments both read a request's form body
// (APIcast's read_body_args and get_request_params): the second asking
// gets the same form without reading the body again, and the body still
// reaches the upstream whole.
func TestFormBodyAskedTwiceReadsOnce(t *testing.T) {
	const form = "user_key=k&kind=book"
	r := httptest.NewRequest(http.MethodPost, "/orders", strings.NewReader(form))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	require.Equal(t, form, formBody(r))
	put := r.Body
	assert.Equal(t, form, formBody(r))
	assert.Same(t, put, r.Body, "the body was read and wrapped again")
	b, err := io.ReadAll(r.Body)
	require.NoError(t, err)
	assert.Equal(t, form, string(b))
}
