package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"regexp"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"
)

// TestMain doubles as the newsapi command when the SIGTERM test re-executes
// the test binary.
func TestMain(m *testing.M) {
	if os.Getenv("NEWSAPI_RUN_MAIN") == "1" {
		os.Args = []string{"newsapi", "--listen", "127.0.0.1:0", "--name", "child"}
		main()
		os.Exit(0)
	}
	os.Exit(m.Run())
}

func newTestServer(t *testing.T, name string) *httptest.Server {
	t.Helper()
	fixed := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	srv := httptest.NewServer(newHandler(name, newStore(func() time.Time { return fixed })))
	t.Cleanup(srv.Close)
	return srv
}

// do sends one request and returns the answer with its body read.
func do(t *testing.T, method, url string, body io.Reader) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, url, body)
	require.NoError(t, err)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp, b
}

// errorOf decodes a JSON error body.
func errorOf(t *testing.T, resp *http.Response, body []byte) string {
	t.Helper()
	assert.Equal(t, "application/json", resp.Header.Get("Content-Type"))
	var e apiError
	require.NoError(t, json.Unmarshal(body, &e), "body %q", body)
	require.NotEmpty(t, e.Error)
	return e.Error
}

func TestHealth(t *testing.T) {
	srv := newTestServer(t, "a")
	resp, body := do(t, http.MethodGet, srv.URL+"/health", nil)
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Equal(t, "ok", string(body))
	assert.Equal(t, "a", resp.Header.Get(servedByHeader))
}

func TestListArticles(t *testing.T) {
	srv := newTestServer(t, "lister")
	resp, body := do(t, http.MethodGet, srv.URL+"/articles", nil)
	require.Equal(t, http.StatusOK, resp.StatusCode, "%s", body)
	assert.Equal(t, "application/json", resp.Header.Get("Content-Type"))
	var list ArticleList
	require.NoError(t, json.Unmarshal(body, &list))
	assert.Equal(t, "lister", list.ServedBy)
	assert.Equal(t, 3, list.Total)
	require.Len(t, list.Articles, 3)
	for i, a := range list.Articles {
		assert.Equal(t, int64(i+1), a.ID)
		assert.NotEmpty(t, a.Title)
	}

	resp, body = do(t, http.MethodGet, srv.URL+"/articles?limit=2", nil)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	list = ArticleList{}
	require.NoError(t, json.Unmarshal(body, &list))
	assert.Equal(t, 3, list.Total)
	require.Len(t, list.Articles, 2)
	assert.Equal(t, []int64{1, 2}, []int64{list.Articles[0].ID, list.Articles[1].ID})
}

func TestListArticlesBadLimit(t *testing.T) {
	srv := newTestServer(t, "a")
	for _, limit := range []string{"0", "-1", "abc", "101", "1.5"} {
		resp, body := do(t, http.MethodGet, srv.URL+"/articles?limit="+limit, nil)
		assert.Equal(t, http.StatusBadRequest, resp.StatusCode, "limit=%s", limit)
		assert.Contains(t, errorOf(t, resp, body), "limit", "limit=%s", limit)
	}
}

func TestGetArticle(t *testing.T) {
	srv := newTestServer(t, "getter")
	resp, body := do(t, http.MethodGet, srv.URL+"/articles/2", nil)
	require.Equal(t, http.StatusOK, resp.StatusCode, "%s", body)
	var a Article
	require.NoError(t, json.Unmarshal(body, &a))
	assert.Equal(t, int64(2), a.ID)
	assert.Equal(t, "One binary to manage them all", a.Title)
	assert.Equal(t, time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC), a.CreatedAt)
}

func TestGetArticleUnknownIs404JSON(t *testing.T) {
	srv := newTestServer(t, "a")
	for _, id := range []string{"999", "0", "abc", "99999999999999999999"} {
		resp, body := do(t, http.MethodGet, srv.URL+"/articles/"+id, nil)
		assert.Equal(t, http.StatusNotFound, resp.StatusCode, "id %s", id)
		assert.Contains(t, errorOf(t, resp, body), "no article", "id %s", id)
		assert.Equal(t, "a", resp.Header.Get(servedByHeader))
	}
}

