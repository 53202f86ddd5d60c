package manifest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"runtime"
	"runtime/metrics"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"
)

// A source is cut into its documents before the YAML library builds a
// node of it (split.go): these hold the cut to the documents the library
// reads in the whole source, and the bound of one document.

// decodeWhole decodes a source as Decode did before it cut sources into
// documents: one parser for the whole of it.
func decodeWhole(data []byte, source string) ([]Document, Errors) {
	s := &reader{source: source, dec: newDecoder()}
	s.parse(bytes.NewReader(data), 0, func(n *yaml.Node) bool { return s.root(n, 0) })
	return s.docs, s.errs
}

// decodeCut decodes a source as Decode does.
func decodeCut(data []byte, source string) ([]Document, Errors) {
	return decodeSource(bytes.NewReader(data), source)
}

// backendDoc is a valid backend document named name, with body's fields.
func backendDoc(name, body string) string {
	return "apiVersion: portolan.dev/v1\nkind: Backend\nsystem_name: " + name + "\nname: B\nprivate_endpoint: http://b\n" + body
}

// rules is n mapping rules of a backend, one a line.
func rules(n int) string {
	var b strings.Builder
	b.WriteString("mapping_rules:\n")
	for i := range n {
		fmt.Fprintf(&b, "- {http_method: GET, pattern: /r%d, metric: hits, delta: 1}\n", i)
	}
	return b.String()
}

// A document larger than maxDocumentBytes is refused before it is parsed,
// named by its number and first line: the YAML library would build all of
// it first, at up to 140 bytes of memory a byte.
func TestDecodeRefusesADocumentLargerThanTheBoundBeforeParsingIt(t *testing.T) {
	t.Run("a YAML document", func(t *testing.T) {
		huge := backendDoc("huge", rules(maxDocumentBytes/50))
		require.Greater(t, len(huge), maxDocumentBytes)
		src := backendDoc("a", "") + "---\n" + backendDoc("b", "") + "# the next one is large\n---\n" + huge + "---\n" + backendDoc("c", "")
		var err error
		_, alloc := heapPeak(func() { _, err = Decode(strings.NewReader(src), "big.yaml") })
		require.Error(t, err)
		assert.Equal(t, "big.yaml:13: document 3: larger than 4 MiB, the most one document may be: split it into documents (separated by ---, or items of a JSON array)", err.Error())
		assert.Less(t, alloc, uint64(128<<20), "allocated %d MiB: the large document was parsed", alloc>>20)
	})
	t.Run("an item of a JSON array", func(t *testing.T) {
		var arr strings.Builder
		arr.WriteString(`[{"apiVersion": "portolan.dev/v1", "kind": "Placement", "name": "p", "selector": {"service": "s"}, "service": "s"},` + "\n\n")
		arr.WriteString(` {"apiVersion": "portolan.dev/v1", "kind": "Backend", "system_name": "huge", "name": "B", "private_endpoint": "http://b",` + "\n")
		arr.WriteString(`  "mapping_rules": [`)
		for i := range maxDocumentBytes / 60 {
			fmt.Fprintf(&arr, "{\"http_method\": \"GET\", \"pattern\": \"/r%d\", \"metric\": \"hits\", \"delta\": 1},\n", i)
		}
		arr.WriteString(`{"http_method": "GET", "pattern": "/", "metric": "hits", "delta": 1}]}]`)
		var err error
		_, alloc := heapPeak(func() { _, err = Decode(strings.NewReader(arr.String()), "big.json") })
		require.Error(t, err)
		assert.Equal(t, "big.json:3: document 2: larger than 4 MiB, the most one document may be: split it into documents (separated by ---, or items of a JSON array)", err.Error())
		assert.Less(t, alloc, uint64(128<<20), "allocated %d MiB: the large item was parsed", alloc>>20)
	})
}

