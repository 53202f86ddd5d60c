package gateway

import (
	"bufio"
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/portolan/portolan/composition"
)

// logSink is the agent's log as the gateway writes it and a test reads it.
// With hold set, a write of an access line waits until hold is closed: a
// log that stalls (a full pipe).
type logSink struct {
	mu   sync.Mutex
	b    bytes.Buffer
	hold chan struct{}
}

func (s *logSink) Write(p []byte) (int, error) {
	if s.hold != nil && bytes.Contains(p, []byte(`"kind":"access"`)) {
		<-s.hold
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *logSink) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// access is the access lines written so far, decoded.
func (s *logSink) access(t *testing.T) []map[string]any {
	t.Helper()
	var lines []map[string]any
	sc := bufio.NewScanner(strings.NewReader(s.String()))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var m map[string]any
		require.NoError(t, json.Unmarshal(sc.Bytes(), &m), "every log line is JSON: %s", sc.Text())
		if m["kind"] == "access" {
			lines = append(lines, m)
		}
	}
	return lines
}

// waitAccess waits for n access lines (they are written after the answer)
// and returns them.
func (s *logSink) waitAccess(t *testing.T, n int) []map[string]any {
	t.Helper()
	require.Eventually(t, func() bool { return len(s.access(t)) >= n }, 5*time.Second, 5*time.Millisecond,
		"%d access lines expected; the log holds:\n%s", n, s.String())
	lines := s.access(t)
	require.Len(t, lines, n, "exactly %d access lines", n)
	return lines
}

// loggingGateway is startChainGateway with [logging conf, apicast] and the
// agent's log in a logSink, as zerolog JSON at level.
func loggingGateway(t *testing.T, conf string, level zerolog.Level, hold chan struct{}) (*chainGateway, *logSink) {
	t.Helper()
	sink := &logSink{hold: hold}
	f := newGatewayFixture(t, backendUserKey)
	f.proxy(t, func(p *composition.Proxy) {
		p.PolicyChain = policyChain(t, `[{"name":"logging","version":"builtin","enabled":true,"configuration":`+conf+`},
			{"name":"apicast","version":"builtin","configuration":{},"enabled":true}]`)
	})
	up, got := echoUpstream(t, "app")
	cfg := Config{Listen: "127.0.0.1:0", Upstream: up.URL}
	u, err := cfg.Check()
	require.NoError(t, err)
	reg := prometheus.NewRegistry()
	g := New(cfg, u, "self", &countingLedger{}, reg, zerolog.New(sink).Level(level).With().Timestamp().Logger())
	updated, err := g.Update(agentView(t, f.tx.Result(), f.svc.SystemName), f.placement(f.basic, f.premium))
	require.NoError(t, err)
	require.True(t, updated)
	ln := runGateway(t, g, cfg.Listen)
	return &chainGateway{f: f, g: g, base: "http://" + ln.Addr().String(), got: got, reg: reg, up: up.URL, basic: "basic-key", key: "premium-key"}, sink
}

// defaultLine is APIcast's default access log line ("log_format time":
// '[$time_local] $target_host:$server_port $remote_addr:$remote_port
// "$request" $status $body_bytes_sent ($request_time)'), for a request to
// target answered status with a body of size bytes.
func defaultLine(target string, status, size int) *regexp.Regexp {
	return regexp.MustCompile(`^\[\d{2}/[A-Z][a-z]{2}/\d{4}:\d{2}:\d{2}:\d{2} [+-]\d{4}\] 127\.0\.0\.1:\d+ 127\.0\.0\.1:\d+ "GET ` +
		regexp.QuoteMeta(target) + ` HTTP/1\.1" ` + strconv.Itoa(status) + ` ` + strconv.Itoa(size) + ` \(\d+\.\d{3}\)$`)
}

