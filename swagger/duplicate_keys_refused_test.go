package swagger

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/portolan/portolan/swagger/openapischema"
)

// A key given twice in one object is refused, naming the key and where it
// is, in JSON and YAML, with the schema check or without (the agent build).
// YAML 1.2.2 §3.2.1.1: a mapping's keys are unique; RFC 8259 §4: with
// duplicate names "the behavior of software that receives such an object
// is unpredictable". The full build refused a YAML document with a key
// twice (libopenapi decodes it with yaml.v3: "mapping key already
// defined"), but the agent build's management proxy read the same
// --mgmt-spec, keeping the second "paths" and silently dropping the first;
// and a JSON document passed both, read as its last "paths" or "get" while
// whoever reviewed the spec read the first.
func TestParseRefusesDuplicateKeys(t *testing.T) {
	tests := []struct {
		name, doc string
		want      []string
	}{
		{"JSON top level", `{"openapi":"3.0.3","info":{"title":"t","version":"1"},` +
			`"paths":{"/a":{"get":{"responses":{"200":{"description":"ok"}}}}},` +
			`"paths":{"/admin":{"delete":{"responses":{"200":{"description":"ok"}}}}}}`,
			[]string{"parse JSON", `key "paths"`, "twice"}},
		{"JSON operation", `{"openapi":"3.0.3","info":{"title":"t","version":"1"},"paths":{"/a":{` +
			`"get":{"operationId":"read","responses":{"200":{"description":"ok"}}},` +
			`"get":{"operationId":"wipe","responses":{"200":{"description":"ok"}}}}}}`,
			[]string{"parse JSON", `key "get"`, "twice"}},
		{"YAML top level", "openapi: 3.0.3\ninfo: {title: t, version: '1'}\n" +
			"paths:\n  /a:\n    get: {responses: {'200': {description: ok}}}\n" +
			"paths:\n  /admin:\n    delete: {responses: {'200': {description: ok}}}\n",
			[]string{"parse YAML", "line 6", `key "paths"`, "line 3"}},
		{"YAML quoted and plain", "openapi: 3.0.3\ninfo: {title: t, version: '1'}\npaths:\n" +
			"  /a: {get: {responses: {'200': {description: ok}}}}\n" +
			"  '/a': {delete: {responses: {'200': {description: ok}}}}\n",
			[]string{"parse YAML", "line 5", `key "/a"`, "line 4"}},
	}
	for _, tt := range tests {
		for _, check := range []SchemaCheck{nil, openapischema.Check} {
			s, err := Parse([]byte(tt.doc), check)
			if s != nil {
				t.Logf("%s: read as %v", tt.name, s.Operations())
			}
			if !assert.Error(t, err, "%s (schema check: %v)", tt.name, check != nil) {
				continue
			}
			for _, w := range tt.want {
				assert.Contains(t, err.Error(), w, "%s (schema check: %v)", tt.name, check != nil)
			}
		}
	}
}

// A merge key (<<) is no duplicate: the mapping's own keys override the
// merged ones (YAML's merge key type, yaml.org/type/merge.html), and so do
// earlier merged mappings later ones.
func TestParseMergedKeysAreNoDuplicates(t *testing.T) {
	s, err := Parse([]byte("openapi: 3.0.3\ninfo: {title: t, version: '1'}\n"+
		"x-op: &op {operationId: base, summary: s}\nx-more: &more {operationId: more}\n"+
		"paths:\n  /a:\n    get:\n      <<: [*op, *more]\n      operationId: own\n      <<: *more\n"), nil)
	require.NoError(t, err)
	require.Len(t, s.Operations(), 1)
	assert.Equal(t, "own", s.Operations()[0].ID)
}
