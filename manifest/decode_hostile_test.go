package manifest_test

import (
	"bytes"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/portolan/portolan/manifest"
)

// An image's documents are written by whoever built the image: these hold
// the decoder to what it reads from documents made to hurt home, beside the
// bounds of TestDecodeBoundsWhatItReads.

// decodeCost decodes doc and returns the time it took, the bytes it
// allocated and the error.
func decodeCost(t *testing.T, doc string) (time.Duration, uint64, error) {
	t.Helper()
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	start := time.Now()
	_, err := manifest.Decode(strings.NewReader(doc), "hostile.yaml")
	took := time.Since(start)
	runtime.ReadMemStats(&after)
	return took, after.TotalAlloc - before.TotalAlloc, err
}

// A YAML anchor is shared by the rest of its document, so one list aliased
// by thousands of documents of a JSON-style array (or one document aliased
// thousands of times) would make the decoder allocate, scan or copy the
// whole list once per use, each use costing one value of the budget: half
// a MiB of YAML cost over a minute and 200 GB of allocations. A list or
// mapping costs its length each time it is read. Across "---" documents,
// an alias names nothing: each document is parsed alone (split.go).
func TestDecodeChargesEachUseOfAnAliasedListOrMapping(t *testing.T) {
	list := "[" + strings.Repeat("x,", 250_000) + "x]"
	var keys strings.Builder
	keys.WriteString("{apiVersion: portolan.dev/v1, kind: Backend")
	for i := range 100_000 {
		keys.WriteString(", k" + strconv.Itoa(i) + ": 1")
	}
	keys.WriteString("}")
	for name, doc := range map[string]string{
		"a list aliased by each document": "- &d {apiVersion: portolan.dev/v1, kind: Backend, system_name: b, name: B, private_endpoint: http://b, metrics: " +
			list + "}\n" + strings.Repeat("- *d\n", 9_999),
		"a wide mapping aliased by each document": "- &d " + keys.String() + "\n" + strings.Repeat("- *d\n", 9_999),
	} {
		t.Run(name, func(t *testing.T) {
			require.Less(t, len(doc), 2*manifest.MaxBytes/16, "a small source")
			took, alloc, err := decodeCost(t, doc)
			require.Error(t, err)
			assert.Contains(t, err.Error(), "too many values")
			assert.Less(t, took, 5*time.Second, "decoding stops at the budget")
			assert.Less(t, alloc, uint64(512<<20), "allocated %d MiB", alloc>>20)
		})
	}
	t.Run("a list aliased across --- documents", func(t *testing.T) {
		doc := "apiVersion: portolan.dev/v1\nkind: Backend\nsystem_name: b\nname: B\nprivate_endpoint: http://b\nmetrics: &l " + list + "\n" +
			strings.Repeat("---\n{apiVersion: portolan.dev/v1, kind: Backend, system_name: b, name: B, private_endpoint: http://b, metrics: *l}\n", 9_999)
		took, alloc, err := decodeCost(t, doc)
		require.Error(t, err)
		assert.Contains(t, err.Error(), "hostile.yaml: document 2: unknown anchor 'l' referenced")
		assert.Less(t, took, 5*time.Second)
		assert.Less(t, alloc, uint64(512<<20), "allocated %d MiB", alloc>>20)
	})
}

