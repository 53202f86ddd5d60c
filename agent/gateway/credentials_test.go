package gateway

import (
	"encoding/base64"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/portolan/portolan/composition"
)

func source(location, version string) credentialSource {
	p := composition.DefaultProxy(2)
	p.CredentialsLocation = location
	return newCredentialSource(p, version)
}

func basic(user, pass string) string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+pass))
}

func TestCredentialsExtraction(t *testing.T) {
	renamed := composition.DefaultProxy(2)
	renamed.CredentialsLocation, renamed.AuthUserKey, renamed.AuthAppID, renamed.AuthAppKey = composition.CredentialsQuery, "api-key", "id", "secret"
	renamedHeaders := *renamed
	renamedHeaders.CredentialsLocation = composition.CredentialsHeaders
	for _, tc := range []struct {
		name   string
		src    credentialSource
		target string
		header http.Header
		want   composition.Credentials
	}{
		{name: "query user_key", src: source("query", "1"), target: "/a?x=1&user_key=k1&y=2", want: composition.Credentials{UserKey: "k1"}},
		{name: "query first value wins", src: source("query", "1"), target: "/a?user_key=k1&user_key=k2", want: composition.Credentials{UserKey: "k1"}},
		{name: "query escaped value", src: source("query", "1"), target: "/a?user_key=a%2Bb+c", want: composition.Credentials{UserKey: "a+b c"}},
		{name: "query escaped name", src: source("query", "1"), target: "/a?user%5Fkey=k1", want: composition.Credentials{UserKey: "k1"}},
		{name: "query malformed escape is kept as sent, as nginx's $arg_", src: source("query", "1"), target: "/a?user_key=%zz", want: composition.Credentials{UserKey: "%zz"}},
		{name: "query missing", src: source("query", "1"), target: "/a?app_id=x", want: composition.Credentials{}},
		{name: "query ignores headers", src: source("query", "1"), target: "/a", header: http.Header{"User_key": {"k1"}}, want: composition.Credentials{}},
		{name: "query app_id and app_key", src: source("query", "2"), target: "/a?app_key=s&app_id=i", want: composition.Credentials{AppID: "i", AppKey: "s"}},
		{name: "query app_id only", src: source("query", "2"), target: "/a?app_id=i", want: composition.Credentials{AppID: "i"}},
		{name: "query v2 ignores user_key", src: source("query", "2"), target: "/a?user_key=k", want: composition.Credentials{}},
		{name: "query renamed", src: newCredentialSource(renamed, "1"), target: "/a?user_key=no&api-key=k", want: composition.Credentials{UserKey: "k"}},
		{name: "query renamed v2", src: newCredentialSource(renamed, "2"), target: "/a?id=i&secret=s", want: composition.Credentials{AppID: "i", AppKey: "s"}},
		{name: "headers user_key", src: source("headers", "1"), target: "/a", header: http.Header{"User_key": {"k1"}}, want: composition.Credentials{UserKey: "k1"}},
		{name: "headers User-Key as nginx reads it", src: source("headers", "1"), target: "/a", header: http.Header{"User-Key": {" k1 "}}, want: composition.Credentials{UserKey: "k1"}},
		{name: "headers ignore the query", src: source("headers", "1"), target: "/a?user_key=k", want: composition.Credentials{}},
		{name: "headers app id and key", src: source("headers", "2"), target: "/a", header: http.Header{"App-Id": {"i"}, "App_key": {"s"}}, want: composition.Credentials{AppID: "i", AppKey: "s"}},
		{name: "headers renamed", src: newCredentialSource(&renamedHeaders, "1"), target: "/a", header: http.Header{"Api-Key": {"k"}}, want: composition.Credentials{UserKey: "k"}},
		{name: "basic user_key", src: source("authorization", "1"), target: "/a", header: http.Header{"Authorization": {basic("k1", "")}}, want: composition.Credentials{UserKey: "k1"}},
		{name: "basic scheme case", src: source("authorization", "1"), target: "/a", header: http.Header{"Authorization": {"bAsIc " + base64.StdEncoding.EncodeToString([]byte("k1:"))}}, want: composition.Credentials{UserKey: "k1"}},
		{name: "basic splits at the last colon", src: source("authorization", "2"), target: "/a", header: http.Header{"Authorization": {basic("i", "s:s")}}, want: composition.Credentials{AppID: "i:s", AppKey: "s"}},
		{name: "basic without colon", src: source("authorization", "1"), target: "/a", header: http.Header{"Authorization": {"Basic " + base64.StdEncoding.EncodeToString([]byte("k1"))}}, want: composition.Credentials{}},
		{name: "basic bad base64", src: source("authorization", "1"), target: "/a", header: http.Header{"Authorization": {"Basic !!!"}}, want: composition.Credentials{}},
		{name: "bearer is the user_key", src: source("authorization", "1"), target: "/a", header: http.Header{"Authorization": {"Bearer abc"}}, want: composition.Credentials{UserKey: "abc"}},
		{name: "bearer is the app_id", src: source("authorization", "2"), target: "/a", header: http.Header{"Authorization": {"Bearer abc"}}, want: composition.Credentials{AppID: "abc"}},
		{name: "other schemes give nothing", src: source("authorization", "1"), target: "/a", header: http.Header{"Authorization": {"Digest abc"}}, want: composition.Credentials{}},
		{name: "authorization ignores the query", src: source("authorization", "1"), target: "/a?user_key=k", want: composition.Credentials{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodGet, tc.target, nil)
			for k, v := range tc.header {
				r.Header[k] = v
			}
			got := tc.src.extract(r)
			assert.Equal(t, tc.want, got)
			assert.Equal(t, tc.want.Empty(), got.Empty())
		})
	}
}

