package testenv

import (
	"bufio"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// The recording proxy passes requests and answers through unchanged,
// streams, records the 2xx answers alone, and drops the connection when
// the upstream is down.
func TestRecordingProxyIsTransparent(t *testing.T) {
	release := make(chan struct{})
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/stream":
			w.WriteHeader(http.StatusOK)
			_, _ = io.WriteString(w, "first\n")
			w.(http.Flusher).Flush()
			<-release
			_, _ = io.WriteString(w, "second\n")
		case "/missing.json":
			http.Error(w, `{"status":"Not found"}`, http.StatusNotFound)
		default:
			b, _ := io.ReadAll(r.Body)
			w.Header().Set("X-Seen-Host", r.Host)
			w.Header().Set("X-Seen-Forwarded", r.Header.Get("X-Forwarded-For"))
			w.WriteHeader(http.StatusCreated)
			_, _ = w.Write(b)
		}
	}))
	rec := &Recorder{seen: map[string]bool{}}
	proxy := startRecordingProxy(t, rec, strings.TrimPrefix(upstream.URL, "http://"))

	req, _ := http.NewRequest(http.MethodPost, proxy+"/admin/api/services.json?x=1", strings.NewReader("name=News"))
	req.Header.Set("X-Forwarded-For", "203.0.113.9")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated || string(body) != "name=News" {
		t.Errorf("got %d %q, want 201 with the body echoed", resp.StatusCode, body)
	}
	if got, want := resp.Header.Get("X-Seen-Host"), strings.TrimPrefix(proxy, "http://"); got != want {
		t.Errorf("upstream saw Host %q, want the client's %q", got, want)
	}
	if got := resp.Header.Get("X-Seen-Forwarded"); got != "203.0.113.9" {
		t.Errorf("upstream saw X-Forwarded-For %q, want the client's alone", got)
	}

	resp, err = http.Get(proxy + "/missing.json")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("got %d, want the upstream's 404", resp.StatusCode)
	}

	resp, err = http.Get(proxy + "/stream")
	if err != nil {
		t.Fatal(err)
	}
	line := make(chan string, 1)
	go func() {
		s, _ := bufio.NewReader(resp.Body).ReadString('\n')
		line <- s
	}()
	select {
	case s := <-line:
		if s != "first\n" {
			t.Errorf("streamed %q, want the first line", s)
		}
	case <-time.After(5 * time.Second):
		t.Error("the first line did not come through before the answer ended")
	}
	close(release)
	resp.Body.Close()

	if got, want := strings.Join(rec.Answered(), ","), "GET /stream,POST /admin/api/services.json"; got != want {
		t.Errorf("recorded %q, want %q", got, want)
	}

	upstream.Close()
	if resp, err := http.Get(proxy + "/admin/api/services.json"); err == nil {
		resp.Body.Close()
		t.Errorf("upstream down: got %d, want a dropped connection as from a closed port", resp.StatusCode)
	}
}
