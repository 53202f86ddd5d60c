package threescale_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/portolan/portolan/threescale"
)

// Portolan's own admin APIs (join tokens, placements, the import) read
// one JSON document a body: data after it would be silently dropped, the
// caller thinking all of it was taken, so it is refused; space is none.
func TestOwnAPIBodyHoldsOneDocument(t *testing.T) {
	decode := func(body string) error {
		var v struct {
			Name string `json:"name"`
		}
		r := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(body))
		return threescale.DecodeJSON(httptest.NewRecorder(), r, &v, 1<<10, "malformed thing")
	}
	require.NoError(t, decode(`{"name":"a"}`+"\n \t\r\n"))
	for name, body := range map[string]string{
		"a second document": `{"name":"a"}{"name":"b"}`,
		"a stray word":      `{"name":"a"} garbage`,
		"a stray brace":     `{"name":"a"}` + "\n}",
	} {
		t.Run(name, func(t *testing.T) {
			err := decode(body)
			require.Error(t, err)
			assert.Equal(t, http.StatusBadRequest, threescale.StatusOf(err))
			assert.Contains(t, err.Error(), "malformed thing: ")
			assert.Contains(t, err.Error(), "after the document")
		})
	}
}
