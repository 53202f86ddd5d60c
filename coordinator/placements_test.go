package coordinator_test

import (
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// placementCall is one request to the placements API and the answer it must
// get, byte for byte (timestamps masked as "T").
type placementCall struct {
	method, path, accept, body string
	noToken                    bool
	status                     int
	contentType                string
	want                       string
	allow                      string // the Allow header of a 405
}

var stamps = regexp.MustCompile(`"(created|updated)_at":"[^"]*"`)

// Every answer of /admin/portolan/placements, status, content type, headers
// and body: the exact wire of Portolan's placements API, whatever serves it.
func TestPlacementsAnswerExactly(t *testing.T) {
	base, _ := startUsageHome(t, t.TempDir())
	service := adminCreate(t, base, "/admin/api/services.json", "name=News&system_name=news&backend_version=1")
	plan := adminCreate(t, base, "/admin/api/services/"+s(service)+"/application_plans.json", "name=Basic")
	const js = "application/json; charset=utf-8"
	const text = "text/plain; charset=utf-8"
	valid := fmt.Sprintf(`{"name":"pool","selector":{"service":"newsapi","labels":{"pool":"a"}},"service_id":%d,"plan_ids":[%d]}`, service, plan)
	noPlans := fmt.Sprintf(`{"selector":{"service":"other"},"service_id":%d}`, service)
	big := `{"name":"` + strings.Repeat("x", 64<<10) + `"}`
	one := fmt.Sprintf(`{"placement":{"id":%%d,"name":"%%s","selector":{"service":"%%s"%%s},"service_id":%d,"plan_ids":%%s,"created_at":"T","updated_at":"T"}}`+"\n", service)
	first := plan + 1
	created := fmt.Sprintf(one, first, "pool", "newsapi", `,"labels":{"pool":"a"}`, fmt.Sprintf("[%d]", plan))
	replaced := fmt.Sprintf(one, first, "other", "other", "", "null")
	notFound := `{"status":"Not found"}`
	for _, c := range []placementCall{
		{method: "GET", path: "/admin/portolan/placements", noToken: true, status: 403, contentType: js, want: `{"error":"Access denied"}`},
		{method: "POST", path: "/admin/portolan/placements", body: valid, noToken: true, status: 403, contentType: js, want: `{"error":"Access denied"}`},
		{method: "GET", path: "/admin/portolan/placements", status: 200, contentType: js, want: `{"placements":[]}` + "\n"},
		{method: "POST", path: "/admin/portolan/placements", body: `{"name":`, status: 400, contentType: js,
			want: `{"error":"malformed placement: unexpected EOF"}`},
		{method: "POST", path: "/admin/portolan/placements", body: `{"bogus":1}`, status: 400, contentType: js,
			want: `{"error":"malformed placement: json: unknown field \"bogus\""}`},
		{method: "POST", path: "/admin/portolan/placements", body: "name=x", status: 400, contentType: js,
			want: `{"error":"malformed placement: invalid character 'a' in literal null (expecting 'u')"}`},
		{method: "POST", path: "/admin/portolan/placements", body: big, status: 413, contentType: js,
			want: `{"error":"request body exceeds 65536 bytes"}`},
		{method: "POST", path: "/admin/portolan/placements", body: fmt.Sprintf(`{"service_id":%d}`, service), status: 422, contentType: js,
			want: `{"errors":{"name":["can't be blank"],"selector.service":["can't be blank"]}}`},
		{method: "POST", path: "/admin/portolan/placements", body: valid, status: 201, contentType: js, want: created},
		{method: "GET", path: fmt.Sprintf("/admin/portolan/placements/%d", first), status: 200, contentType: js, want: created},
		{method: "GET", path: fmt.Sprintf("/admin/portolan/placements/%d", first), accept: "application/xml", status: 200, contentType: js, want: created},
		{method: "GET", path: "/admin/portolan/placements", status: 200, contentType: js,
			want: `{"placements":[` + strings.TrimSuffix(strings.TrimPrefix(created, `{"placement":`), "}\n") + "]}\n"},
		{method: "GET", path: "/admin/portolan/placements?page=2&per_page=1", status: 200, contentType: js,
			want: `{"placements":[` + strings.TrimSuffix(strings.TrimPrefix(created, `{"placement":`), "}\n") + "]}\n"},
		{method: "HEAD", path: "/admin/portolan/placements", status: 200, contentType: js, want: ""},
		{method: "GET", path: "/admin/portolan/placements/abc", status: 404, contentType: js, want: notFound},
		{method: "GET", path: "/admin/portolan/placements/0", status: 404, contentType: js, want: notFound},
		{method: "GET", path: "/admin/portolan/placements/999", status: 404, contentType: js, want: notFound},
		{method: "GET", path: "/admin/portolan/placements.json", status: 404, contentType: text, want: "404 page not found\n"},
		{method: "GET", path: fmt.Sprintf("/admin/portolan/placements/%d.json", first), status: 404, contentType: js, want: notFound},
		{method: "GET", path: fmt.Sprintf("/admin/portolan/placements/%d/x", first), status: 404, contentType: text, want: "404 page not found\n"},
		{method: "PATCH", path: fmt.Sprintf("/admin/portolan/placements/%d", first), body: noPlans, status: 405, contentType: text,
			want: "Method Not Allowed\n", allow: "DELETE, GET, HEAD, PUT"},
		{method: "POST", path: fmt.Sprintf("/admin/portolan/placements/%d", first), body: noPlans, status: 405, contentType: text,
			want: "Method Not Allowed\n", allow: "DELETE, GET, HEAD, PUT"},
		{method: "PUT", path: "/admin/portolan/placements", body: noPlans, status: 405, contentType: text,
			want: "Method Not Allowed\n", allow: "GET, HEAD, POST"},
		{method: "PUT", path: "/admin/portolan/placements/abc", body: `{"name":`, status: 404, contentType: js, want: notFound},
		{method: "PUT", path: "/admin/portolan/placements/0", body: `{"name":`, status: 400, contentType: js,
			want: `{"error":"malformed placement: unexpected EOF"}`},
		{method: "PUT", path: "/admin/portolan/placements/-1", body: noPlans, status: 404, contentType: js, want: notFound},
		{method: "PUT", path: "/admin/portolan/placements/999", body: `{"bogus":1}`, status: 400, contentType: js,
			want: `{"error":"malformed placement: json: unknown field \"bogus\""}`},
		{method: "PUT", path: "/admin/portolan/placements/999", body: noPlans, status: 404, contentType: js, want: notFound},
		{method: "PUT", path: fmt.Sprintf("/admin/portolan/placements/%d", first), body: big, status: 413, contentType: js,
			want: `{"error":"request body exceeds 65536 bytes"}`},
		{method: "PUT", path: fmt.Sprintf("/admin/portolan/placements/%d", first), body: fmt.Sprintf(`{"selector":{"service":"x"},"service_id":%d,"plan_ids":[424242]}`, service),
			status: 422, contentType: js, want: `{"errors":{"plan_ids":["plan 424242 is not a plan of the service"]}}`},
		{method: "PUT", path: fmt.Sprintf("/admin/portolan/placements/%d", first), body: noPlans, status: 200, contentType: js, want: replaced},
		{method: "DELETE", path: "/admin/portolan/placements/abc", status: 404, contentType: js, want: notFound},
		{method: "DELETE", path: "/admin/portolan/placements/0", status: 404, contentType: js, want: notFound},
		{method: "DELETE", path: fmt.Sprintf("/admin/portolan/placements/%d", first), status: 200, contentType: "", want: ""},
		{method: "DELETE", path: fmt.Sprintf("/admin/portolan/placements/%d", first), status: 404, contentType: js, want: notFound},
		{method: "GET", path: "/admin/portolan/placements", status: 200, contentType: js, want: `{"placements":[]}` + "\n"},
	} {
		name := c.method + " " + c.path
		req, err := http.NewRequest(c.method, base+c.path, strings.NewReader(c.body))
		require.NoError(t, err)
		if c.body != "" {
			req.Header.Set("Content-Type", "application/json")
		}
		if c.accept != "" {
			req.Header.Set("Accept", c.accept)
		}
		if !c.noToken {
			req.SetBasicAuth("", usageAdminToken)
		}
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err, name)
		b, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		require.NoError(t, err, name)
		got := stamps.ReplaceAllString(string(b), `"${1}_at":"T"`)
		assert.Equal(t, c.status, resp.StatusCode, "%s: %s", name, b)
		assert.Equal(t, c.contentType, resp.Header.Get("Content-Type"), name)
		assert.Equal(t, c.want, got, name)
		assert.Equal(t, c.allow, resp.Header.Get("Allow"), name)
	}
}