// A name longer than 3scale keeps (255 bytes: composition's system_name
// rule) or a text longer than its longest text (64 KiB) is refused where it
// is read, so that no path or message repeats a long name: a plan named by
// 200 KB, aliased 250 times with a thousand aliased limits, cost over a
// minute and 150 GB of allocations in the paths naming each limit, and a
// 900 KB metric named by 60 mapping rules made a 45 MB error.
func TestDecodeRefusesNamesAndTextsLongerThanHomeKeeps(t *testing.T) {
	head := "apiVersion: portolan.dev/v1\nkind: Service\nsystem_name: s\nname: S\n"
	long := strings.Repeat("n", 256)
	for _, tc := range []struct{ name, doc, want string }{
		{"system_name", "apiVersion: portolan.dev/v1\nkind: Service\nsystem_name: " + long + "\nname: S\n",
			`system_name: longer than 255 bytes (3scale's bound for a name)`},
		{"plan name", head + "plans:\n- {system_name: " + long + ", name: P}\n", `plans[0].system_name: longer than 255 bytes`},
		{"a reference", head + "mapping_rules:\n- {http_method: GET, pattern: /, metric: " + long + ", delta: 1}\n",
			`mapping_rules[0].metric: longer than 255 bytes`},
		{"a label key", "apiVersion: portolan.dev/v1\nkind: Placement\nname: p\nservice: s\nselector: {service: s, labels: {" + long + ": x}}\n",
			`selector.labels: a key longer than 255 bytes`},
		{"a text", head + "description: " + strings.Repeat("d", 64<<10+1) + "\n", `description: longer than 64 KiB`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := manifest.Decode(strings.NewReader(tc.doc), "long.yaml")
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.want)
			assert.Less(t, len(err.Error()), 1024, "the message does not repeat the name: %.200s", err.Error())
		})
	}
	t.Run("at the bound", func(t *testing.T) {
		name := strings.Repeat("n", 255)
		docs, err := manifest.Decode(strings.NewReader(head+"description: "+strings.Repeat("d", 64<<10)+"\nplans:\n- {system_name: "+name+", name: P}\n"), "long.yaml")
		require.NoError(t, err)
		assert.Equal(t, name, docs[0].Service.Plans[0].SystemName)
	})

	big := strings.Repeat("n", 200_000)
	for name, doc := range map[string]string{
		"aliased plans with a long name": head + "plans:\n- &p {system_name: " + big + ", name: P, limits: [&l {metric: hits, period: day, value: 1}" +
			strings.Repeat(", *l", 1000) + "]}\n" + strings.Repeat("- *p\n", 250),
		"a long metric named by many rules": head + "mapping_rules:\n- {http_method: GET, pattern: /, metric: &m " + strings.Repeat("m", 900_000) + ", delta: 1}\n" +
			strings.Repeat("- {http_method: GET, pattern: /, metric: *m, delta: 1}\n", 60),
		"a long name in every error": "apiVersion: portolan.dev/v1\nkind: Service\nsystem_name: " + strings.Repeat("n", 1<<20-2000) + "\nname: N\nmapping_rules:\n" +
			strings.Repeat("- {http_method: GET, pattern: /, metric: z, delta: 1}\n", 60),
	} {
		t.Run(name, func(t *testing.T) {
			took, alloc, err := decodeCost(t, doc)
			require.Error(t, err)
			assert.Less(t, len(err.Error()), 4096, "the errors do not repeat the long name: %.200s", err.Error())
			assert.Less(t, took, 5*time.Second)
			assert.Less(t, alloc, uint64(256<<20), "allocated %d MiB", alloc>>20)
		})
	}
}

// YAML 1.1 reads 012 as octal 10, YAML 1.2 as decimal 12, JSON refuses it:
// a limit of 0100 meant as 100 would silently be 64. An integer with a
// leading zero is refused; 0o12 and 0x1F say what they mean and are read.
func TestDecodeRefusesIntegersWithALeadingZero(t *testing.T) {
	head := "apiVersion: portolan.dev/v1\nkind: Service\nsystem_name: s\nname: S\n"
	limit := func(v string) string {
		return head + "plans:\n- system_name: p\n  name: P\n  limits: [{metric: hits, period: day, value: " + v + "}]\n"
	}
	for _, tc := range []struct{ name, doc, want string }{
		{"a limit", limit("0100"), `plans[p].limits[0].value: 0100 has a leading zero, which YAML 1.1 reads as octal (64): write 100, or 0o100 for octal`},
		{"a negative one", limit("-012"), `plans[p].limits[0].value: -012 has a leading zero`},
		{"a fee", head + "plans:\n- {system_name: p, name: P, setup_fee: 012}\n", `plans[p].setup_fee: 012 has a leading zero`},
		{"in a policy's configuration", head + "proxy:\n  policy_chain:\n  - {name: x, version: builtin, configuration: {port: 0755}}\n",
			`proxy.policy_chain[0].configuration.port: 0755 has a leading zero`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := manifest.Decode(strings.NewReader(tc.doc), "ints.yaml")
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.want)
		})
	}
	for v, want := range map[string]int64{"0": 0, "100": 100, "0o12": 10, "0x1F": 31, "+12": 12, "1_000": 1000} {
		docs, err := manifest.Decode(strings.NewReader(limit(v)), "ints.yaml")
		require.NoError(t, err, v)
		assert.Equal(t, want, docs[0].Service.Plans[0].Limits[0].Value, v)
	}
	// Text stays as written, whatever YAML 1.1 would make of it.
	docs, err := manifest.Decode(strings.NewReader("apiVersion: portolan.dev/v1\nkind: Service\nsystem_name: 012\nname: no\n"+
		"plans:\n- {system_name: on, name: 1:30}\n"), "ints.yaml")
	require.NoError(t, err)
	assert.Equal(t, "012", docs[0].Service.SystemName)
	assert.Equal(t, "no", docs[0].Service.Name)
	assert.Equal(t, "on", docs[0].Service.Plans[0].SystemName)
	assert.Equal(t, "1:30", docs[0].Service.Plans[0].Name)
}