func TestCreateArticle(t *testing.T) {
	srv := newTestServer(t, "writer")
	resp, body := do(t, http.MethodPost, srv.URL+"/articles",
		strings.NewReader(`{"title":"  Fresh news  ","author":"Me","body":"Something happened."}`))
	require.Equal(t, http.StatusCreated, resp.StatusCode, "%s", body)
	assert.Equal(t, "/articles/4", resp.Header.Get("Location"))
	assert.Equal(t, "writer", resp.Header.Get(servedByHeader))
	var created Article
	require.NoError(t, json.Unmarshal(body, &created))
	assert.Equal(t, Article{ID: 4, Title: "Fresh news", Author: "Me", Body: "Something happened.",
		CreatedAt: time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)}, created)

	resp, body = do(t, http.MethodGet, srv.URL+"/articles/4", nil)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	var got Article
	require.NoError(t, json.Unmarshal(body, &got))
	assert.Equal(t, created, got)

	resp, body = do(t, http.MethodGet, srv.URL+"/articles", nil)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	var list ArticleList
	require.NoError(t, json.Unmarshal(body, &list))
	assert.Equal(t, 4, list.Total)
}

func TestCreateArticleBadJSONIs400(t *testing.T) {
	srv := newTestServer(t, "a")
	for name, body := range map[string]string{
		"empty":          ``,
		"truncated":      `{"title":`,
		"not an object":  `["title"]`,
		"wrong type":     `{"title":42}`,
		"unknown field":  `{"title":"t","colour":"red"}`,
		"trailing data":  `{"title":"t"} {"title":"u"}`,
		"trailing junk":  `{"title":"t"}x`,
		"missing title":  `{"author":"me"}`,
		"blank title":    `{"title":"   "}`,
		"title too long": `{"title":"` + strings.Repeat("t", maxTitleLen+1) + `"}`,
		"not JSON":       `title=t`,
	} {
		resp, b := do(t, http.MethodPost, srv.URL+"/articles", strings.NewReader(body))
		assert.Equal(t, http.StatusBadRequest, resp.StatusCode, "%s: %s", name, b)
		errorOf(t, resp, b)
		assert.Equal(t, "a", resp.Header.Get(servedByHeader), name)
	}
	// Nothing was stored.
	resp, b := do(t, http.MethodGet, srv.URL+"/articles", nil)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	var list ArticleList
	require.NoError(t, json.Unmarshal(b, &list))
	assert.Equal(t, 3, list.Total)
}

func TestCreateArticleBodyLimitIs413(t *testing.T) {
	srv := newTestServer(t, "a")
	// A JSON value that stays valid up to the limit, so the decoder reads past it.
	big := `{"title":"big","body":"` + strings.Repeat("a", maxBodyBytes) + `"}`
	resp, b := do(t, http.MethodPost, srv.URL+"/articles", strings.NewReader(big))
	assert.Equal(t, http.StatusRequestEntityTooLarge, resp.StatusCode)
	assert.Contains(t, errorOf(t, resp, b), "larger than 1048576 bytes")
	assert.Equal(t, "a", resp.Header.Get(servedByHeader))

	// Just under the limit is fine.
	overhead := len(`{"title":"big","body":""}`)
	fits := `{"title":"big","body":"` + strings.Repeat("a", maxBodyBytes-overhead) + `"}`
	require.Len(t, fits, maxBodyBytes)
	resp, b = do(t, http.MethodPost, srv.URL+"/articles", strings.NewReader(fits))
	assert.Equal(t, http.StatusCreated, resp.StatusCode, "%.200s", b)
}

func TestServedByOnEveryAnswer(t *testing.T) {
	a, b := newTestServer(t, "instance-a"), newTestServer(t, "instance-b")
	for _, tc := range []struct {
		method, path, body string
		status             int
	}{
		{http.MethodGet, "/health", "", http.StatusOK},
		{http.MethodGet, "/articles", "", http.StatusOK},
		{http.MethodGet, "/articles?limit=x", "", http.StatusBadRequest},
		{http.MethodGet, "/articles/1", "", http.StatusOK},
		{http.MethodGet, "/articles/404", "", http.StatusNotFound},
		{http.MethodPost, "/articles", `{"title":"t"}`, http.StatusCreated},
		{http.MethodPost, "/articles", `{`, http.StatusBadRequest},
		{http.MethodGet, "/nowhere", "", http.StatusNotFound},
		{http.MethodDelete, "/articles/1", "", http.StatusMethodNotAllowed},
		{http.MethodHead, "/health", "", http.StatusOK},
	} {
		for _, srv := range []struct {
			url, name string
		}{{a.URL, "instance-a"}, {b.URL, "instance-b"}} {
			var body io.Reader
			if tc.body != "" {
				body = strings.NewReader(tc.body)
			}
			resp, _ := do(t, tc.method, srv.url+tc.path, body)
			assert.Equal(t, tc.status, resp.StatusCode, "%s %s", tc.method, tc.path)
			assert.Equal(t, srv.name, resp.Header.Get(servedByHeader), "%s %s", tc.method, tc.path)
		}
	}
}

