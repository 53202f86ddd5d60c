package threescale_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/portolan/portolan/composition"
)

// A read binds no password, so it pays no argon2id hash however many
// password parameters it carries: a read-only token cannot make the server
// hash 25 of them (on a small machine, seconds of CPU and 19 MiB each).
func TestReadsPayNoPasswordHash(t *testing.T) {
	e := newTokenEnv(t, 0)
	ro := e.create(t, "dashboard", "ro", "account_management")
	start := time.Now()
	_, err := composition.HashPassword("one")
	require.NoError(t, err)
	oneHash := time.Since(start)

	body := strings.Repeat("password=x&", 25) + "access_token=" + ro.Value
	req, err := http.NewRequest(http.MethodGet, e.srv.URL+"/admin/api/accounts.json", strings.NewReader(body))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	start = time.Now()
	resp, err := e.srv.Client().Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	took := time.Since(start)
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Less(t, took, 5*oneHash+100*time.Millisecond, "a read with 25 passwords took %v, one hash %v", took, oneHash)
}

// A write hashes each distinct password once and refuses, 400, more than a
// few: one password sent bare and wrapped is one hash; 25 are refused.
func TestWriteWithManyPasswordsIsRefused(t *testing.T) {
	e := newTokenEnv(t, 0)
	account, user := e.signup(t, "Acme", "acme", nil)
	path := "/admin/api/accounts/" + itoa(account) + "/users/" + itoa(user) + ".json"
	form := url.Values{}
	for i := range 25 {
		form.Add("password", "password-"+strconv.Itoa(i))
	}
	status, body := e.call(t, bootstrapToken, http.MethodPut, path, form)
	assert.Equal(t, http.StatusBadRequest, status, body)
	assert.Contains(t, body, "at most 4 distinct passwords")

	status, body = e.call(t, bootstrapToken, http.MethodPut, path,
		url.Values{"password": {"same-password"}, "user[password]": {"same-password"}})
	require.Equal(t, http.StatusOK, status, body)
	u, _ := e.store.Snapshot().Users.Get(user)
	ok, err := composition.VerifyPassword(u.Password, "same-password")
	assert.True(t, ok && err == nil, "stored %q: %v", u.Password, err)
}

// What a client sends as a password is a password, whatever it looks like:
// one starting "$argon2id$" is hashed like any other, never stored as sent
// (in plain text, or as a hash of the client's choosing and cost).
func TestPasswordLookingLikeAHashIsHashed(t *testing.T) {
	e := newTokenEnv(t, 0)
	account, user := e.signup(t, "Acme", "acme", nil)
	path := "/admin/api/accounts/" + itoa(account) + "/users/" + itoa(user) + ".json"
	for _, pw := range []string{"$argon2id$hunter2", "$argon2id$v=19$m=1048576,t=16,p=1$c2FsdHNhbHRzYWx0$a2V5a2V5a2V5a2V5"} {
		for _, asJSON := range []bool{false, true} {
			var status int
			var body string
			if asJSON {
				b, err := json.Marshal(map[string]string{"password": pw})
				require.NoError(t, err)
				status, body = e.callJSON(t, http.MethodPut, path, string(b))
			} else {
				status, body = e.call(t, bootstrapToken, http.MethodPut, path, url.Values{"password": {pw}})
			}
			require.Equal(t, http.StatusOK, status, body)
			u, _ := e.store.Snapshot().Users.Get(user)
			require.NotEqual(t, pw, u.Password, "json %v: stored as sent", asJSON)
			ok, err := composition.VerifyPassword(u.Password, pw)
			assert.True(t, ok && err == nil, "json %v: the stored hash does not verify the password sent: %v", asJSON, err)
		}
	}
}

// callJSON sends body as JSON with the bootstrap token in the query.
func (e *tokenEnv) callJSON(t *testing.T, method, path, body string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, e.srv.URL+path+"?access_token="+bootstrapToken, strings.NewReader(body))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/json")
	resp, err := e.srv.Client().Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	var b strings.Builder
	_, err = io.Copy(&b, resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, b.String()
}
