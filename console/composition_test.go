package console

import (
	"encoding/json"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestServicesPageListsEveryServiceWithLinks(t *testing.T) {
	f := newFixture(t)
	code, body := f.get(t, "/ui/services")
	require.Equal(t, http.StatusOK, code, body)
	f.requireNoSecret(t, "/ui/services", body)

	links := regexp.MustCompile(`<a class="service-link" href="/ui/services/(\d+)">([^<]+)</a>`).FindAllStringSubmatch(body, -1)
	require.Len(t, links, 2, "one link per service")
	assert.Equal(t, []string{strconv.FormatInt(f.billing.ID, 10), "Billing"}, links[0][1:], "services are listed by name")
	assert.Equal(t, []string{strconv.FormatInt(f.news.ID, 10), "News API"}, links[1][1:])

	news := tableRowOf(t, body, "News API")
	for _, want := range []string{"<code>news</code>", "API key (user_key)", "Newsroom → https://svc:xxxxx@newsroom.internal:8443 at /v1",
		`<td class="num">2</td><td class="num">2</td>`, "headers → my_auth → apicast"} {
		assert.Contains(t, news, want, "the News API row")
	}
	billing := tableRowOf(t, body, "Billing")
	assert.Contains(t, billing, "App ID and App Key")
	assert.Contains(t, billing, `<td class="num">1</td><td class="num">1</td>`, "one plan, one application")
	assert.Contains(t, body, `<th scope="col">Policy chain</th>`, "column headers carry their scope")
}

func TestServicePageShowsTheCompositionWithSecretsMasked(t *testing.T) {
	f := newFixture(t)
	path := "/ui/services/" + strconv.FormatInt(f.news.ID, 10)
	code, body := f.get(t, path)
	require.Equal(t, http.StatusOK, code, body)
	f.requireNoSecret(t, path, body)

	for _, want := range []string{
		"<h1>Service News API</h1>",
		// metrics and methods, with their owner
		`<th scope="row">Search</th><td><code>search</code></td>`, "method of hits",
		// the mapping rule
		"<code>/search/{term}</code>", `<td class="num">2</td><td>yes</td>`,
		// the policy chain, in order, with versions and state
		"headers <span class=\"muted\">builtin</span>", "my_auth <span class=\"muted\">1.2.0</span>",
		// the plan's limits and pricing
		"Limits of Basic", `<th scope="row"><code>hits</code></th><td>hour</td><td class="num">1000</td>`,
		`<th scope="row"><code>search</code></th><td>minute</td><td class="num">0</td>`,
		"Pricing of Basic", `<td class="num">101</td><td class="num">no limit</td><td class="num">0.1</td>`,
		"Setup fee 0.00, 9.50 a month",
		// accounts and applications, keys masked
		"ACME Corp", "Zeta Ltd", "Reader", "user_key <code>uk••••</code>",
		// the OIDC issuer without its password
		"https://portolan:xxxxx@idp.example.com/realms/news",
	} {
		assert.Contains(t, body, want)
	}
	assert.Less(t, strings.Index(body, "ACME Corp"), strings.Index(body, "Zeta Ltd"), "accounts by name")
	assert.Less(t, strings.Index(body, ">headers "), strings.Index(body, ">my_auth "), "the chain in its order")
	// The harmless header value stays readable, the secret one does not.
	assert.Contains(t, body, "acme-tenant")
	assert.Contains(t, body, "news-realm")

	billing := "/ui/services/" + strconv.FormatInt(f.billing.ID, 10)
	code, body = f.get(t, billing)
	require.Equal(t, http.StatusOK, code)
	f.requireNoSecret(t, billing, body)
	assert.Contains(t, body, "app_id <code>ap••••</code> key <code>ap••••</code> key <code>ap••••</code>")
}

func TestServicePageOfAnUnknownServiceIs404(t *testing.T) {
	f := newFixture(t)
	for _, path := range []string{"/ui/services/999999", "/ui/services/news", "/ui/services/-1"} {
		code, body := f.get(t, path)
		assert.Equal(t, http.StatusNotFound, code, path)
		assert.Contains(t, body, "Service not found", path)
		assert.Contains(t, body, `href="/ui/services"`, "%s links back to the list", path)
	}
}

func TestCompositionPagesKeepTheStrictPolicy(t *testing.T) {
	f := newFixture(t)
	for _, path := range []string{"/ui/services", "/ui/services/" + strconv.FormatInt(f.news.ID, 10)} {
		w := f.recorder(t, path)
		assert.Contains(t, w.Header().Get("Content-Security-Policy"), "script-src 'self'", path)
		body := w.Body.String()
		assert.NotContains(t, body, "style=", "%s uses no inline style (the policy forbids it)", path)
		assert.NotContains(t, body, "<script>", "%s uses no inline script", path)
	}
}

func TestMaskedJSONHidesSecretValues(t *testing.T) {
	for _, tc := range []struct {
		name, in string
		hidden   []string
		shown    []string
	}{
		{"secret-sounding keys", `{"client_secret":"abcdef123","apiKey":"k-123456","token":42,"realm":"r1"}`,
			[]string{"abcdef123", "k-123456", "42"}, []string{`"realm": "r1"`, `"client_secret": "ab••••"`}},
		{"leaves below a secret key", `{"credentials":{"user":"bob-the-user","list":["one-secret","two-secret"]}}`,
			[]string{"bob-the-user", "one-secret", "two-secret"}, nil},
		{"header values", `{"request":[{"header":"X-Api-Key","value":"hv-99999"},{"name":"Cookie","value":"c-88888"},{"header":"Accept","value":"text/plain"}]}`,
			[]string{"hv-99999", "c-88888"}, []string{"text/plain"}},
		{"url passwords", `{"url":"https://me:pw-77777@host.example/x","plain":"https://host.example/@home"}`,
			[]string{"pw-77777"}, []string{"me:xxxxx@host.example", "https://host.example/@home"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out := maskedJSON(json.RawMessage(tc.in))
			for _, h := range tc.hidden {
				assert.NotContains(t, out, h)
			}
			for _, s := range tc.shown {
				assert.Contains(t, out, s)
			}
			assert.True(t, json.Valid([]byte(out)), "the masked configuration is still JSON: %s", out)
		})
	}
	assert.Equal(t, "", maskedJSON(nil))
	assert.NotContains(t, maskedJSON(json.RawMessage(`{"secret": "x`)), "x", "broken JSON is not shown")
}

// tableRowOf returns the table row that holds text.
func tableRowOf(t *testing.T, body, text string) string {
	t.Helper()
	i := strings.Index(body, ">"+text+"<")
	require.GreaterOrEqualf(t, i, 0, "no row holds %q", text)
	start := strings.LastIndex(body[:i], "<tr>")
	end := strings.Index(body[i:], "</tr>")
	require.True(t, start >= 0 && end >= 0, "%q is not in a table row", text)
	return body[start : i+end]
}