// APIcast's logging.t "Enables access logs by default when the policy is
// included" and "Enables access logs when configured to do so" (the line
// holds '"GET / HTTP/1.1" 200'): with enable_access_logs true or absent and
// no custom format, each request of the service, the ones the apicast
// element refuses too, gets the default line, at info, marked
// "kind":"access" with the service's system name. The user_key of the
// query is masked: the log never holds it.
func TestPolicyLoggingDefaultAccessLine(t *testing.T) {
	for _, conf := range []string{`{}`, `{"enable_access_logs":true}`} {
		cg, sink := loggingGateway(t, conf, zerolog.InfoLevel, nil)
		a := call(t, "GET", cg.base+"/articles?user_key="+cg.key+"&page=2", nil)
		require.Equal(t, http.StatusOK, a.status, a.body)
		refused := call(t, "GET", cg.base+"/articles", nil)
		require.Equal(t, http.StatusForbidden, refused.status)

		lines := sink.waitAccess(t, 2)
		assert.Regexp(t, defaultLine("/articles?user_key=[masked]&page=2", 200, len("app")), lines[0]["message"], conf)
		assert.Regexp(t, defaultLine("/articles", 403, len(refused.body)), lines[1]["message"], conf)
		for _, l := range lines {
			assert.Equal(t, "info", l["level"], conf)
			assert.Equal(t, cg.f.svc.SystemName, l["service"], conf)
		}
		assert.NotContains(t, sink.String(), cg.key, conf)
		assert.Equal(t, 2.0, policyEvents(cg.reg, "logging", "logged"), conf)
	}
}

// The README's "Disabling access log" ({"enable_access_logs": false}) and
// logging.t "Disables access logs when configured to do so": the service's
// requests are not logged.
func TestPolicyLoggingDisabled(t *testing.T) {
	cg, sink := loggingGateway(t, `{"enable_access_logs":false}`, zerolog.DebugLevel, nil)
	for range 3 {
		a := call(t, "GET", cg.base+"/articles?user_key="+cg.key, nil)
		require.Equal(t, http.StatusOK, a.status)
	}
	assert.Never(t, func() bool { return len(sink.access(t)) > 0 }, 300*time.Millisecond, 10*time.Millisecond,
		"no access line; the log holds:\n%s", sink.String())
	assert.Zero(t, policyEvents(cg.reg, "logging", "logged"))
}

// logging.t "service uses a custom access log format" ("Status::{{ status
// }}") and "service metadata is retrieved in the access_log" ("{{service.id
// }}"); the README: "Response and request headers using
// {{req.headers.FOO}} ... or {{res.headers.FOO}}", the code reading
// resp.headers. custom_logging is the line's message, and the default line
// is not written, whatever enable_access_logs says ("If custom_logging or
// enable_json_logs property is enabled, default access log will be
// disabled").
func TestPolicyLoggingCustomFormat(t *testing.T) {
	for _, conf := range []string{
		`{"custom_logging":"Status::{{ status }} {{service.id}} {{ req.headers.x_trace }} {{ resp.headers['X-Served-By'] }} {{res.headers.X-Served-By}} {{ http_x_trace | upcase }} {{ request_uri }}"}`,
		`{"enable_access_logs":false,"custom_logging":"Status::{{ status }} {{service.id}} {{ req.headers.x_trace }} {{ resp.headers['X-Served-By'] }} {{res.headers.X-Served-By}} {{ http_x_trace | upcase }} {{ request_uri }}"}`,
	} {
		cg, sink := loggingGateway(t, conf, zerolog.InfoLevel, nil)
		a := call(t, "GET", cg.base+"/articles?user_key="+cg.key, http.Header{"X-Trace": {"abc"}})
		require.Equal(t, http.StatusOK, a.status, a.body)
		lines := sink.waitAccess(t, 1)
		assert.Equal(t, "Status::200 "+strconv.FormatInt(cg.f.svc.ID, 10)+" abc app app ABC /articles?user_key=[masked]", lines[0]["message"], conf)
	}
}

