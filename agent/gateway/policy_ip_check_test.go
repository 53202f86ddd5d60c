package gateway

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func ipCheckChain(conf string) string {
	return `[{"name":"ip_check","version":"builtin","enabled":true,"configuration":` + conf + `},
		{"name":"apicast","version":"builtin","configuration":{},"enabled":true}]`
}

// README: "When the check_type is "blacklist", the policy denies all the
// requests that have an IP included in the list provided"; APIcast's test
// "IP check policy denies and apicast accepts": 403 "IP address not allowed",
// and nothing reaches the upstream.
func TestPolicyIPCheckBlacklistDenies403(t *testing.T) {
	cg := startChainGateway(t, ipCheckChain(`{"ips":["1.1.1.0/4","127.0.0.1"],"check_type":"blacklist"}`))
	a := call(t, "GET", cg.base+"/?user_key="+cg.key, nil)
	assert.Equal(t, http.StatusForbidden, a.status)
	assert.Equal(t, "IP address not allowed\n", a.body)
	assert.Equal(t, 1.0, policyEvents(cg.reg, "ip_check", "denied"))
	assert.Empty(t, cg.got)
}

// "both single IPs (like 172.18.0.1) and CIDR ranges (like 172.18.0.0/16) can
// be used": a blacklist that does not hold the caller lets it through; a
// whitelist holding it by a range lets it through; one that does not hold it
// denies it.
func TestPolicyIPCheckRangesWhitelistAndBlacklist(t *testing.T) {
	for _, tc := range []struct {
		conf   string
		status int
	}{
		{`{"ips":["1.1.1.0/4","2.2.2.2"],"check_type":"blacklist"}`, http.StatusOK},
		{`{"ips":["10.0.0.0/8","127.0.0.0/8"],"check_type":"whitelist"}`, http.StatusOK},
		{`{"ips":["1.1.1.0/4","2.2.2.2"],"check_type":"whitelist"}`, http.StatusForbidden},
		{`{"ips":[],"check_type":"whitelist"}`, http.StatusForbidden},
	} {
		cg := startChainGateway(t, ipCheckChain(tc.conf))
		a := call(t, "GET", cg.base+"/?user_key="+cg.key, nil)
		assert.Equal(t, tc.status, a.status, tc.conf)
	}
}

// "The message error that is returned when the request is denied can be
// configured with the error_msg field."
func TestPolicyIPCheckErrorMsg(t *testing.T) {
	cg := startChainGateway(t, ipCheckChain(`{"ips":["127.0.0.1"],"check_type":"blacklist","error_msg":"A custom error message"}`))
	a := call(t, "GET", cg.base+"/?user_key="+cg.key, nil)
	assert.Equal(t, http.StatusForbidden, a.status)
	assert.Equal(t, "A custom error message\n", a.body)
}

// client_ip_sources: "Get the IP from the X-Forwarded-For header (first IP of
// the list)", "Get the IP from the X-Real-IP header", "Use the IP of the last
// caller"; "Specify several sources to get the IP from. They are tried in
// order". A port after the forwarded address is ignored (THREESCALE-5258).
func TestPolicyIPCheckClientIPSources(t *testing.T) {
	cg := startChainGateway(t, ipCheckChain(`{"ips":["3.4.5.6","2001:db8::/32"],"check_type":"blacklist",
		"client_ip_sources":["X-Forwarded-For","X-Real-IP","last_caller"]}`))
	for _, tc := range []struct {
		header http.Header
		status int
	}{
		{http.Header{"X-Forwarded-For": {"3.4.5.6, 127.0.0.1"}}, http.StatusForbidden},
		{http.Header{"X-Forwarded-For": {"3.4.5.6:4242"}}, http.StatusForbidden},
		{http.Header{"X-Forwarded-For": {"127.0.0.1, 3.4.5.6"}}, http.StatusOK},                // only the first counts
		{http.Header{"X-Forwarded-For": {"2001:db8::7"}}, http.StatusForbidden},                // IPv6
		{http.Header{"X-Forwarded-For": {"[2001:db8::7]:80"}}, http.StatusForbidden},           // IPv6 with a port
		{http.Header{"X-Real-Ip": {"3.4.5.6"}}, http.StatusForbidden},                          // second source
		{http.Header{"X-Real-Ip": {"3.4.5.6"}, "X-Forwarded-For": {"9.9.9.9"}}, http.StatusOK}, // the first source wins
		{nil, http.StatusOK}, // last caller: 127.0.0.1
	} {
		a := call(t, "GET", cg.base+"/?user_key="+cg.key, tc.header)
		assert.Equal(t, tc.status, a.status, "%v", tc.header)
	}
	// The default source is the last caller alone: the headers are not read.
	cg = startChainGateway(t, ipCheckChain(`{"ips":["3.4.5.6"],"check_type":"blacklist"}`))
	a := call(t, "GET", cg.base+"/?user_key="+cg.key, http.Header{"X-Forwarded-For": {"3.4.5.6"}})
	assert.Equal(t, http.StatusOK, a.status)
}

