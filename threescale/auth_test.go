package threescale

import (
	"bytes"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const testToken = "0123456789abcdef"

func TestTokenCheckerCheck(t *testing.T) {
	tc := NewTokenChecker("other-token", testToken, "")
	tests := []struct {
		name   string
		target string
		user   *[2]string
		want   bool
	}{
		{"access_token query", "/admin/api/services.json?access_token=" + testToken, nil, true},
		{"provider_key query", "/admin/api/services.json?provider_key=" + testToken, nil, true},
		{"second of repeated", "/x?access_token=bad&access_token=" + testToken, nil, true},
		{"basic password, empty user (official client)", "/x", &[2]string{"", testToken}, true},
		{"basic user, empty password", "/x", &[2]string{testToken, ""}, true},
		{"basic user, other password", "/x", &[2]string{testToken, "whatever"}, true},
		{"basic other user, password: porta reads the user", "/x", &[2]string{"me", testToken}, false},
		{"basic blank user, password", "/x", &[2]string{" ", testToken}, true},
		{"last of repeated wins over an earlier good one", "/x?access_token=" + testToken + "&access_token=bad", nil, false},
		{"empty access_token, Basic stands in for provider_key", "/x?access_token=", &[2]string{"", testToken}, true},
		{"wrong query", "/x?access_token=nope", nil, false},
		{"prefix of token", "/x?access_token=" + testToken[:8], nil, false},
		{"token plus suffix", "/x?access_token=" + testToken + "x", nil, false},
		{"empty token", "/x?access_token=", nil, false},
		{"wrong basic", "/x", &[2]string{"", "nope"}, false},
		{"empty basic", "/x", &[2]string{"", ""}, false},
		{"missing", "/x", nil, false},
		{"other param name", "/x?token=" + testToken, nil, false},
		{"malformed query still parsed", "/x?a=%zz&access_token=" + testToken, nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest("GET", tt.target, nil)
			if tt.user != nil {
				r.SetBasicAuth(tt.user[0], tt.user[1])
			}
			assert.Equal(t, tt.want, tc.Check(r))
		})
	}
}

func TestTokenCheckerRefusesWithoutTokens(t *testing.T) {
	for _, tc := range []*TokenChecker{NewTokenChecker(), NewTokenChecker(""), nil} {
		r := httptest.NewRequest("GET", "/x?access_token=", nil)
		r.SetBasicAuth("", "")
		assert.False(t, tc.Check(r))
		assert.False(t, tc.CheckParams(NewParams(url.Values{"access_token": {""}})))
	}
}

func TestTokenCheckerCheckParams(t *testing.T) {
	tc := NewTokenChecker(testToken)
	assert.True(t, tc.CheckParams(NewParams(url.Values{"access_token": {testToken}})))
	assert.True(t, tc.CheckParams(NewParams(url.Values{"provider_key": {testToken}})))
	assert.False(t, tc.CheckParams(NewParams(url.Values{"access_token": {"x"}})))
	assert.False(t, tc.CheckParams(nil))

	p := mustReadParams(t, newCodecRequest("POST", "/x.json", "application/json", `{"access_token":"`+testToken+`","name":"n"}`))
	assert.True(t, tc.CheckParams(p))
}

// However often a request repeats a credential, it presents one token a
// name: a long list of guesses costs no more than one.
func TestTokenCheckerReadsOneValueOfARepeatedName(t *testing.T) {
	tc := NewTokenChecker(testToken)
	calls := 0
	tc.equal = func(a, b []byte) int { calls++; return subtle.ConstantTimeCompare(a, b) }
	q := url.Values{}
	for i := 0; i < 1000; i++ {
		q.Add("access_token", testToken)
		q.Add("access_token", "bad")
	}
	assert.False(t, tc.Check(httptest.NewRequest("GET", "/x?"+q.Encode(), nil)), "the last value, bad, is the token")
	assert.Equal(t, 1, calls, "one token compared with the one configured")
}

func TestTokenCheckerConstantTime(t *testing.T) {
	tc := NewTokenChecker("short", testToken)
	var calls [][2][]byte
	tc.equal = func(a, b []byte) int {
		calls = append(calls, [2][]byte{a, b})
		return subtle.ConstantTimeCompare(a, b)
	}
	r := httptest.NewRequest("GET", "/x?access_token="+testToken+"-and-a-much-longer-suffix", nil)
	assert.False(t, tc.Check(r))
	// Every configured token is compared, as equal-length digests, whatever
	// the candidate's length.
	require.Len(t, calls, 2)
	for _, c := range calls {
		assert.Len(t, c[0], sha256.Size)
		assert.Len(t, c[1], sha256.Size)
	}

	calls = nil
	r = httptest.NewRequest("GET", "/x?access_token=short", nil)
	assert.True(t, tc.Check(r))
	assert.Len(t, calls, 2, "no early exit on the first match")
	sum := sha256.Sum256([]byte("short"))
	assert.Equal(t, sum[:], calls[0][0])
}

