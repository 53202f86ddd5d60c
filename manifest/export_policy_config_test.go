package manifest_test

import (
	"bytes"
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/portolan/portolan/composition"
	"github.com/portolan/portolan/manifest"
)

// withPolicy returns buildComposition's with a policy of configuration cfg,
// as a 3scale client wrote it, first in news_api's chain.
func withPolicy(t *testing.T, cfg string) *composition.Composition {
	t.Helper()
	tx := composition.NewTx(buildComposition(t), time.Now())
	s, ok := tx.View().ServiceBySystemName("news_api")
	require.True(t, ok)
	p, ok := tx.View().Proxies.Get(s.ID)
	require.True(t, ok)
	n := *p
	n.PolicyChain = append([]composition.PolicyConfig{{Name: "headers", Version: "builtin", Configuration: json.RawMessage(cfg), Enabled: true}}, p.PolicyChain...)
	require.NoError(t, tx.Update(&n))
	return tx.Result()
}

// A policy's configuration is kept as the client wrote it, and JSON
// writers escape characters outside the BMP as a surrogate pair (Python's
// json.dumps and Ruby's JSON do by default): `portolan export -o yaml`
// failed on the whole composition ("found invalid Unicode character escape
// code"), since YAML has no such escape.
func TestExportAsYAMLWritesAnyPolicyConfiguration(t *testing.T) {
	home := withPolicy(t, `{"response": "sorry \ud83d\ude00", "lone": "\ud83d", "ctl": "a\u0001\u2028b"}`)
	docs := manifest.Export(home, manifest.ExportOptions{})
	for _, format := range []string{"yaml", "json"} {
		var b bytes.Buffer
		require.NoError(t, manifest.Encode(&b, docs, format), format)
		again, err := manifest.Decode(&b, "again."+format)
		require.NoError(t, err, "%s:\n%s", format, b.String())
		var got map[string]string
		for _, d := range again {
			if d.Service != nil && d.Service.SystemName == "news_api" {
				require.NoError(t, json.Unmarshal(d.Service.Proxy.PolicyChain[0].Configuration, &got))
			}
		}
		assert.Equal(t, map[string]string{"response": "sorry 😀", "lone": "\ufffd", "ctl": "a\u0001\u2028b"}, got, format)
	}
}

// An export applied back to its home changes nothing: a configuration's
// numbers and strings read back as what they mean (1.0 is 1, "\u00e9" is
// "é"), which a diff of the stored JSON saw as a change of the chain at
// every such apply. Where the document's configuration means what home's
// does, home's is kept as written.
func TestExportAppliedBackKeepsPolicyConfigurationsAsWritten(t *testing.T) {
	for _, cfg := range []string{
		`{"a": 1.0, "b": 1e2, "c": 1E+2, "d": -0, "e": 100000000000000000000000}`,
		`{"s": "caf\u00e9 \u003c\u0026\u003e", "t": "\/"}`,
		`{ "nested" : [ {"x": 0.50} , true, null ] }`,
	} {
		home := withPolicy(t, cfg)
		for _, format := range []string{"yaml", "json"} {
			var b bytes.Buffer
			require.NoError(t, manifest.Encode(&b, manifest.Export(home, manifest.ExportOptions{}), format))
			docs, err := manifest.Decode(&b, "export."+format)
			require.NoError(t, err)
			desired, err := manifest.Desired(docs, home)
			require.NoError(t, err)
			plan, err := composition.Diff(home, desired, composition.DiffOptions{Owners: manifest.Owners(docs)})
			require.NoError(t, err)
			assert.Empty(t, plan.Changes, "%s as %s: applied back, nothing changes", cfg, format)
		}
	}

	// A configuration that means something else is the document's.
	home := withPolicy(t, `{"a": 1.0}`)
	docs := manifest.Export(home, manifest.ExportOptions{})
	for i := range docs {
		if s := docs[i].Service; s != nil && s.SystemName == "news_api" {
			s.Proxy.PolicyChain[0].Configuration = json.RawMessage(`{"a":1.5}`)
		}
	}
	desired, err := manifest.Desired(docs, home)
	require.NoError(t, err)
	s, _ := desired.ServiceBySystemName("news_api")
	p, _ := desired.Proxies.Get(s.ID)
	assert.JSONEq(t, `{"a":1.5}`, string(p.PolicyChain[0].Configuration))
}
