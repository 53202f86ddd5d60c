package gossip

import (
	"encoding/json"
	"fmt"
	"net"
	"net/url"
	"strconv"

	"github.com/hashicorp/memberlist"
)

// Roles a node plays.
const (
	RoleCoordinator = "coordinator"
	RoleAgent       = "agent"
)

// MaxMetaBytes is the largest encoded Meta memberlist carries
// (memberlist.MetaMaxSize).
const MaxMetaBytes = memberlist.MetaMaxSize

// Meta is what a node tells every other node about itself. It travels in
// memberlist's node metadata, so it must encode within MaxMetaBytes.
type Meta struct {
	Role       string `json:"r,omitempty"` // RoleCoordinator or RoleAgent
	Service    string `json:"s,omitempty"` // system name of the service the instance implements
	InstanceID string `json:"i,omitempty"`
	API        string `json:"a,omitempty"` // address where the node's API is reachable
	Revision   uint64 `json:"v,omitempty"` // composition revision the node serves
	// Addr is where the instance's app is reachable, "host:port" as the
	// agent registers it with home ("10.0.0.5:3000"); port 0 when the app
	// has none. Peers route to it while home is unreachable.
	Addr string `json:"p,omitempty"`
	// Labels are the instance's labels, query-encoded ("pool=premium&zone=a",
	// see EncodeLabels), so that peers place it by its labels while home is
	// unreachable. Left out when they would not fit.
	Labels string `json:"b,omitempty"`
}

// EncodeLabels encodes labels for Meta.Labels: sorted by key, query-escaped.
func EncodeLabels(labels map[string]string) string {
	v := url.Values{}
	for k, val := range labels {
		v.Set(k, val)
	}
	return v.Encode()
}

// LabelMap decodes Meta.Labels; nil when there are none or they are
// malformed.
func (m Meta) LabelMap() map[string]string {
	if m.Labels == "" {
		return nil
	}
	v, err := url.ParseQuery(m.Labels)
	if err != nil {
		return nil
	}
	out := make(map[string]string, len(v))
	for k, vals := range v {
		out[k] = vals[0]
	}
	return out
}

// CheckMeta reports whether m is valid and encodes within MaxMetaBytes, as
// Start and UpdateMeta require.
func CheckMeta(m Meta) error {
	_, err := encodeMeta(m)
	return err
}

// maxAddrBytes bounds Meta.Addr: a DNS name (253 bytes, longer than any
// bracketed IPv6 address), a colon and a 5-digit port.
const maxAddrBytes = maxDNSName + 1 + 5

// maxDNSName is the longest DNS name, in its text form.
const maxDNSName = 253

// Endpoint is Addr split into host and port; ok is false when Addr is empty
// or malformed.
func (m Meta) Endpoint() (host string, port int, ok bool) {
	host, port, err := parseAppAddr(m.Addr)
	return host, port, err == nil && m.Addr != ""
}

// parseAppAddr checks an app address: empty, or a host (an IP or a DNS name)
// and a decimal port from 0 to 65535.
func parseAppAddr(addr string) (host string, port int, err error) {
	if addr == "" {
		return "", 0, nil
	}
	if len(addr) > maxAddrBytes {
		return "", 0, fmt.Errorf("app address is %d bytes, over %d", len(addr), maxAddrBytes)
	}
	host, ps, err := net.SplitHostPort(addr)
	if err != nil {
		return "", 0, fmt.Errorf("app address %q: %w", addr, err)
	}
	p, err := strconv.ParseUint(ps, 10, 16)
	if err != nil {
		return "", 0, fmt.Errorf("app address %q: port %q is not a number from 0 to 65535", addr, ps)
	}
	if !validHost(host) {
		return "", 0, fmt.Errorf("app address %q: host %q is neither an IP nor a DNS name", addr, host)
	}
	return host, int(p), nil
}

// validHost reports whether h is an IP address or a DNS name.
func validHost(h string) bool {
	if h == "" || len(h) > maxDNSName {
		return false
	}
	if net.ParseIP(h) != nil {
		return true
	}
	for i := 0; i < len(h); i++ {
		c := h[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '.') {
			return false
		}
	}
	return true
}

// wireMeta is Meta as it travels, with the flag Leave sets so that peers
// can tell a node that left from one that died: memberlist does not say
// (the State of the Node it hands to NotifyLeave is never set).
type wireMeta struct {
	Meta
	Leaving bool `json:"l,omitempty"`
}

// encodeMeta encodes m compactly, refusing an unknown role and anything over
// MaxMetaBytes.
func encodeMeta(m Meta) ([]byte, error) {
	switch m.Role {
	case "", RoleCoordinator, RoleAgent:
	default:
		return nil, fmt.Errorf("gossip metadata: role %q is neither %q nor %q", m.Role, RoleCoordinator, RoleAgent)
	}
	if _, _, err := parseAppAddr(m.Addr); err != nil {
		return nil, fmt.Errorf("gossip metadata: %w", err)
	}
	b, err := json.Marshal(wireMeta{Meta: m})
	if err != nil {
		return nil, fmt.Errorf("gossip metadata: %w", err)
	}
	if len(b) > MaxMetaBytes {
		return nil, fmt.Errorf("gossip metadata is %d bytes encoded, over memberlist's limit of %d bytes: shorten the service name, instance id, API address or app address", len(b), MaxMetaBytes)
	}
	return b, nil
}

// encodeLeaving is m flagged as leaving, or nil when the flag does not fit.
func encodeLeaving(m Meta) []byte {
	b, err := json.Marshal(wireMeta{Meta: m, Leaving: true})
	if err != nil || len(b) > MaxMetaBytes {
		return nil
	}
	return b
}

// decodeMeta decodes a peer's metadata and its leaving flag; anything
// unreadable yields the zero Meta and ok false. A malformed app address is
// dropped: the rest of the metadata still holds.
func decodeMeta(b []byte) (m Meta, leaving, ok bool) {
	if len(b) == 0 {
		return Meta{}, false, false
	}
	var w wireMeta
	if err := json.Unmarshal(b, &w); err != nil {
		return Meta{}, false, false
	}
	if _, _, err := parseAppAddr(w.Addr); err != nil {
		w.Addr = ""
	}
	return w.Meta, w.Leaving, true
}
