package registry

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// heartbeatByEncodingJSON decodes as decodeBody does: unknown fields
// refused, nothing after the object.
func heartbeatByEncodingJSON(b []byte) (Heartbeat, bool) {
	var hb Heartbeat
	dec := json.NewDecoder(strings.NewReader(string(b)))
	dec.DisallowUnknownFields()
	if dec.Decode(&hb) != nil || dec.More() {
		return Heartbeat{}, false
	}
	return hb, true
}

func TestParseHeartbeatAgreesWithEncodingJSON(t *testing.T) {
	for _, body := range []string{
		`{"status":"passing","output":"HTTP GET http://127.0.0.1:3000/health: 200 OK","revision":1}`,
		` { "status" : "warning" , "revision" : 18446744073709551615 } `,
		`{"status":"critical"}`, `{}`, `{"output":"a","output":"b"}`, `{"revision":0}`,
		`{"status":"passing","output":"ok","revision":7,"gossip_keys_version":3}`,
		`{"gossip_keys_version":0,"revision":2}`, `{"gossip_keys_version":18446744073709551615}`,
	} {
		var fast Heartbeat
		require.True(t, parseHeartbeat([]byte(body), &fast), body)
		slow, ok := heartbeatByEncodingJSON([]byte(body))
		require.True(t, ok, body)
		assert.Equal(t, slow, fast, body)
	}
	// Left to encoding/json: escapes, other case, unknown fields, numbers
	// it refuses or reads otherwise, nulls, trailing data, non-ASCII.
	for _, body := range []string{
		`{"status":"pass\u0069ng"}`, `{"Status":"passing"}`, `{"state":"ok"}`, `{"revision":01}`,
		`{"revision":1.0}`, `{"revision":-1}`, `{"revision":18446744073709551616}`, `{"status":null}`,
		`{"status":"passing"} x`, `{"output":"é"}`, `{"status":"passing",}`, `{"status":"passing"`, ``, `[]`,
		`{"gossip_keys_version":-1}`, `{"gossip_keys_version":"3"}`, `{"gossip_keys_version":null}`, `{"Gossip_Keys_Version":3}`,
	} {
		var fast Heartbeat
		assert.False(t, parseHeartbeat([]byte(body), &fast), body)
	}
}

// FuzzParseHeartbeat: whatever the fast path accepts, encoding/json
// accepts and decodes alike.
func FuzzParseHeartbeat(f *testing.F) {
	f.Add(`{"status":"passing","output":"ok","revision":3}`)
	f.Add(`{"revision":01}`)
	f.Add(`{"status":"passing","output":"ok","revision":3,"gossip_keys_version":2}`)
	f.Add(`{"gossip_keys_version":1e2}`)
	f.Add(`{"gossip_keys_version":18446744073709551616}`)
	f.Fuzz(func(t *testing.T, body string) {
		var fast Heartbeat
		if !parseHeartbeat([]byte(body), &fast) {
			return
		}
		slow, ok := heartbeatByEncodingJSON([]byte(body))
		if !ok || slow != fast {
			t.Fatalf("%q: fast %+v, encoding/json %+v (ok %v)", body, fast, slow, ok)
		}
	})
}

func TestHeartbeatReplyWrittenAsEncodingJSON(t *testing.T) {
	f := newFixture(t)
	h := f.r.Handler(Access{BootstrapToken: "tok"})
	code, _, body := serve(t, h, "PUT", "/v1/instances/a", "tok", `{"service":"news","address":"10.0.0.1","port":80}`)
	require.Equal(t, 200, code, body)
	var reply RegisterReply
	require.NoError(t, json.Unmarshal([]byte(body), &reply))
	code, hdr, body := serve(t, h, "PUT", "/v1/instances/a/heartbeat", reply.Credential, `{"status":"passing","revision":1}`)
	require.Equal(t, 200, code, body)
	want, err := json.Marshal(HeartbeatReply{Revision: f.store.Snapshot().Revision})
	require.NoError(t, err)
	assert.Equal(t, string(want)+"\n", body)
	assert.Equal(t, "application/json; charset=utf-8", hdr.Get("Content-Type"))
}