// A JSON array is read item by item, as its documents: the array
// `portolan apply` sends home holds every document applied, and a dense one
// (a value every two bytes) is refused by its length before any is parsed.
func TestDecodeRefusesADenseJSONArrayBeforeParsingIt(t *testing.T) {
	src := "[" + strings.Repeat("1,", (MaxBytes-3)/2) + "1]"
	var err error
	start := time.Now()
	peak, alloc := heapPeak(func() { _, err = Decode(strings.NewReader(src), "dense.json") })
	require.Error(t, err)
	assert.Equal(t, "dense.json:1: too many values (more than 2097152, aliases counted each time they are used)", err.Error())
	// Linear in the source: about a second under the race detector, and
	// hours were it quadratic; the bound leaves room for a loaded machine.
	assert.Less(t, time.Since(start), 30*time.Second)
	assert.Less(t, alloc, uint64(128<<20), "allocated %d MiB (at most %d MiB at once)", alloc>>20, peak>>20)
}

// Each document is parsed alone, so an anchor holds no more than its own
// document: documents each anchored, and refused before the rest is read,
// were all kept by the YAML library's anchors until the end of the source.
func TestDecodeKeepsNoDocumentPastItsEnd(t *testing.T) {
	src := anchoredDocuments(500, 1<<20)
	var err error
	peak, _ := heapPeak(func() { _, err = Decode(strings.NewReader(src), "anchored.yaml") })
	require.Error(t, err)
	assert.Less(t, peak, uint64(40<<20), "held %d MiB at once for a %d KiB source", peak>>20, len(src)>>10)
}

// Documents each under the bound are read, however large the source; as a
// JSON array too.
func TestDecodeReadsManyDocumentsEachUnderTheBound(t *testing.T) {
	text := strings.Repeat("d", maxTextBytes)
	var body strings.Builder
	body.WriteString("metrics:\n")
	for i := range 50 {
		fmt.Fprintf(&body, "- {system_name: m%d, description: %s}\n", i, text)
	}
	var src strings.Builder
	for i := range 4 {
		src.WriteString("---\n" + backendDoc(fmt.Sprint("b", i), body.String()))
	}
	require.Greater(t, src.Len(), 3*maxDocumentBytes)
	require.Less(t, src.Len()/4, maxDocumentBytes)
	docs, err := Decode(strings.NewReader(src.String()), "many.yaml")
	require.NoError(t, err)
	require.Len(t, docs, 4)
	assert.Equal(t, 3*(1+5+1+50)+2, docs[3].Origin.Line, "the line of the fourth document in the source")

	arr, err := json.Marshal(docs)
	require.NoError(t, err)
	require.Greater(t, len(arr), 3*maxDocumentBytes)
	again, err := Decode(bytes.NewReader(arr), "many.json")
	require.NoError(t, err)
	require.Len(t, again, 4)
	assert.Equal(t, docs[3].Backend, again[3].Backend)
}

// A "---" indented in a block scalar is text, not a document's start.
func TestDecodeReadsAnIndentedMarkerInABlockScalarAsText(t *testing.T) {
	src := backendDoc("b", "description: |\n  first\n  ---\n  second\n  ...\n  third\n") + "---\n" + backendDoc("c", "")
	docs, err := Decode(strings.NewReader(src), "text.yaml")
	require.NoError(t, err)
	require.Len(t, docs, 2)
	assert.Equal(t, "first\n---\nsecond\n...\nthird\n", docs[0].Backend.Description)
	assert.Equal(t, 13, docs[1].Origin.Line)
}