// What a YAML reader would read differently from the decoder is refused,
// not guessed: a merge key (<<) copies fields in YAML 1.1 but is a plain
// key to YAML 1.2; a tag (!!binary, !!python/..., !custom) asks for a
// conversion the decoder does not make; a key given twice in a policy's
// configuration is read as the first by some readers and the last by
// others.
func TestDecodeRefusesWhatYAMLReadersReadDifferently(t *testing.T) {
	head := "apiVersion: portolan.dev/v1\nkind: Service\nsystem_name: s\nname: S\n"
	config := func(c string) string {
		return head + "proxy:\n  policy_chain:\n  - {name: x, version: builtin, configuration: " + c + "}\n"
	}
	for _, tc := range []struct{ name, doc, want string }{
		{"merge key in a document", head + "plans:\n- &b {system_name: p, name: P}\n- <<: *b\n  system_name: q\n",
			`hostile.yaml:7: document 1 (Service "s"): plans[q].<<: a merge key (<<) is not read: write the fields out`},
		{"merge key in a configuration", config("{<<: {a: 1}, b: 2}"), `proxy.policy_chain[0].configuration.<<: a merge key (<<) is not read`},
		{"key twice in a configuration", config("{a: 1, b: {c: 1}, a: 2}"), `proxy.policy_chain[0].configuration.a: given twice`},
		{"!!binary", head + "description: !!binary aGk=\n", `description: the tag !!binary is not read: drop it (values are read as written)`},
		{"!!python", head + "description: !!python/object:os.system x\n", `description: the tag !!python/object:os.system is not read`},
		{"custom tag", head + "plans: !plans []\n", `plans: the tag !plans is not read`},
		{"tag in a configuration", config("{a: !!binary aGk=}"), `proxy.policy_chain[0].configuration.a: the tag !!binary is not read`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := manifest.Decode(strings.NewReader(tc.doc), "hostile.yaml")
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.want)
		})
	}
	// The standard tags say what the value is already.
	docs, err := manifest.Decode(strings.NewReader(head+"description: !!str 012\nplans: !!seq [{system_name: !!str on, name: P}]\n"), "hostile.yaml")
	require.NoError(t, err)
	assert.Equal(t, "012", docs[0].Service.Description)
	assert.Equal(t, "on", docs[0].Service.Plans[0].SystemName)
	// A quoted "<<" is a key like any other.
	docs, err = manifest.Decode(strings.NewReader(config(`{"<<": 1}`)), "hostile.yaml")
	require.NoError(t, err)
	assert.JSONEq(t, `{"<<": 1}`, string(docs[0].Service.Proxy.PolicyChain[0].Configuration))
}

// A file saved by an editor on Windows starts with a byte order mark and
// ends its lines with CRLF: it reads as the same documents.
func TestDecodeReadsABOMAndCRLF(t *testing.T) {
	want, err := manifest.Decode(strings.NewReader(newsYAML), "news.yaml")
	require.NoError(t, err)
	got, err := manifest.Decode(strings.NewReader("\ufeff"+strings.ReplaceAll(newsYAML, "\n", "\r\n")), "news.yaml")
	require.NoError(t, err)
	assert.Equal(t, clearOrigins(want), clearOrigins(got))
}