func TestConcurrentWrites(t *testing.T) {
	srv := newTestServer(t, "a")
	const n = 40
	ids := make(chan int64, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			resp, err := http.Post(srv.URL+"/articles", "application/json", strings.NewReader(fmt.Sprintf(`{"title":"t%d"}`, i)))
			if !assert.NoError(t, err) {
				return
			}
			defer resp.Body.Close()
			var a Article
			assert.Equal(t, http.StatusCreated, resp.StatusCode)
			assert.NoError(t, json.NewDecoder(resp.Body).Decode(&a))
			ids <- a.ID
			// Reads race with the writes.
			r2, err := http.Get(srv.URL + "/articles?limit=100")
			if assert.NoError(t, err) {
				_, _ = io.Copy(io.Discard, r2.Body)
				r2.Body.Close()
			}
		}()
	}
	wg.Wait()
	close(ids)
	var got []int64
	for id := range ids {
		got = append(got, id)
	}
	slices.Sort(got)
	require.Len(t, got, n)
	for i, id := range got {
		assert.Equal(t, int64(4+i), id)
	}
}

func TestParseConfig(t *testing.T) {
	host, _ := os.Hostname()
	env := func(kv map[string]string) func(string) string {
		return func(k string) string { return kv[k] }
	}
	for _, tc := range []struct {
		name string
		args []string
		env  map[string]string
		want config
	}{
		{"defaults", nil, nil, config{Listen: "127.0.0.1:3000", Name: host}},
		{"PORT", nil, map[string]string{"PORT": "8080"}, config{Listen: ":8080", Name: host}},
		{"NEWSAPI_LISTEN beats PORT", nil, map[string]string{"PORT": "8080", "NEWSAPI_LISTEN": "127.0.0.1:9000"}, config{Listen: "127.0.0.1:9000", Name: host}},
		{"flags beat env", []string{"--listen", "0.0.0.0:1234", "--name", "b"}, map[string]string{"PORT": "8080", "NEWSAPI_LISTEN": "127.0.0.1:9000"}, config{Listen: "0.0.0.0:1234", Name: "b"}},
		{"single dash", []string{"-name=c"}, nil, config{Listen: "127.0.0.1:3000", Name: "c"}},
	} {
		got, err := parseConfig(tc.args, env(tc.env), io.Discard)
		require.NoError(t, err, tc.name)
		assert.Equal(t, tc.want, got, tc.name)
	}
	for _, args := range [][]string{{"--bogus"}, {"extra"}, {"--name", ""}, {"--listen="}} {
		_, err := parseConfig(args, env(nil), io.Discard)
		assert.Error(t, err, "%q", args)
	}
}

func TestRunServesAndStopsGracefully(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	addrs := make(chan net.Addr, 1)
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, config{Listen: "127.0.0.1:0", Name: "runner"}, log.New(io.Discard, "", 0), func(a net.Addr) { addrs <- a })
	}()
	var addr net.Addr
	select {
	case addr = <-addrs:
	case err := <-done:
		t.Fatalf("run returned early: %v", err)
	case <-time.After(10 * time.Second):
		t.Fatal("run never listened")
	}
	resp, body := do(t, http.MethodGet, "http://"+addr.String()+"/health", nil)
	assert.Equal(t, "ok", string(body))
	assert.Equal(t, "runner", resp.Header.Get(servedByHeader))

	cancel()
	select {
	case err := <-done:
		require.NoError(t, err)
	case <-time.After(15 * time.Second):
		t.Fatal("run did not stop")
	}
	_, err := net.DialTimeout("tcp", addr.String(), time.Second)
	assert.Error(t, err, "still listening after shutdown")
}

func TestRunListenError(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	err = run(context.Background(), config{Listen: ln.Addr().String(), Name: "x"}, log.New(io.Discard, "", 0), nil)
	assert.Error(t, err)
}