// The README's "Configuring a custom access log only for a successful
// request" ({"op": "==", "match": "{{status}}", "match_type": "liquid",
// "value": "200"}, value_type left to its default, plain) and "Customizing
// access logs where reponse status match 200 or 500" (combine_op "or");
// logging.t "... with a not match condition": only the requests for which
// the condition holds are logged.
func TestPolicyLoggingCondition(t *testing.T) {
	cg, sink := loggingGateway(t, `{"enable_access_logs":false,"custom_logging":"{{status}} {{uri}}","condition":{"operations":[
		{"op":"==","match":"{{status}}","match_type":"liquid","value":"200"}],"combine_op":"and"}}`, zerolog.InfoLevel, nil)
	require.Equal(t, http.StatusForbidden, call(t, "GET", cg.base+"/refused", nil).status)
	require.Equal(t, http.StatusOK, call(t, "GET", cg.base+"/ok?user_key="+cg.key, nil).status)
	lines := sink.waitAccess(t, 1)
	assert.Equal(t, "200 /ok", lines[0]["message"])

	cg, sink = loggingGateway(t, `{"custom_logging":"{{status}} {{uri}}","condition":{"operations":[
		{"op":"==","match":"{{status}}","match_type":"liquid","value":"200","value_type":"plain"},
		{"op":"matches","match":"{{uri}}","match_type":"liquid","value":"^/audit/"}],"combine_op":"or"}}`, zerolog.InfoLevel, nil)
	require.Equal(t, http.StatusForbidden, call(t, "GET", cg.base+"/refused", nil).status)
	require.Equal(t, http.StatusForbidden, call(t, "GET", cg.base+"/audit/refused", nil).status)
	require.Equal(t, http.StatusOK, call(t, "GET", cg.base+"/ok?user_key="+cg.key, nil).status)
	lines = sink.waitAccess(t, 2)
	assert.Equal(t, "403 /audit/refused", lines[0]["message"])
	assert.Equal(t, "200 /ok", lines[1]["message"])
}

// The README's "Configuring access logs in JSON format" (host and time
// liquid, custom plain "custom_method"; "If enable_json_logs is enabled,
// custom_logging field will be omitted") and logging.t "json log with no
// valid data return empty object" ("{}"): the object is the line's
// "access", its values strings, with no message. As in the Lua table APIcast
// encodes, a key given twice keeps its last value and one without a value
// is left out.
func TestPolicyLoggingJSON(t *testing.T) {
	cg, sink := loggingGateway(t, `{"enable_access_logs":false,"enable_json_logs":true,"custom_logging":"ignored","json_object_config":[
		{"key":"host","value":"{{host}}","value_type":"liquid"},
		{"key":"time","value":"{{time_local}}","value_type":"liquid"},
		{"key":"custom","value":"custom_method","value_type":"plain"},
		{"key":"status","value":"{{status}}","value_type":"liquid"},
		{"key":"query","value":"{{args}}","value_type":"liquid"},
		{"key":"upstream","value":"{{upstream_status}} {{sent_http_x_served_by}}","value_type":"liquid"},
		{"key":"status","value":"{{status}}!","value_type":"liquid"},
		{"key":"dropped"}]}`, zerolog.InfoLevel, nil)
	require.Equal(t, http.StatusOK, call(t, "GET", cg.base+"/articles?user_key="+cg.key, nil).status)
	lines := sink.waitAccess(t, 1)
	obj, ok := lines[0]["access"].(map[string]any)
	require.True(t, ok, "an object under access: %v", lines[0])
	assert.Regexp(t, `^\d{2}/[A-Z][a-z]{2}/\d{4}:\d{2}:\d{2}:\d{2} [+-]\d{4}$`, obj["time"])
	delete(obj, "time")
	assert.Equal(t, map[string]any{"host": "127.0.0.1", "custom": "custom_method", "status": "200!", "query": "user_key=[masked]", "upstream": "200 app"}, obj,
		"a key given twice keeps its last value, one without a value is left out, as in the Lua table APIcast encodes")
	assert.NotContains(t, lines[0], "message")

	cg, sink = loggingGateway(t, `{"custom_logging":"Status::{{ status }}","enable_json_logs":true}`, zerolog.InfoLevel, nil)
	require.Equal(t, http.StatusOK, call(t, "GET", cg.base+"/articles?user_key="+cg.key, nil).status)
	lines = sink.waitAccess(t, 1)
	assert.Equal(t, map[string]any{}, lines[0]["access"])
	assert.NotContains(t, lines[0], "message")
}

