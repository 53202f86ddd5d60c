package coordinator

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/portolan/portolan/registry"
	"github.com/portolan/portolan/threescale"
)

const fixtureToken = "apply-fixture-access-token-0123456789"

// newApplyCoordinator is a coordinator served in-process, held to caps.
func newApplyCoordinator(t *testing.T, caps threescale.Caps) *Coordinator {
	t.Helper()
	c, err := New(Config{Listen: "127.0.0.1:0", DataDir: t.TempDir(), AccessToken: fixtureToken, Caps: caps})
	require.NoError(t, err)
	t.Cleanup(func() { c.ln.Close(); c.usage.Close(); c.store.Close() })
	return c
}

// postApply posts YAML docs to c's apply with the query q.
func postApply(t *testing.T, c *Coordinator, q, docs string) (int, string) {
	t.Helper()
	path := registry.PathAdminApply + "?access_token=" + fixtureToken
	if q != "" {
		path += "&" + q
	}
	r := httptest.NewRequest(http.MethodPost, path, strings.NewReader(docs))
	r.Header.Set("Content-Type", "application/yaml")
	w := httptest.NewRecorder()
	c.applyHandler().ServeHTTP(w, r)
	return w.Code, w.Body.String()
}

// bringImage applies docs as an image of service brings them.
func bringImage(t *testing.T, c *Coordinator, service, docs string) (*registry.ImageApplyReply, error) {
	t.Helper()
	ds := decodeDocs(t, docs)
	svc, err := imageServiceDocument(ds, service)
	if err != nil {
		return nil, err
	}
	digest, err := documentsDigest(ds)
	require.NoError(t, err)
	return c.applyImage(httptest.NewRequest(http.MethodPut, "/", nil), ds, service, svc.Version, digest, "")
}