func TestMiddleware(t *testing.T) {
	tc := NewTokenChecker(testToken)
	var seen *Params
	var seenBody string
	next := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, err := ReadParams(w, r, 0)
		if err != nil {
			WriteError(w, JSON, err)
			return
		}
		seen = p
		b, _ := io.ReadAll(r.Body)
		seenBody = string(b)
		w.WriteHeader(http.StatusTeapot)
	})
	h := tc.Middleware(next)

	multipartBody := func(token string) (string, string) {
		var buf bytes.Buffer
		mw := multipart.NewWriter(&buf)
		_ = mw.WriteField("access_token", token)
		_ = mw.WriteField("name", "m")
		_ = mw.Close()
		return buf.String(), mw.FormDataContentType()
	}
	mpOK, mpCT := multipartBody(testToken)
	mpBad, _ := multipartBody("bad")

	tests := []struct {
		name, method, target, ct, body string
		basic                          bool
		wantStatus                     int
		wantBody                       string
		wantName                       string
	}{
		{"query token", "GET", "/admin/api/services.json?access_token=" + testToken, "", "", false, 418, "", ""},
		{"basic token", "DELETE", "/admin/api/services/1.xml", "application/x-www-form-urlencoded", "", true, 418, "", ""},
		{"query token leaves body to handler", "POST", "/x.json?access_token=" + testToken, "application/x-www-form-urlencoded", "name=q", false, 418, "", "q"},
		{"form body token", "POST", "/admin/api/services.xml", "application/x-www-form-urlencoded", "name=n&access_token=" + testToken, false, 418, "", "n"},
		{"form body token without content type", "POST", "/x", "", "access_token=" + testToken + "&name=d", false, 418, "", "d"},
		{"json body token", "PUT", "/x.json", "application/json", `{"access_token":"` + testToken + `","name":"j"}`, false, 418, "", "j"},
		{"multipart body token", "POST", "/x.json", mpCT, mpOK, false, 418, "", "m"},
		{"provider_key body", "POST", "/x.json", "application/x-www-form-urlencoded", "provider_key=" + testToken + "&name=p", false, 418, "", "p"},
		{"missing json", "GET", "/admin/api/services.json", "", "", false, 403, `{"error":"Access denied"}`, ""},
		{"missing xml", "GET", "/admin/api/services.xml", "", "", false, 403, `<?xml version="1.0" encoding="UTF-8"?><error>Access denied</error>`, ""},
		{"wrong query", "GET", "/admin/api/services.json?access_token=nope", "", "", false, 403, `{"error":"Access denied"}`, ""},
		{"wrong body token", "POST", "/x.json", "application/x-www-form-urlencoded", "access_token=nope", false, 403, `{"error":"Access denied"}`, ""},
		{"wrong multipart token", "POST", "/x.json", mpCT, mpBad, false, 403, `{"error":"Access denied"}`, ""},
		{"malformed body hides parse error", "POST", "/x.json", "application/json", `{"access_token":`, false, 403, `{"error":"Access denied"}`, ""},
		{"oversize body", "POST", "/x.json", "application/x-www-form-urlencoded", "access_token=" + testToken + "&pad=" + strings.Repeat("x", 500), false, 403, `{"error":"Access denied"}`, ""},
	}
	tc.BodyLimit = 400
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			seen, seenBody = nil, ""
			var body io.Reader
			if tt.body != "" {
				body = strings.NewReader(tt.body)
			}
			r := httptest.NewRequest(tt.method, tt.target, body)
			if tt.ct != "" {
				r.Header.Set("Content-Type", tt.ct)
			}
			if tt.basic {
				r.SetBasicAuth("", testToken)
			}
			w := httptest.NewRecorder()
			h.ServeHTTP(w, r)
			assert.Equal(t, tt.wantStatus, w.Code)
			if tt.wantStatus == http.StatusForbidden {
				assert.Equal(t, tt.wantBody, w.Body.String())
				assert.Nil(t, seen, "the handler never runs")
				return
			}
			require.NotNil(t, seen)
			if tt.wantName != "" {
				assert.Equal(t, tt.wantName, paramValue(t, seen, "name"))
				assert.Equal(t, tt.body, seenBody, "the body stays readable")
			}
		})
	}
}

func TestMiddlewareStoresParams(t *testing.T) {
	tc := NewTokenChecker(testToken)
	var fromCtx *Params
	h := tc.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fromCtx, _ = ParamsFrom(r.Context())
		p, err := ReadParams(w, r, 0)
		require.NoError(t, err)
		assert.Same(t, fromCtx, p, "handlers reuse the middleware's params")
	}))
	body, _ := json.Marshal(map[string]string{"access_token": testToken, "name": "x"})
	r := httptest.NewRequest("POST", "/x.json", bytes.NewReader(body))
	r.Header.Set("Content-Type", "application/json")
	h.ServeHTTP(httptest.NewRecorder(), r)
	require.NotNil(t, fromCtx)
	assert.Equal(t, "x", paramValue(t, fromCtx, "name"))
}
