package agent_test

import (
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/portolan/portolan/internal/testenv"
	"github.com/portolan/portolan/registry"
)

// An image's documents that a proxy in front of home answers 408 or 429
// (RFC 9110 §15.5.9: the client "MAY repeat that request"; RFC 6585 §4: "too
// many requests in a given amount of time") are sent again, as on a 5xx,
// rather than taken as home's refusal and left undelivered until the next
// registration.
func TestImageDocumentsRetriedAfterATemporaryRefusal(t *testing.T) {
	for _, status := range []int{http.StatusRequestTimeout, http.StatusTooManyRequests} {
		t.Run(http.StatusText(status), func(t *testing.T) {
			co := testenv.StartCoordinator(t)
			tok := createJoinToken(t, co, registry.JoinTokenSpec{Service: "news"}).Token
			home, err := url.Parse(co.URL)
			require.NoError(t, err)
			var refused atomic.Int64
			proxy := httputil.NewSingleHostReverseProxy(home)
			front := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if r.Method == http.MethodPut && strings.HasSuffix(r.URL.Path, registry.PathImageComposition) && refused.Add(1) == 1 {
					w.Header().Set("Retry-After", "1")
					http.Error(w, http.StatusText(status), status)
					return
				}
				proxy.ServeHTTP(w, r)
			}))
			defer front.Close()

			a := testenv.StartAgentAt(t, front.URL, "--token", tok, "--service", "news", "--composition", imageDir(t, 1, 100, ""),
				"--heartbeat", "200ms", "--ttl", "1s", "--", "sleep", "30")
			logged(t, a, "home applied this image's composition")
			assert.EqualValues(t, 100, dayLimit(t, co))
			assert.GreaterOrEqual(t, refused.Load(), int64(2), "the documents were sent again after the %d", status)
			assert.NotContains(t, a.Output.String(), "home refused this image's composition")
		})
	}
}
