package policy

import (
	"encoding/json"
	"net/http/httptest"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func edgeTestEnv() *Env { return &Env{Metrics: NewMetrics(prometheus.NewRegistry())} }

// Single IPs and CIDR ranges of both families, compiled once; host bits of a
// range are masked ("16.1.1.0/4" is 16.0.0.0/4), IPv4-mapped IPv6
// entries and callers are their IPv4 addresses, and an address that does not
// parse is in no range.
func TestIPCheckListed(t *testing.T) {
	p, err := newIPCheck(json.RawMessage(`{"check_type":"blacklist","ips":["16.1.1.0/4"," 3.4.5.6 ","::ffff:10.0.0.0/104",
		"2001:db8::/32","::1","fe80::1%eth0"]}`), edgeTestEnv())
	require.NoError(t, err)
	ipc := p.(*ipCheckPolicy)
	for ip, want := range map[string]bool{
		"16.0.0.1": true, "31.255.255.255": true, "32.0.0.0": false, "15.255.255.255": false,
		"3.4.5.6": true, "3.4.5.7": false, "::ffff:3.4.5.6": true,
		"10.200.0.1": true, "11.0.0.1": false,
		"2001:db8:1::1": true, "2001:db9::1": false, "::1": true, "fe80::1": true, "fe80::1%lo": true,
		"not-an-ip": false, "": false,
	} {
		assert.Equal(t, want, ipc.listed(ip), ip)
	}
}

// The sources, in the configured order; found is false when none yields an
// IP, as APIcast's get_from returns nil (the request is then denied).
func TestIPCheckClientIP(t *testing.T) {
	p, err := newIPCheck(json.RawMessage(`{"check_type":"whitelist","ips":[],"client_ip_sources":["X-Real-IP","X-Forwarded-For"]}`), edgeTestEnv())
	require.NoError(t, err)
	ipc := p.(*ipCheckPolicy)
	r := httptest.NewRequest("GET", "/", nil)
	_, found := ipc.clientIP(r)
	assert.False(t, found, "no header: no IP, the last caller is not a source here")
	r.Header.Add("X-Forwarded-For", " 203.0.113.5:99 , 10.0.0.1")
	r.Header.Add("X-Forwarded-For", "198.51.100.1")
	ip, found := ipc.clientIP(r)
	assert.True(t, found)
	assert.Equal(t, "203.0.113.5", ip)
	r.Header.Set("X-Real-IP", "198.51.100.2")
	ip, _ = ipc.clientIP(r)
	assert.Equal(t, "198.51.100.2", ip)
}