// APIcast tells a credential sent empty from one not sent: nginx's $arg_
// and $http_ variables are "" for "user_key=" and for an empty header, nil
// for a query without the "name=" pair or a request without the header;
// only nil is missing (configuration/service.lua version_1, version_2).
func TestCredentialsTellEmptyFromAbsent(t *testing.T) {
	for _, tc := range []struct {
		name              string
		src               credentialSource
		target            string
		header            http.Header
		complete, missing bool // missing: none of the version's (default_credentials' creds_missing)
	}{
		{name: "v1 absent", src: source("query", "1"), target: "/a", complete: false, missing: true},
		{name: "v1 empty", src: source("query", "1"), target: "/a?user_key=", complete: true},
		{name: "v1 without =", src: source("query", "1"), target: "/a?user_key", complete: false, missing: true},
		{name: "v2 app_id only", src: source("query", "2"), target: "/a?app_id=i", complete: false},
		{name: "v2 app_key only", src: source("query", "2"), target: "/a?app_key=k", complete: false},
		{name: "v2 empty app_key", src: source("query", "2"), target: "/a?app_id=i&app_key=", complete: true},
		{name: "v2 none", src: source("query", "2"), target: "/a?user_key=k", complete: false, missing: true},
		{name: "header empty", src: source("headers", "1"), target: "/a", header: http.Header{"User-Key": {""}}, complete: true},
		{name: "header absent", src: source("headers", "1"), target: "/a", complete: false, missing: true},
		{name: "basic empty user", src: source("authorization", "1"), target: "/a", header: http.Header{"Authorization": {basic("", "")}}, complete: true},
		{name: "bearer empty app_id", src: source("authorization", "2"), target: "/a", header: http.Header{"Authorization": {"Bearer"}}, complete: false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodGet, tc.target, nil)
			for k, v := range tc.header {
				r.Header[k] = v
			}
			_, got := tc.src.read(r)
			assert.Equal(t, tc.complete, tc.src.complete(got), "complete")
			assert.Equal(t, tc.missing, tc.src.none(got), "none given")
		})
	}
}

func TestCredentialsAreBounded(t *testing.T) {
	long := strings.Repeat("k", 10*maxCredentialLen)
	src := source("query", "1")
	c := src.extract(httptest.NewRequest(http.MethodGet, "/a?user_key="+long, nil))
	assert.Len(t, c.UserKey, maxCredentialLen+1, "cut one byte over the bound: never equal to a valid key")
	r := httptest.NewRequest(http.MethodGet, "/a", nil)
	r.Header.Set("Authorization", basic(long, ""))
	auth := source("authorization", "1")
	assert.True(t, auth.extract(r).Empty(), "an oversized Authorization header is not even decoded")
}

func TestQueryValueDoesNotAllocateUnescaped(t *testing.T) {
	raw := "a=1&b=2&user_key=0123456789abcdef&z=3"
	allocs := testing.AllocsPerRun(100, func() {
		if v, _ := queryLookup(raw, "user_key"); v != "0123456789abcdef" {
			t.Fatal("wrong value")
		}
	})
	assert.Zero(t, allocs)
}

