package gateway

import (
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/portolan/portolan/agent/gateway/policy"
)

// slowUpstream answers /slow after delay, anything else at once.
func slowUpstream(t testing.TB, delay time.Duration) *httptest.Server {
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/slow" {
			select {
			case <-time.After(delay):
			case <-r.Context().Done():
				return
			}
		}
		_, _ = io.WriteString(w, "done")
	}))
	t.Cleanup(s.Close)
	return s
}

func timeoutsChain(conf, upstreamURL string) string {
	return `[{"name":"upstream_connection","version":"builtin","enabled":true,"configuration":` + conf + `},
		{"name":"upstream","version":"builtin","enabled":true,"configuration":{"rules":[{"regex":"/","url":"` + upstreamURL + `"}]}},
		{"name":"apicast","version":"builtin","enabled":true,"configuration":{}}]`
}

// Manifest (upstream_connection, the "timeouts"): read_timeout is
// the "Timeout between two successive read operations (in seconds)"; an
// upstream slower than it is answered 504, as nginx answers an upstream
// timeout, and the next request is served.
func TestTimeoutsReadTimeoutAnswers504(t *testing.T) {
	up := slowUpstream(t, 2*time.Second)
	cg := startRouteGateway(t, timeoutsChain(`{"read_timeout":0.2,"send_timeout":1,"connect_timeout":1}`, up.URL), nil)
	start := time.Now()
	a := call(t, "GET", cg.base+"/slow?user_key="+cg.key, nil)
	assert.Equal(t, http.StatusGatewayTimeout, a.status)
	assert.Less(t, time.Since(start), 1500*time.Millisecond)
	assert.Equal(t, 1.0, requests(cg.reg, "upstream_error"))
	a = call(t, "GET", cg.base+"/fast?user_key="+cg.key, nil)
	assert.Equal(t, http.StatusOK, a.status)
	assert.Equal(t, "done", a.body)
}

// Without the policy the gateway's default (60 s) applies: the same slow
// answer goes through. The timeouts apply to the service's own upstream too.
func TestTimeoutsDefaultWithoutThePolicyAndOnTheServiceUpstream(t *testing.T) {
	up := slowUpstream(t, 400*time.Millisecond)
	cg := startRouteGateway(t, `[{"name":"upstream","version":"builtin","enabled":true,"configuration":{"rules":[{"regex":"/","url":"`+up.URL+`"}]}},
		{"name":"apicast","version":"builtin","enabled":true,"configuration":{}}]`, nil)
	assert.Equal(t, http.StatusOK, call(t, "GET", cg.base+"/slow?user_key="+cg.key, nil).status)

	cg = startRouteGatewayTo(t, `[{"name":"upstream_connection","version":"builtin","enabled":true,"configuration":{"read_timeout":0.1}},
		{"name":"apicast","version":"builtin","enabled":true,"configuration":{}}]`, nil, up.URL)
	assert.Equal(t, http.StatusGatewayTimeout, call(t, "GET", cg.base+"/slow?user_key="+cg.key, nil).status)
}

// read_timeout bounds each read of the body too: an answer whose body
// stalls is cut (the client sees a broken answer, never a short one taken
// for whole).
func TestTimeoutsReadTimeoutCutsAStalledBody(t *testing.T) {
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", "10")
		_, _ = io.WriteString(w, "12345")
		http.NewResponseController(w).Flush()
		select {
		case <-time.After(2 * time.Second):
		case <-r.Context().Done():
		}
	}))
	t.Cleanup(up.Close)
	cg := startRouteGateway(t, timeoutsChain(`{"read_timeout":0.2}`, up.URL), nil)
	start := time.Now()
	resp, err := http.Get(cg.base + "/?user_key=" + cg.key)
	if err == nil { // the head may have gone out before the body stalled
		defer resp.Body.Close()
		_, err = io.ReadAll(resp.Body)
	}
	assert.Error(t, err, "the answer is broken off")
	assert.Less(t, time.Since(start), 1500*time.Millisecond)
}

func TestTimeoutsConfigErrorsNameTheField(t *testing.T) {
	for conf, field := range map[string]string{
		`{"read_timeout":0}`:       "read_timeout",
		`{"send_timeout":-1}`:      "send_timeout",
		`{"connect_timeout":"5"}`:  "connect_timeout",
		`{"connect_timeout":0}`:    "connect_timeout",
		`{"read_timeout":0.00001}`: "read_timeout",
	} {
		chain := policyChain(t, `[{"name":"upstream_connection","version":"builtin","enabled":true,"configuration":`+conf+`}]`)
		_, err := policy.Build(chain, nil, &policy.Env{Metrics: policy.NewMetrics(prometheus.NewRegistry())})
		var fe *policy.FieldError
		if assert.ErrorAs(t, err, &fe, conf) {
			assert.Equal(t, field, fe.Field, conf)
		}
	}
}

func BenchmarkPolicyUpstreamConnection(b *testing.B) {
	benchPolicy(b, `[{"name":"upstream_connection","version":"builtin","enabled":true,"configuration":{"connect_timeout":1,"send_timeout":5,"read_timeout":5}},
		{"name":"apicast","version":"builtin","enabled":true,"configuration":{}}]`, "/health?user_key=premium-key")
}

// fullListener is a loopback address whose accept queue is full (backlog 0,
// never accepted, one connection queued): a connection attempt's SYN is
// dropped, so connecting hangs as to an unreachable host.
func fullListener(t *testing.T) string {
	fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_STREAM, 0)
	require.NoError(t, err)
	t.Cleanup(func() { _ = syscall.Close(fd) })
	require.NoError(t, syscall.Bind(fd, &syscall.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}))
	require.NoError(t, syscall.Listen(fd, 0))
	sa, err := syscall.Getsockname(fd)
	require.NoError(t, err)
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(sa.(*syscall.SockaddrInet4).Port))
	for range 2 { // fill the queue; a further attempt hangs
		c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
		if err != nil {
			break
		}
		t.Cleanup(func() { c.Close() })
	}
	return addr
}

// Manifest: connect_timeout, "Timeout for establishing a connection (in
// seconds)": an upstream that cannot be connected to in time is answered
// 504, as nginx answers "upstream timed out while connecting".
func TestTimeoutsConnectTimeoutAnswers504(t *testing.T) {
	addr := fullListener(t)
	c, err := net.DialTimeout("tcp", addr, 300*time.Millisecond)
	if err == nil {
		c.Close()
		require.Fail(t, "the kernel accepted past a full queue: no hanging address to test with")
	}
	cg := startRouteGateway(t, timeoutsChain(`{"connect_timeout":0.2}`, "http://"+addr), nil)
	start := time.Now()
	a := call(t, "GET", cg.base+"/?user_key="+cg.key, nil)
	assert.Equal(t, http.StatusGatewayTimeout, a.status)
	assert.Less(t, time.Since(start), 2*time.Second)
}