// A credential never reaches the log unless the template names where the
// client put it. The request line, request_uri, args and headers as a whole
// mask or omit user_key, the Authorization header and an API key header;
// the README's credentials variable (logging.t "Verify credentials on
// logs": "{{credentials.user_key }}") renders empty. A template that names
// the Authorization header gets it, as the operator asked, and the policy
// warns of it when the chain is built.
func TestPolicyLoggingKeepsCredentialsOut(t *testing.T) {
	secrets := http.Header{"Authorization": {"Bearer s3cr3t-token"}, "X-Api-Key": {"s3cr3t-api-key"}}
	cg, sink := loggingGateway(t, `{"custom_logging":"{{request}} | {{request_uri}} | {{args}} | {{query_string}} | {{headers}} | {{req.headers}} | {{credentials.user_key}} | {{service}}"}`, zerolog.InfoLevel, nil)
	require.Equal(t, http.StatusOK, call(t, "GET", cg.base+"/a?user_key="+cg.key+"&access_token=s3cr3t-at", secrets).status)
	lines := sink.waitAccess(t, 1)
	assert.Equal(t, "GET /a?user_key=[masked]&access_token=[masked] HTTP/1.1 | /a?user_key=[masked]&access_token=[masked] | user_key=[masked]&access_token=[masked] | user_key=[masked]&access_token=[masked] |  |  |  | ",
		lines[0]["message"])
	for _, s := range []string{cg.key, "s3cr3t"} {
		assert.NotContains(t, sink.String(), s)
	}
	assert.NotContains(t, sink.String(), `"level":"warn"`, "no template names a credential")

	cg, sink = loggingGateway(t, `{"custom_logging":"{{ http_authorization }}"}`, zerolog.InfoLevel, nil)
	require.Equal(t, http.StatusOK, call(t, "GET", cg.base+"/a?user_key="+cg.key, secrets).status)
	lines = sink.waitAccess(t, 1)
	assert.Equal(t, "Bearer s3cr3t-token", lines[0]["message"])
	assert.Contains(t, sink.String(), `"level":"warn"`)
	assert.Contains(t, sink.String(), `"name":"authorization"`)
}

// An access log is every request: its lines are not sampled as the
// gateway's warnings are (three a second), and are written whatever the
// agent's --log-level, as APIcast's access log does not follow its error
// log's level.
func TestPolicyLoggingEveryRequestWhateverTheLogLevel(t *testing.T) {
	cg, sink := loggingGateway(t, `{"custom_logging":"{{uri}}"}`, zerolog.ErrorLevel, nil)
	for i := range 10 {
		require.Equal(t, http.StatusOK, call(t, "GET", cg.base+"/n/"+strconv.Itoa(i)+"?user_key="+cg.key, nil).status)
	}
	lines := sink.waitAccess(t, 10)
	for i, l := range lines {
		assert.Equal(t, "/n/"+strconv.Itoa(i), l["message"], "in the order of the requests")
	}
}