// A "---" at the start of a line ends a block scalar and starts a document
// wherever it is, as the YAML library reads the whole source; in a quoted
// scalar, it is refused either way.
func TestDecodeCutsAtAMarkerInAScalarAsTheWholeSourceReads(t *testing.T) {
	for name, src := range map[string]string{
		"block scalar":                  backendDoc("b", "description: |\n  first\n---\n  second\n") + "---\n" + backendDoc("c", ""),
		"block scalar, then a document": backendDoc("b", "description: |\n  first\n---\n") + backendDoc("c", ""),
		"plain scalar":                  backendDoc("b", "description: first\n  second\n--- third\n"),
		"double quoted":                 backendDoc("b", "description: \"first\n---\nsecond\"\n"),
		"single quoted":                 backendDoc("b", "description: 'first\n--- second'\n"),
		"flow list":                     backendDoc("b", "metrics: [\n---\n]\n"),
	} {
		t.Run(name, func(t *testing.T) {
			wantDocs, wantErrs := decodeWhole([]byte(src), "cut.yaml")
			docs, errs := decodeCut([]byte(src), "cut.yaml")
			assert.Equal(t, wantDocs, docs)
			if len(wantErrs) > 0 && len(errs) > 0 && yamlError(wantErrs[len(wantErrs)-1]) {
				// Cut there, a quoted scalar or list ends with its document:
				// the library names the end rather than the marker.
				assert.True(t, yamlError(errs[len(errs)-1]), "%v", errs)
				assert.Equal(t, wantErrs[:len(wantErrs)-1], errs[:len(errs)-1])
				return
			}
			assert.Equal(t, wantErrs, errs)
		})
	}
	docs, err := Decode(strings.NewReader(backendDoc("b", "description: |\n  first\n---\n")+backendDoc("c", "")), "cut.yaml")
	require.NoError(t, err)
	require.Len(t, docs, 2)
	assert.Equal(t, "first\n", docs[0].Backend.Description)
}

// Directives belong to the document after them, after a "..." or not (as
// files with a %YAML line each read when put end to end).
func TestDecodeReadsDirectivesWithTheDocumentAfterThem(t *testing.T) {
	for name, src := range map[string]string{
		"after ...":    backendDoc("a", "") + "...\n%YAML 1.1\n---\n" + backendDoc("b", ""),
		"without ...":  backendDoc("a", "description: |+\n  x\n\n") + "%YAML 1.1\n# the next file\n%TAG !e! tag:example.com,2026:\n---\n" + backendDoc("b", ""),
		"at the start": "# a file\n%YAML 1.1\n---\n" + backendDoc("a", "") + "---\n" + backendDoc("b", ""),
	} {
		t.Run(name, func(t *testing.T) {
			wantDocs, wantErrs := decodeWhole([]byte(src), "directives.yaml")
			require.Empty(t, wantErrs)
			docs, errs := decodeCut([]byte(src), "directives.yaml")
			require.Empty(t, errs)
			require.Len(t, docs, 2)
			assert.Equal(t, wantDocs, docs)
		})
	}
}

// An error names the line of the source, in whichever document it is.
func TestDecodeErrorsNameTheLineOfTheSource(t *testing.T) {
	three := backendDoc("a", "") + "---\n" + backendDoc("b", "") + "\n# the third\n...\n---\n"
	for _, tc := range []struct{ name, src, want string }{
		{"a field", three + backendDoc("c", "metrics: [{system_name: m, unit: 1, unit: 2}]\n"),
			`lines.yaml:21: document 3 (Backend "c"): metrics[m].unit: given twice`},
		{"a syntax error", three + backendDoc("c", "metrics:\n- {a: [}\n"), `lines.yaml:21: document 3: did not find expected node content`},
		{"a syntax error on the marker", three[:len(three)-4] + "--- {\n" + backendDoc("c", ""), `lines.yaml:14: document 3: did not find expected ',' or '}'`},
		{"a scanner error", three + backendDoc("c", "description: \"\\q\"\n"), `lines.yaml:21: document 3: found unknown escape character`},
		{"a JSON item", "[\n {\"apiVersion\": \"portolan.dev/v1\", \"kind\": \"Placement\"},\n\n {\"apiVersion\": \"portolan.dev/v1\",\n  \"kind\": \"Backend\", \"x\": 1}]",
			`lines.json:2: document 1 (Placement): name: is required`},
		{"a second JSON item", "[{\"apiVersion\": \"portolan.dev/v1\", \"kind\": \"Placement\", \"name\": \"p\", \"selector\": {\"service\": \"s\"}, \"service\": \"s\"},\n\n {\"apiVersion\": \"portolan.dev/v1\",\n  \"kind\": \"Backend\", \"x\": 1}]",
			`lines.json:4: document 2 (Backend): x: unknown field (known: system_name, name, description, private_endpoint, metrics, mapping_rules)`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, wantErrs := decodeWhole([]byte(tc.src), "lines.yaml")
			_, errs := decodeCut([]byte(tc.src), "lines.yaml")
			require.NotEmpty(t, errs)
			assert.Equal(t, wantErrs, errs, "the errors of the source read whole")
			want := strings.Replace(tc.want, "lines.json", "lines.yaml", 1)
			assert.Equal(t, want, errs[0].Error())
		})
	}
}

