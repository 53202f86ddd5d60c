package threescale_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// porta's Message validates the presence of its subject (deliver! fails:
// 422); a message is stored in the composition every revision carries, so
// it is held to porta's columns: a subject of 255 characters, a body of
// 64 KiB, UTF-8 without NUL.
func TestAccountMessageNeedsASubjectAndBoundedText(t *testing.T) {
	e := newTokenEnv(t, 0)
	account, _ := e.signup(t, "Acme", "acme", nil)
	path := "/admin/api/accounts/" + itoa(account) + "/messages.json"
	for _, c := range []struct {
		form  url.Values
		field string
	}{
		{url.Values{"body": {"no subject"}}, `"subject":["can't be blank"]`},
		{url.Values{"subject": {strings.Repeat("s", 256)}}, `"subject":["is too long (maximum is 255 characters)"]`},
		{url.Values{"subject": {"big"}, "body": {strings.Repeat("x", 64<<10+1)}}, `"body":["is too long (maximum is 65536 characters)"]`},
		{url.Values{"subject": {"a\x00b"}}, `"subject":["must be valid UTF-8 without NUL"]`},
	} {
		status, body := e.call(t, bootstrapToken, http.MethodPost, path, c.form)
		assert.Equal(t, http.StatusUnprocessableEntity, status, "%.80v: %.200s", c.form, body)
		assert.Contains(t, body, c.field)
	}
	status, body := e.call(t, bootstrapToken, http.MethodPost, path,
		url.Values{"subject": {strings.Repeat("é", 255)}, "body": {strings.Repeat("x", 64<<10)}})
	require.Equal(t, http.StatusCreated, status, "%.200s", body)
	assert.Len(t, e.store.Snapshot().Messages.All(), 1, "only the valid message is kept")
}