// FuzzCredentials feeds arbitrary queries, header values and Authorization
// headers to every location and backend version: extraction never panics,
// never returns more than the bound, agrees with net/url on the query, and
// finds a value it was given back.
func FuzzCredentials(f *testing.F) {
	f.Add("user_key=abc", "abc", basic("abc", ""), "abc")
	f.Add("app_id=i&app_key=s", "i", basic("i", "s"), "i")
	f.Add("user%5Fkey=a%2Bb+c&user_key=x", "", "Basic", "a b")
	f.Add("=&&==&user_key", " \t", "basic ===", "")
	f.Add("user_key=%zz", "x", "Basic "+base64.StdEncoding.EncodeToString([]byte(strings.Repeat("x", 600))), "%")
	f.Fuzz(func(t *testing.T, rawQuery, headerValue, authorization, key string) {
		r := &http.Request{Method: http.MethodGet, URL: &url.URL{Path: "/", RawQuery: rawQuery}, Header: http.Header{}}
		r.Header["User_key"] = []string{headerValue}
		r.Header["App-Id"] = []string{headerValue}
		r.Header["Authorization"] = []string{authorization}
		for _, loc := range []string{composition.CredentialsQuery, composition.CredentialsHeaders, composition.CredentialsAuthorization, "bogus"} {
			for _, v := range []string{backendUserKey, backendAppID, backendOIDC} {
				src := source(loc, v)
				c := src.extract(r)
				for _, s := range []string{c.UserKey, c.AppID, c.AppKey} {
					require.LessOrEqual(t, len(s), maxCredentialLen+1)
				}
			}
		}
		// The query location agrees with net/url wherever net/url parses the pair.
		if q, err := url.ParseQuery(rawQuery); err == nil && !strings.Contains(rawQuery, ";") {
			src := source(composition.CredentialsQuery, backendUserKey)
			assert.Equal(t, bound(q.Get("user_key")), src.extract(r).UserKey, "query %q", rawQuery)
		}
		// A key put in the query, or in Basic authorization, comes back.
		if len(key) <= maxCredentialLen && !strings.Contains(key, ":") {
			src := source(composition.CredentialsQuery, backendUserKey)
			r.URL.RawQuery = "x=1&" + url.Values{"user_key": {key}}.Encode()
			assert.Equal(t, key, src.extract(r).UserKey)
			src = source(composition.CredentialsAuthorization, backendAppID)
			r.Header["Authorization"] = []string{basic(key, key)}
			c := src.extract(r)
			assert.Equal(t, key, c.AppID)
			assert.Equal(t, key, c.AppKey)
		}
	})
}

func TestCredentialsFromHeadersNormaliseNames(t *testing.T) {
	p := composition.DefaultProxy(2)
	p.CredentialsLocation, p.AuthUserKey = composition.CredentialsHeaders, "api-key"
	src := newCredentialSource(p, backendUserKey)
	for _, h := range []string{"Api-Key", "Api_key", "API_KEY", "api-key"} {
		r := httptest.NewRequest(http.MethodGet, "/", nil)
		r.Header[http.CanonicalHeaderKey(h)] = []string{"k"}
		assert.Equal(t, "k", src.extract(r).UserKey, h)
	}
}

// APIcast reads the query location's credentials from a form body for other
// methods than GET; the body is forwarded whole.
func TestCredentialsFromFormBody(t *testing.T) {
	src := source(composition.CredentialsQuery, backendUserKey)
	r := httptest.NewRequest(http.MethodPost, "/articles", strings.NewReader("title=x&user_key=k1"))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
	assert.Equal(t, "k1", src.extract(r).UserKey)
	b, err := io.ReadAll(r.Body)
	require.NoError(t, err)
	assert.Equal(t, "title=x&user_key=k1", string(b), "the body is put back for the upstream")

	r = httptest.NewRequest(http.MethodPost, "/articles?user_key=q", strings.NewReader("user_key=k1"))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	assert.Equal(t, "q", src.extract(r).UserKey, "the query first")

	r = httptest.NewRequest(http.MethodPost, "/articles", strings.NewReader(`{"user_key":"k1"}`))
	r.Header.Set("Content-Type", "application/json")
	assert.True(t, src.extract(r).Empty(), "only form bodies")

	for _, m := range []string{http.MethodGet, http.MethodDelete, http.MethodOptions} {
		r = httptest.NewRequest(m, "/articles", strings.NewReader("user_key=k1"))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		assert.True(t, src.extract(r).Empty(), "only POST, PUT and PATCH: not %s", m)
	}
}

// extract returns the credentials r presents; Empty reports none.
func (s *credentialSource) extract(r *http.Request) composition.Credentials {
	c, _ := s.read(r)
	return c
}