// YAML anchors do not reach across documents (YAML 1.2, 3.2.2.2: an alias
// names a node of its own document; PyYAML and the Kubernetes readers
// refuse one naming another's). The YAML library shared them with every
// later document of a stream, so a document could keep the nodes of every
// one before it: each document is now parsed alone, and such an alias
// refused.
func TestDecodeRefusesAnAliasToAnotherDocument(t *testing.T) {
	src := backendDoc("a", "description: &d text\n") + "---\n" + backendDoc("b", "description: *d\n")
	_, err := Decode(strings.NewReader(src), "alias.yaml")
	require.Error(t, err)
	assert.Equal(t, "alias.yaml: document 2: unknown anchor 'd' referenced: an alias names an anchor of its own document (anchors do not reach across ---)", err.Error())

	docs, err := Decode(strings.NewReader(backendDoc("a", "description: &d text\nmetrics: [{system_name: m, description: *d}]\n")), "alias.yaml")
	require.NoError(t, err, "an alias in its anchor's document")
	assert.Equal(t, "text", docs[0].Backend.Metrics[0].Description)
}

// yamlError reports an error of the YAML library's, not the decoder's: it
// names no document's kind or field, and is none of the decoder's about
// a document's whole value.
func yamlError(e *Error) bool {
	if e.Kind != "" || e.Path != "" {
		return false
	}
	for _, m := range []string{"alias to nothing", "too many values", "nested deeper", "the tag ", "must be a mapping with apiVersion", "more than ", "larger than "} {
		if strings.HasPrefix(e.Msg, m) {
			return false
		}
	}
	return true
}

// heapPeak runs f and returns the most heap it held at once (sampled every
// millisecond, garbage not yet collected included, as the process holds
// it) and the bytes it allocated.
func heapPeak(f func()) (peak, total uint64) {
	runtime.GC()
	s := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}, {Name: "/gc/heap/allocs:bytes"}}
	metrics.Read(s)
	base, allocs := s[0].Value.Uint64(), s[1].Value.Uint64()
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		tick := time.NewTicker(time.Millisecond)
		defer tick.Stop()
		sample := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
		for {
			metrics.Read(sample)
			if v := sample[0].Value.Uint64(); v > base && v-base > peak {
				peak = v - base
			}
			select {
			case <-done:
				return
			case <-tick.C:
			}
		}
	}()
	f()
	close(done)
	wg.Wait()
	metrics.Read(s)
	return peak, s[1].Value.Uint64() - allocs
}

// oneBigDocument is a service of mapping rules up to size bytes: one
// document as large as a source may be.
func oneBigDocument(size int) string {
	var b strings.Builder
	b.WriteString("apiVersion: portolan.dev/v1\nkind: Service\nsystem_name: big\nname: Big\nmapping_rules:\n")
	for i := 0; b.Len() < size-100; i++ {
		fmt.Fprintf(&b, "- {http_method: GET, pattern: /r%d, metric: hits, delta: 1}\n", i)
	}
	return b.String()
}

// denseDocument is one document of size bytes, as many YAML values in them
// as YAML allows: a flow list of one-letter items.
func denseDocument(size int) string {
	head := "apiVersion: portolan.dev/v1\nkind: Backend\nsystem_name: b\nname: B\nprivate_endpoint: http://b\nmetrics: ["
	return head + strings.Repeat("x,", (size-len(head)-2)/2) + "x]\n"
}

// smallDocuments is MaxDocuments backends of size bytes together.
func smallDocuments(size int) string {
	var b strings.Builder
	per := size / MaxDocuments
	for i := range MaxDocuments {
		start := b.Len()
		fmt.Fprintf(&b, "---\napiVersion: portolan.dev/v1\nkind: Backend\nsystem_name: b%d\nname: B\nprivate_endpoint: http://b\nmapping_rules:\n", i)
		for j := 0; b.Len()-start < per-60; j++ {
			fmt.Fprintf(&b, "- {http_method: GET, pattern: /r%d, metric: hits, delta: 1}\n", j)
		}
	}
	return b.String()
}