// A log that stalls holds no request up, and what waits for it is bounded:
// the requests are all answered while the log does not move, the lines
// past 1 MiB waiting are dropped and counted, and once the log moves again
// the lines kept are written.
func TestPolicyLoggingStalledLogBlocksNoRequest(t *testing.T) {
	hold := make(chan struct{})
	released := false
	release := func() {
		if !released {
			released = true
			close(hold)
		}
	}
	t.Cleanup(release)
	// Each line is cut to 8 KiB: some 128 fill the queue.
	cg, sink := loggingGateway(t, `{"custom_logging":"{{http_x_pad}}{{http_x_pad}}"}`, zerolog.InfoLevel, hold)
	stop := make(chan struct{})
	t.Cleanup(func() { close(stop) })
	go func() { // the upstream's record of requests holds 100
		for {
			select {
			case <-cg.got:
			case <-stop:
				return
			}
		}
	}()
	pad := http.Header{"X-Pad": {strings.Repeat("p", 5000)}}
	client := &http.Client{Timeout: 5 * time.Second}
	const n = 200
	for range n {
		req, err := http.NewRequest("GET", cg.base+"/a?user_key="+cg.key, nil)
		require.NoError(t, err)
		req.Header = pad
		resp, err := client.Do(req)
		require.NoError(t, err, "the request does not wait for the log")
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		require.Equal(t, http.StatusOK, resp.StatusCode)
	}
	logged, dropped := policyEvents(cg.reg, "logging", "logged"), policyEvents(cg.reg, "logging", "dropped")
	assert.Equal(t, float64(n), logged+dropped, "each line is either kept or dropped")
	assert.Greater(t, dropped, 0.0, "the queue is bounded")
	assert.InDelta(t, 128, logged, 2, "1 MiB of 8 KiB lines")
	assert.Empty(t, sink.access(t), "nothing written while the log stalls")

	release()
	lines := sink.waitAccess(t, int(logged))
	assert.Len(t, lines[0]["message"], 8<<10, "a line is cut at 8 KiB")
}

// The schema: json_object_config items and condition operations (op one
// of ==, !=, matches; match_type and value_type plain or liquid); a Liquid
// tag the gateway cannot render is refused when the chain is built; the
// condition is checked even where no line uses it, as APIcast builds it
// whenever it is there. Each fails the service closed, naming the field.
func TestPolicyLoggingInvalidConfigurationFailsClosed(t *testing.T) {
	for conf, want := range map[string]string{
		`{"enable_json_logs":true,"json_object_config":[{"value":"v"}]}`:                                             `configuration.json_object_config[0].key: is required`,
		`{"enable_json_logs":true,"json_object_config":[{"key":"k","value":"v","value_type":"lua"}]}`:                `configuration.json_object_config[0].value_type: must be one of plain, liquid`,
		`{"custom_logging":"{% if status %}x{% endif %}"}`:                                                           `configuration.custom_logging: Liquid tags`,
		`{"custom_logging":"x","condition":{"operations":[{"op":"<>","match":"a","value":"b"}]}}`:                    `configuration.condition.operations[0].op: must be one of ==, !=, matches`,
		`{"custom_logging":"x","condition":{"operations":[{"op":"==","match":"a","match_type":"xml","value":"b"}]}}`: `configuration.condition.operations[0].match_type: must be one of plain, liquid`,
		`{"custom_logging":"x","condition":{"operations":[{"op":"==","value":"b"}]}}`:                                `configuration.condition.operations[0].match: is required`,
		`{"custom_logging":"x","condition":{"combine_op":"xor","operations":[]}}`:                                    `configuration.condition.combine_op: must be one of and, or`,
		`{"enable_access_logs":"no"}`: `configuration.enable_access_logs: must be a boolean`,
		`{"enable_access_logs":false,"condition":{"operations":[{"op":"<>","match":"a","value":"b"}]}}`: `configuration.condition.operations[0].op: must be one of ==, !=, matches`,
	} {
		cg := startChainGateway(t, `[{"name":"logging","version":"builtin","configuration":`+conf+`,"enabled":true}]`)
		a := call(t, "GET", cg.base+"/?user_key="+cg.key, nil)
		assert.Equal(t, http.StatusServiceUnavailable, a.status, conf)
		assert.Contains(t, a.body, `policy "logging" (element 0 of the chain)`, conf)
		assert.Contains(t, a.body, want, conf)
	}
}

func BenchmarkPolicyLogging(b *testing.B) {
	benchServeChain(b, `[{"name":"logging","version":"builtin","enabled":true,"configuration":{}},
		{"name":"apicast","version":"builtin","configuration":{},"enabled":true}]`)
}
