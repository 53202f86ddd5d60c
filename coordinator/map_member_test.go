package coordinator_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/rs/zerolog"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/portolan/portolan/coordinator"
)

// A provider member's access token does not read the map, however it is
// presented: the map holds every service's instances (addresses, labels,
// check output), and a member may be limited to some services. An admin's
// read-only token still reads it.
func TestMemberTokenDoesNotReadTheMap(t *testing.T) {
	const admin, agent = "map-admin-token", "map-agent-token"
	c, err := coordinator.New(coordinator.Config{Listen: "127.0.0.1:0", DataDir: t.TempDir(),
		AccessToken: admin, AgentToken: agent, Logger: zerolog.Nop()})
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	base := "http://" + c.Addr()

	form := func(method, path string, v url.Values, want int, out any) {
		t.Helper()
		req, err := http.NewRequest(method, base+path, strings.NewReader(v.Encode()))
		require.NoError(t, err)
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.SetBasicAuth("", admin)
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		require.NoError(t, err)
		require.Equal(t, want, resp.StatusCode, "%s %s: %s", method, path, b)
		if out != nil {
			require.NoError(t, json.Unmarshal(b, out))
		}
	}
	var svc struct {
		Service struct {
			ID int64 `json:"id"`
		} `json:"service"`
	}
	form(http.MethodPost, "/admin/api/services.json", url.Values{"name": {"News"}, "system_name": {"news"}}, http.StatusCreated, &svc)
	var user struct {
		User struct {
			ID   int64  `json:"id"`
			Role string `json:"role"`
		} `json:"user"`
	}
	form(http.MethodPost, "/admin/api/users.json", url.Values{"username": {"pat"}, "email": {"pat@provider.example"}}, http.StatusCreated, &user)
	require.Equal(t, "member", user.User.Role)
	uid := strconv.FormatInt(user.User.ID, 10)
	form(http.MethodPut, "/admin/api/users/"+uid+"/permissions.json", url.Values{
		"allowed_sections[]": {"partners"}, "allowed_service_ids[]": {strconv.FormatInt(svc.Service.ID, 10)}}, http.StatusOK, nil)
	var created map[string]struct {
		Value string `json:"value"`
	}
	form(http.MethodPost, "/admin/api/users/"+uid+"/access_tokens.json", url.Values{
		"name": {"pat"}, "permission": {"rw"}, "scopes[]": {"account_management"}}, http.StatusCreated, &created)
	member := created["access_token"].Value
	require.NotEmpty(t, member)

	// An instance of another service than the member's.
	req, err := http.NewRequest(http.MethodPut, base+"/v1/instances/other-1",
		strings.NewReader(`{"service":"other","address":"10.9.8.7","port":8443}`))
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+agent)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)

	readMap := func(token string, present func(*http.Request, string)) (int, string) {
		t.Helper()
		req, err := http.NewRequest(http.MethodGet, base+"/v1/map", nil)
		require.NoError(t, err)
		present(req, token)
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		require.NoError(t, err)
		return resp.StatusCode, string(b)
	}
	ways := map[string]func(*http.Request, string){
		"bearer": func(r *http.Request, tok string) { r.Header.Set("Authorization", "Bearer "+tok) },
		"basic":  func(r *http.Request, tok string) { r.SetBasicAuth("", tok) },
		"query":  func(r *http.Request, tok string) { r.URL.RawQuery = "access_token=" + url.QueryEscape(tok) },
	}
	for name, present := range ways {
		code, body := readMap(member, present)
		assert.Equal(t, http.StatusUnauthorized, code, "a member's token as %s read the map: %s", name, body)
		assert.NotContains(t, body, "other-1", name)
		code, body = readMap(admin, present)
		assert.Equal(t, http.StatusOK, code, "an admin's token as %s reads the map: %s", name, body)
		assert.Contains(t, body, "other-1", name)
	}
}