// jsonDocuments is smallDocuments as one JSON array, as `portolan apply`
// sends documents home.
func jsonDocuments(tb testing.TB, size int) string {
	var items []any
	for _, doc := range strings.Split(smallDocuments(size*3/4), "---\n")[1:] {
		var v any
		if err := yaml.Unmarshal([]byte(doc), &v); err != nil {
			tb.Fatal(err)
		}
		items = append(items, v)
	}
	b, err := json.Marshal(items)
	if err != nil {
		tb.Fatal(err)
	}
	return string(b)
}

// anchoredDocuments is n documents of size bytes together, each anchored
// and refused by its apiVersion before the rest is read: YAML reads them
// all the same, and an anchor keeps what it names.
func anchoredDocuments(n, size int) string {
	var b strings.Builder
	per := size / n
	for i := range n {
		item := fmt.Sprintf("--- &d%d\napiVersion: x\nkind: Backend\nvalues: [", i)
		b.WriteString(item + strings.Repeat("x,", (per-len(item)-3)/2) + "x]\n")
	}
	return b.String()
}

// realisticService is the largest document a composition is expected to
// hold, as `portolan export -o yaml` writes it: a service of 2,000
// methods, a mapping rule for each, and 5 plans limiting and pricing each
// method (3scale's own UI is unusable long before).
func realisticService(tb testing.TB) string {
	const methods, plans = 2000, 5
	var b strings.Builder
	b.WriteString("apiVersion: portolan.dev/v1\nkind: Service\nsystem_name: catalog\nname: Catalog\ndescription: The product catalog API\n" +
		"proxy:\n  endpoint: https://catalog.example.com\n  api_backend: http://catalog.internal:8080\n  policy_chain:\n" +
		"  - {name: cors, version: builtin, configuration: {allow_origin: \"*\", allow_methods: [GET, POST]}}\n" +
		"  - {name: apicast, version: builtin, configuration: {}}\n" +
		"metrics:\n- system_name: hits\n  friendly_name: Hits\n  unit: hit\n  description: Number of API hits\n  methods:\n")
	for i := range methods {
		fmt.Fprintf(&b, "  - {system_name: get_resource_item_%d, friendly_name: Get resource item %d, description: Reads one item of resource %d}\n", i, i, i)
	}
	b.WriteString("- {system_name: bytes, friendly_name: Bytes, unit: byte}\nmapping_rules:\n")
	for i := range methods {
		fmt.Fprintf(&b, "- {http_method: GET, pattern: \"/v1/resources%d/{resource_id}/items/{item_id}$\", metric: get_resource_item_%d, delta: 1, position: %d}\n", i, i, i+1)
	}
	b.WriteString("plans:\n")
	for p := range plans {
		fmt.Fprintf(&b, "- system_name: plan_%d\n  name: Plan %d\n  state: published\n  cost_per_month: 9.99\n  limits:\n", p, p)
		for i := range methods {
			fmt.Fprintf(&b, "  - {metric: get_resource_item_%d, period: day, value: %d}\n", i, 1000*(i+1))
		}
		b.WriteString("  pricing_rules:\n")
		for i := range methods {
			fmt.Fprintf(&b, "  - {metric: get_resource_item_%d, cost_per_unit: 0.001, min: 1, max: 500}\n", i)
		}
	}
	docs, err := Decode(strings.NewReader(b.String()), "catalog.yaml")
	if err != nil {
		tb.Fatal(err)
	}
	var out strings.Builder
	if err := Encode(&out, docs, "yaml"); err != nil {
		tb.Fatal(err)
	}
	return out.String()
}