// TestSIGTERMExitsZero runs the real main (the test binary re-executed, see
// TestMain) and stops it with SIGTERM and SIGINT.
func TestSIGTERMExitsZero(t *testing.T) {
	for _, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGINT} {
		t.Run(sig.String(), func(t *testing.T) {
			cmd := exec.Command(os.Args[0], "-test.run=^$")
			cmd.Env = append(os.Environ(), "NEWSAPI_RUN_MAIN=1")
			stderr, err := cmd.StderrPipe()
			require.NoError(t, err)
			require.NoError(t, cmd.Start())
			t.Cleanup(func() { _ = cmd.Process.Kill() })

			// "newsapi: <time> child listening on http://ADDR"
			re := regexp.MustCompile(`listening on http://(\S+)`)
			lines := bufio.NewScanner(stderr)
			var addr string
			for lines.Scan() {
				if m := re.FindStringSubmatch(lines.Text()); m != nil {
					addr = m[1]
					break
				}
			}
			require.NotEmpty(t, addr, "no listening line")
			go func() { _, _ = io.Copy(io.Discard, stderr) }()

			resp, body := do(t, http.MethodGet, "http://"+addr+"/articles/1", nil)
			assert.Equal(t, http.StatusOK, resp.StatusCode, "%s", body)
			assert.Equal(t, "child", resp.Header.Get(servedByHeader))

			require.NoError(t, cmd.Process.Signal(sig))
			exited := make(chan error, 1)
			go func() { exited <- cmd.Wait() }()
			select {
			case err := <-exited:
				require.NoError(t, err, "want exit code 0")
				assert.Equal(t, 0, cmd.ProcessState.ExitCode())
			case <-time.After(15 * time.Second):
				t.Fatal("newsapi did not stop")
			}
		})
	}
}

// TestOpenAPIDescribesEveryRoute checks openapi.yaml against the handlers'
// route table: each path and method appears in the text, and, parsed, the
// spec holds exactly these operations, each with an operationId and tags, and
// the user_key apiKey security scheme in the query.
func TestOpenAPIDescribesEveryRoute(t *testing.T) {
	raw, err := os.ReadFile("openapi.yaml")
	require.NoError(t, err)
	text := string(raw)
	routes := (&api{}).routes()
	require.NotEmpty(t, routes)

	// In the text: "  /path:" at the paths level, and the method under it.
	for _, rt := range routes {
		pathAt := strings.Index(text, "\n  "+rt.Path+":\n")
		require.GreaterOrEqual(t, pathAt, 0, "path %s is not in openapi.yaml", rt.Path)
		block := text[pathAt+1:]
		if next := regexp.MustCompile(`\n  [/a-z]`).FindStringIndex(block[1:]); next != nil {
			block = block[:next[0]+1]
		}
		assert.Contains(t, block, "\n    "+strings.ToLower(rt.Method)+":\n", "%s %s is not in openapi.yaml", rt.Method, rt.Path)
	}

	// Parsed.
	var spec struct {
		OpenAPI string                               `yaml:"openapi"`
		Tags    []struct{ Name string }              `yaml:"tags"`
		Paths   map[string]map[string]map[string]any `yaml:"paths"`
		Comps   struct {
			SecuritySchemes map[string]map[string]string `yaml:"securitySchemes"`
		} `yaml:"components"`
		Security []map[string][]string `yaml:"security"`
	}
	require.NoError(t, yaml.Unmarshal(raw, &spec))
	assert.True(t, strings.HasPrefix(spec.OpenAPI, "3.0."), "openapi %q", spec.OpenAPI)

	want := map[string]bool{}
	for _, rt := range routes {
		want[strings.ToLower(rt.Method)+" "+rt.Path] = true
	}
	got := map[string]bool{}
	opIDs := map[string]bool{}
	var tagNames []string
	for _, tg := range spec.Tags {
		tagNames = append(tagNames, tg.Name)
	}
	for path, ops := range spec.Paths {
		for method, op := range ops {
			got[method+" "+path] = true
			id, _ := op["operationId"].(string)
			assert.NotEmpty(t, id, "%s %s has no operationId", method, path)
			assert.False(t, opIDs[id], "operationId %s repeated", id)
			opIDs[id] = true
			tags, _ := op["tags"].([]any)
			require.NotEmpty(t, tags, "%s %s has no tags", method, path)
			for _, tg := range tags {
				assert.Contains(t, tagNames, tg, "%s %s: tag %v is not declared", method, path, tg)
			}
		}
	}
	assert.Equal(t, want, got, "the spec's operations differ from the handlers' routes")

	assert.Equal(t, map[string]string{"type": "apiKey", "in": "query", "name": "user_key",
		"description": spec.Comps.SecuritySchemes["user_key"]["description"]}, spec.Comps.SecuritySchemes["user_key"])
	assert.Equal(t, []map[string][]string{{"user_key": {}}}, spec.Security)
}
