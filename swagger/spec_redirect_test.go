package swagger

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/portolan/portolan/swagger/openapischema"
)

// specServers are a TLS and a plain spec server, each serving shop-3.0.yaml
// at /shop.yaml and redirecting from the paths the tests ask for.
type specServers struct {
	tls, plain             *httptest.Server
	tlsHits, plainHits     atomic.Int64 // requests each server received
	tlsRoutes, plainRoutes map[string]string
}

func startSpecServers(t *testing.T) *specServers {
	t.Helper()
	shop := readTestdata(t, "shop-3.0.yaml")
	s := &specServers{tlsRoutes: map[string]string{}, plainRoutes: map[string]string{}}
	handler := func(hits *atomic.Int64, routes map[string]string) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			hits.Add(1)
			if r.URL.Path == "/shop.yaml" {
				w.Header().Set("Content-Type", "application/yaml")
				_, _ = w.Write(shop)
				return
			}
			to, ok := routes[r.URL.Path]
			if !ok {
				http.NotFound(w, r)
				return
			}
			http.Redirect(w, r, to, http.StatusFound)
		})
	}
	s.tls = httptest.NewTLSServer(handler(&s.tlsHits, s.tlsRoutes))
	t.Cleanup(s.tls.Close)
	s.plain = httptest.NewServer(handler(&s.plainHits, s.plainRoutes))
	t.Cleanup(s.plain.Close)
	return s
}

// load is Load trusting the TLS server's certificate.
func (s *specServers) load(src string) (*Spec, error) {
	return load(context.Background(), s.tls.Client().Transport, src, openapischema.Check)
}

// TestLoadRefusesRedirectFromHTTPSToHTTP: a spec asked for over https and
// redirected to http would come in clear, where anyone on the way could
// read it or swap it for one that selects other operations. Load refuses
// the redirect before asking the http server anything, and says why
// without the credentials either URL may carry.
func TestLoadRefusesRedirectFromHTTPSToHTTP(t *testing.T) {
	s := startSpecServers(t)
	s.tlsRoutes["/spec.yaml"] = strings.Replace(s.plain.URL, "http://", "http://user:hunter2@", 1) + "/shop.yaml?token=s3cret"

	_, err := s.load(s.tls.URL + "/spec.yaml?key=k3y")
	require.Error(t, err, "a redirect from https to http was followed")
	msg := err.Error()
	assert.Contains(t, msg, "from https to http", "the error names the downgrade")
	assert.Contains(t, msg, s.tls.URL+"/spec.yaml", "the error names the spec URL")
	assert.Contains(t, msg, s.plain.URL+"/shop.yaml", "the error names where the redirect led")
	for _, secret := range []string{"hunter2", "s3cret", "k3y"} {
		assert.NotContains(t, msg, secret, "a URL's user info and query may hold a credential")
	}
	assert.Zero(t, s.plainHits.Load(), "the spec was asked for in clear")
}

// TestLoadFollowsRedirectsThatKeepOrUpgradeTLS: redirects within a scheme,
// and from http to https, are followed as net/http's default policy does,
// at most 10 requests.
func TestLoadFollowsRedirectsThatKeepOrUpgradeTLS(t *testing.T) {
	s := startSpecServers(t)
	s.tlsRoutes["/moved.yaml"] = "/shop.yaml"
	s.plainRoutes["/moved.yaml"] = "/shop.yaml"
	s.plainRoutes["/upgrade.yaml"] = s.tls.URL + "/moved.yaml"
	s.tlsRoutes["/loop.yaml"] = "/loop.yaml"

	for name, u := range map[string]string{
		"https to https":         s.tls.URL + "/moved.yaml",
		"http to http":           s.plain.URL + "/moved.yaml",
		"http to https to https": s.plain.URL + "/upgrade.yaml",
	} {
		spec, err := s.load(u)
		if assert.NoError(t, err, name) {
			assert.Equal(t, "Shop", spec.Title(), name)
		}
	}

	before := s.tlsHits.Load()
	_, err := s.load(s.tls.URL + "/loop.yaml")
	require.Error(t, err, "a redirect loop was followed without end")
	assert.Contains(t, err.Error(), "stopped after 10 redirects")
	assert.Equal(t, int64(10), s.tlsHits.Load()-before, "requests made in a redirect loop")
}
