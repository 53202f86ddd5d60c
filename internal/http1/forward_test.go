package http1

import (
	"bufio"
	"bytes"
	"net/url"
	"testing"

	"github.com/stretchr/testify/require"
)

// The forwarder writes the request target as url.URL.RequestURI builds it.
func TestRequestURI(t *testing.T) {
	for _, raw := range []string{
		"/", "/health", "/health?user_key=k&x=1", "/a%20b/c?q", "/a b", "/caf%C3%A9", "/x?", "*",
		"http://example.com", "http://example.com/p?q=1", "mailto:x@example.com", "//host/p",
	} {
		u, err := url.Parse(raw)
		require.NoError(t, err, raw)
		var b bytes.Buffer
		bw := bufio.NewWriter(&b)
		writeRequestURI(bw, u)
		require.NoError(t, bw.Flush())
		require.Equal(t, u.RequestURI(), b.String(), raw)
	}
}