// 3scale/APIcast#1273, "Policy: IpCheck default deny" (THREESCALE-7076):
// "when the IP cannot be retrieved on the IPCheck policy, the request is
// accepted, but we cannot ensure the origin, so we should deny always by
// default": with client_ip_sources ["X-Forwarded-For"] and no such header,
// a whitelist and a blacklist alike answer 403 with error_msg, and nothing
// reaches the upstream; a forwarded address is still checked.
func TestPolicyIPCheckDeniesWhenNoSourceYieldsAnIP(t *testing.T) {
	for _, checkType := range []string{"whitelist", "blacklist"} {
		cg := startChainGateway(t, ipCheckChain(`{"ips":["3.4.5.6"],"check_type":"`+checkType+`",
			"client_ip_sources":["X-Forwarded-For"],"error_msg":"no origin"}`))
		a := call(t, "GET", cg.base+"/?user_key="+cg.key, nil)
		assert.Equal(t, http.StatusForbidden, a.status, checkType)
		assert.Equal(t, "no origin\n", a.body, checkType)
		assert.Empty(t, cg.got, checkType)
		want := map[string]int{"whitelist": http.StatusOK, "blacklist": http.StatusForbidden}[checkType]
		a = call(t, "GET", cg.base+"/?user_key="+cg.key, http.Header{"X-Forwarded-For": {"3.4.5.6"}})
		assert.Equal(t, want, a.status, checkType)
	}
}

// An IPv6 caller is matched against IPv6 ranges (APIcast's iputils knows
// IPv4 only; Portolan matches both), and an IPv4-mapped IPv6 address as its
// IPv4 address.
func TestPolicyIPCheckIPv6LastCaller(t *testing.T) {
	cg := startChainGateway(t, ipCheckChain(`{"ips":["2001:db8::/32","10.1.2.3"],"check_type":"blacklist"}`))
	for remote, status := range map[string]int{"[2001:db8::5]:4000": 403, "[2001:dead::5]:4000": 200,
		"[::ffff:10.1.2.3]:4000": 403, "10.1.2.3:4000": 403, "10.1.2.4:4000": 200} {
		req := httptest.NewRequest(http.MethodGet, "/?user_key="+cg.key, nil)
		req.RemoteAddr = remote
		w := httptest.NewRecorder()
		cg.g.ServeHTTP(w, req)
		assert.Equal(t, status, w.Code, remote)
	}
}

// In APIcast the check runs in the access phase, after the apicast
// element's rewrite phase: a blacklisted caller without credentials gets
// "Authentication parameters missing". With "check_phase": "rewrite" the IP
// is checked first.
func TestPolicyIPCheckPhase(t *testing.T) {
	cg := startChainGateway(t, ipCheckChain(`{"ips":["127.0.0.1"],"check_type":"blacklist"}`))
	a := call(t, "GET", cg.base+"/", nil)
	assert.Equal(t, http.StatusForbidden, a.status)
	assert.Contains(t, a.body, "Authentication parameters missing")
	cg = startChainGateway(t, ipCheckChain(`{"ips":["127.0.0.1"],"check_type":"blacklist","check_phase":"rewrite"}`))
	a = call(t, "GET", cg.base+"/", nil)
	assert.Equal(t, http.StatusForbidden, a.status)
	assert.Equal(t, "IP address not allowed\n", a.body)
}

// The schema requires ips and check_type, check_type is blacklist or
// whitelist, and every entry must be an IP or a CIDR range: anything else
// fails the service closed, naming the field.
func TestPolicyIPCheckInvalidConfigurationFailsClosed(t *testing.T) {
	for conf, field := range map[string]string{
		`{"check_type":"blacklist"}`:                                      "ips",
		`{"ips":["1.2.3.4"]}`:                                             "check_type",
		`{"ips":["1.2.3.4"],"check_type":"greylist"}`:                     "check_type",
		`{"ips":["1.2.3.4","1.2.3.400"],"check_type":"blacklist"}`:        "ips[1]",
		`{"ips":[],"check_type":"blacklist","client_ip_sources":["Via"]}`: "client_ip_sources[0]",
	} {
		cg := startChainGateway(t, ipCheckChain(conf))
		a := call(t, "GET", cg.base+"/?user_key="+cg.key, nil)
		assert.Equal(t, http.StatusServiceUnavailable, a.status, conf)
		assert.True(t, strings.Contains(a.body, "configuration."+field+":"), "%s: %s", conf, a.body)
	}
}

// BenchmarkPolicyIPCheck is a request through [ip_check, apicast] with a
// whitelist of ten ranges, the caller's the last.
func BenchmarkPolicyIPCheck(b *testing.B) {
	g := edgeBenchGateway(b, ipCheckChain(`{"check_type":"whitelist","ips":["10.0.0.0/8","172.16.0.0/12","192.168.0.0/16",
		"100.64.0.0/10","198.18.0.0/15","2001:db8::/32","fc00::/7","203.0.113.0/24","198.51.100.0/24","192.0.2.0/24"]}`))
	req := httptest.NewRequest(http.MethodGet, "/health?user_key=premium-key", nil)
	req.RemoteAddr = "192.0.2.10:5000"
	runEdgeBench(b, g, req)
	require.NotNil(b, g)
}
