package threescale_test

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/3scale/3scale-porta-go-client/client"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/portolan/portolan/internal/testenv"
)

// A backend usage's path is stored as porta stores it, and refused as porta
// refuses it. porta's BackendApiConfig#path= writes ConfigPath.new(value).path,
// which is "/" + the value with its leading and trailing slashes stripped
// (app/models/config_path.rb, StringUtils::StripSlash removes every leading and
// trailing slash); then "validates :path, length: { in: 1..255 }, path: true", where
// PathValidator takes a value URI.parse reads back as the same path, with
// the message 'must be a path separated by "/". E.g. "" or "my/path"'.
// porta's own test (test/integration/admin/api/services/
// backend_usages_controller_test.rb) creates with path 'foo/bar' and reads
// '/foo/bar'. A path kept as "//v1" made the backend's mapping rules match no
// request, since requests come as "/v1/...".
func TestBackendUsagePathIsStoredAndCheckedAsPortaDoes(t *testing.T) {
	co := testenv.StartCoordinator(t)
	cl := co.Client(t)
	svc := createProduct(t, cl, "Paths Product", nil)
	base := "/admin/api/services/" + strconv.FormatInt(svc, 10) + "/backend_usages"

	for i, tc := range []struct{ sent, stored string }{
		{"foo/bar", "/foo/bar"},
		{"/v1/", "/v1"},
		{"//v2//", "/v2"},
		{"", "/"},
		{"///", "/"},
		{"/a:b@c/x-y_z.~!$&'()*+,;=/%20", "/a:b@c/x-y_z.~!$&'()*+,;=/%20"},
	} {
		b := bkBackend(t, cl, "Backend "+strconv.Itoa(i))
		created, err := cl.CreateBackendapiUsage(svc, client.Params{"backend_api_id": strconv.FormatInt(b.ID, 10), "path": tc.sent})
		require.NoError(t, err, "path %q", tc.sent)
		assert.Equal(t, tc.stored, created.Element.Path, "path %q", tc.sent)
		read, err := cl.BackendapiUsage(svc, created.Element.ID)
		require.NoError(t, err)
		assert.Equal(t, tc.stored, read.Element.Path, "path %q read back", tc.sent)
		require.NoError(t, cl.DeleteBackendapiUsage(svc, created.Element.ID))
	}

	b := bkBackend(t, cl, "Refused")
	const format = `must be a path separated by "/". E.g. "" or "my/path"`
	for _, path := range []string{"/v1 x", "/v1?x=1", "/v1#top", "/{version}", "/a|b", "/a%zz", "/caf\u00e9", "/a\\b", "/a<b>", "/a^b", "/a`b", "/a[0]"} {
		status, body := formCall(t, co, http.MethodPost, base+".json", url.Values{"backend_api_id": {strconv.FormatInt(b.ID, 10)}, "path": {path}})
		assert.Equal(t, []string{format}, fieldErrors(t, status, body)["path"], "path %q", path)
	}
	long := "/" + strings.Repeat("a", 255)
	status, body := formCall(t, co, http.MethodPost, base+".json", url.Values{"backend_api_id": {strconv.FormatInt(b.ID, 10)}, "path": {long}})
	assert.Equal(t, []string{"is too long (maximum is 255 characters)"}, fieldErrors(t, status, body)["path"])

	// An update is normalised and checked the same way.
	created, err := cl.CreateBackendapiUsage(svc, client.Params{"backend_api_id": strconv.FormatInt(b.ID, 10), "path": "/ok"})
	require.NoError(t, err)
	updated, err := cl.UpdateBackendapiUsage(svc, created.Element.ID, client.Params{"path": "foo/bar/updated/"})
	require.NoError(t, err)
	assert.Equal(t, "/foo/bar/updated", updated.Element.Path)
	status, body = formCall(t, co, http.MethodPut, base+"/"+strconv.FormatInt(created.Element.ID, 10)+".json", url.Values{"path": {"/{x}"}})
	assert.Equal(t, []string{format}, fieldErrors(t, status, body)["path"])

	// Uniqueness holds for the stored path: "v3" and "/v3/" are one mount.
	c := bkBackend(t, cl, "Third")
	_, err = cl.CreateBackendapiUsage(svc, client.Params{"backend_api_id": strconv.FormatInt(c.ID, 10), "path": "v3"})
	require.NoError(t, err)
	d := bkBackend(t, cl, "Fourth")
	_, err = cl.CreateBackendapiUsage(svc, client.Params{"backend_api_id": strconv.FormatInt(d.ID, 10), "path": "//V3/"})
	apiErr(t, err, http.StatusUnprocessableEntity, "This path is already taken. Specify a different path.")
}