// BenchmarkDecodeMemory reports the most heap one Decode holds and the
// bytes it allocates, on sources as large as a source may be and on the
// largest realistic document: run with -benchtime=1x.
func BenchmarkDecodeMemory(b *testing.B) {
	const size = MaxBytes - 1024
	for _, tc := range []struct {
		name string
		src  func() string
	}{
		{"one 16 MiB document of mapping rules", func() string { return oneBigDocument(size) }},
		{"one 16 MiB document of one-letter values", func() string { return denseDocument(size) }},
		{"one 4 MiB document of one-letter values", func() string { return denseDocument(maxDocumentBytes - 64) }},
		{"10,000 documents of 16 MiB", func() string { return smallDocuments(size) }},
		{"a JSON array of 10,000 documents of 16 MiB", func() string { return jsonDocuments(b, size) }},
		{"10,000 anchored documents of 16 MiB", func() string { return anchoredDocuments(MaxDocuments, size) }},
		{"a service of 2,000 mapping rules", func() string { return realisticService(b) }},
	} {
		src := tc.src()
		b.Run(tc.name, func(b *testing.B) {
			var peak, total uint64
			var err error
			for b.Loop() {
				peak, total = heapPeak(func() { _, err = Decode(strings.NewReader(src), "big.yaml") })
			}
			b.ReportMetric(float64(len(src))/(1<<20), "source-MiB")
			b.ReportMetric(float64(peak)/(1<<20), "peak-heap-MiB")
			b.ReportMetric(float64(total)/(1<<20), "alloc-MiB")
			b.Logf("%s: %d KiB, error: %.200v", tc.name, len(src)>>10, err)
		})
	}
}

// FuzzDecodeDocuments holds the cut to the reading of the whole source:
// cut into documents (or a JSON array into items) and each parsed alone, a
// source reads as the same documents with the same errors. Where the whole
// source's reading fails on the YAML of a document, the cut is refused
// too, with the same errors before that document's; it may name the next
// document, and the errors of that document first: reading the whole
// source, the library reads ahead into the next document's first value,
// and fails there before it ends the one before. Two differences are by
// design: an alias to an anchor of another document is refused; and with
// a line starting with "%" after a document's content, the cut reads it as
// a directive, where the library may read it as text (see yamlDocuments),
// so both refuse the source, with other errors. The seeds are in
// testdata/fuzz/FuzzDecodeDocuments.
func FuzzDecodeDocuments(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) > maxDocumentBytes {
			return
		}
		wantDocs, wantErrs := decodeWhole(data, "fuzz.yaml")
		docs, errs := decodeCut(data, "fuzz.yaml")
		n, k := len(errs)-1, len(wantErrs)-1
		if k >= 0 && yamlError(wantErrs[k]) && n >= k && equalErrors(wantErrs[:k], errs[:k]) {
			for _, e := range errs[k:] {
				// Index-1: an error about a value holding documents names
				// the documents read before it.
				require.GreaterOrEqual(t, e.Index, wantErrs[k].Index-1, "errors of:\n%q\nread whole: %v\ncut: %v", data, wantErrs, errs)
			}
			return // refused in the document whose YAML failed, or the next
		}
		if n >= 0 && yamlError(errs[n]) && k+1 >= n && equalErrors(wantErrs[:n], errs[:n]) && strings.HasPrefix(errs[n].Msg, "unknown anchor ") {
			return // refused by design
		}
		if n >= 0 && k >= 0 && directiveIn(data) {
			return // refused both ways
		}
		require.Equal(t, wantErrs, errs, "errors of:\n%q", data)
		require.Equal(t, wantDocs, docs, "documents of:\n%q", data)
	})
}

// equalErrors reports a and b the same errors.
func equalErrors(a, b Errors) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if *a[i] != *b[i] {
			return false
		}
	}
	return true
}

// directiveIn reports a line starting with "%" after a document's content
// (not after a "..." document end, nor before the first document).
func directiveIn(data []byte) bool {
	prologue := true
	for i := 0; i < len(data); {
		end, next := lineEnd(data, i)
		text := data[i:end]
		switch t := bytes.TrimLeft(text, " \t"); {
		case marker(text, "..."):
			prologue = true
		case len(text) > 0 && text[0] == '%':
			if !prologue {
				return true
			}
		case len(t) > 0 && t[0] != '#':
			prologue = false
		}
		i = next
	}
	return false
}