// A key named "<<" is taken quoted, so Encode writes it quoted: plain, it
// would be a merge key, and what Encode wrote would not read back.
func TestEncodeWritesAKeyNamedLikeAMergeKeyQuoted(t *testing.T) {
	doc := "apiVersion: portolan.dev/v1\nkind: Placement\nname: p\nservice: s\nselector: {service: s, labels: {\"<<\": x}}\n---\n" +
		"apiVersion: portolan.dev/v1\nkind: Service\nsystem_name: s\nname: S\nproxy:\n  policy_chain:\n  - {name: x, version: builtin, configuration: {\"<<\": [\"<<\"]}}\n"
	docs, err := manifest.Decode(strings.NewReader(doc), "merge.yaml")
	require.NoError(t, err)
	var b bytes.Buffer
	require.NoError(t, manifest.Encode(&b, docs, "yaml"))
	again, err := manifest.Decode(&b, "again.yaml")
	require.NoError(t, err, "what Encode wrote reads back")
	assert.Equal(t, clearOrigins(docs), clearOrigins(again))
}

// A limit's value must be given, as 3scale's Limit Create requires it
// (../shared/3scale/account_management_api.json, "Limit Create": required
// access_token, period, value): left out, or empty after a template filled
// nothing in, it read as 0, a limit that refuses every call.
func TestDecodeRefusesALimitWithoutItsValue(t *testing.T) {
	head := "apiVersion: portolan.dev/v1\nkind: Service\nsystem_name: s\nname: S\nplans:\n- system_name: p\n  name: P\n  limits:\n"
	for name, limit := range map[string]string{
		"absent": "  - {metric: hits, period: day}\n",
		"null":   "  - {metric: hits, period: day, value: ~}\n",
		"empty":  "  - metric: hits\n    period: day\n    value:\n",
	} {
		t.Run(name, func(t *testing.T) {
			_, err := manifest.Decode(strings.NewReader(head+limit), "limit.yaml")
			require.Error(t, err)
			assert.Contains(t, err.Error(), `document 1 (Service "s"): plans[p].limits[0].value: is required`)
		})
	}
	// The operator's Product requires it too (3scale-operator
	// apis/capabilities/v1beta1/product_types.go: LimitSpec's Value int64
	// `json:"value"`, neither omitempty nor optional).
	product := "apiVersion: capabilities.3scale.net/v1beta1\nkind: Product\nspec:\n  name: S\n  applicationPlans:\n    p:\n      limits:\n" +
		"      - {period: day, metricMethodRef: {systemName: hits}}\n"
	_, err := manifest.Decode(strings.NewReader(product), "product.yaml")
	require.Error(t, err)
	assert.Contains(t, err.Error(), `document 1 (Product "s"): spec.applicationPlans[p].limits[0].value: is required`)

	docs, err := manifest.Decode(strings.NewReader(head+"  - {metric: hits, period: day, value: 0}\n"), "limit.yaml")
	require.NoError(t, err, "0 is a value: the metric is refused")
	assert.Zero(t, docs[0].Service.Plans[0].Limits[0].Value)
}

// apiVersion and kind are read before the rest of a document, and were
// read as their first occurrence: a second kind, which a reader taking the
// last (as many do) would follow, is refused as any field given twice is.
func TestDecodeRefusesKindOrAPIVersionGivenTwice(t *testing.T) {
	for name, tc := range map[string]struct{ doc, want string }{
		"kind": {"apiVersion: portolan.dev/v1\nkind: Service\nsystem_name: s\nname: S\nkind: Backend\nprivate_endpoint: http://b\n",
			`twice.yaml:5: document 1 (Service): kind: given twice`},
		"apiVersion": {"apiVersion: portolan.dev/v1\napiVersion: capabilities.3scale.net/v1beta1\nkind: Service\nsystem_name: s\nname: S\n",
			`twice.yaml:2: document 1 (Service): apiVersion: given twice`},
		"in a List": {"apiVersion: v1\nkind: List\nkind: Service\nitems: []\n", `twice.yaml:3: document 1 (List): kind: given twice`},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := manifest.Decode(strings.NewReader(tc.doc), "twice.yaml")
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.want)
		})
	}
}
