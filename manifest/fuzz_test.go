package manifest_test

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/portolan/portolan/composition"
	"github.com/portolan/portolan/manifest"
)

// FuzzDecode holds the decoder to never panic on any input, and to read
// back what it accepted, re-encoded as YAML and as JSON, as the same
// documents. The seed corpus is in testdata/fuzz/FuzzDecode.
func FuzzDecode(f *testing.F) {
	f.Add([]byte(newsYAML))
	f.Add([]byte(accountPlansYAML))
	f.Fuzz(func(t *testing.T, data []byte) {
		docs, err := manifest.Decode(bytes.NewReader(data), "fuzz.yaml")
		if err != nil {
			return
		}
		clearOrigins(docs)
		for _, format := range []string{"yaml", "json"} {
			var b bytes.Buffer
			require.NoError(t, manifest.Encode(&b, docs, format))
			again, err := manifest.Decode(&b, "again."+format)
			require.NoError(t, err, "%s re-encoded:\n%s", format, b.String())
			require.Equal(t, docs, clearOrigins(again), "%s re-encoded:\n%s", format, b.String())
		}
	})
}

// FuzzDesired holds Desired to build every set of documents the decoder
// accepts or refuse it with an *Error naming where, never panicking, alone
// and over a base; and what it builds to export as documents it builds
// again into the same export. The seeds are the fixtures, and documents
// naming what only the base (buildComposition) has.
func FuzzDesired(f *testing.F) {
	f.Add([]byte(newsYAML))
	f.Add([]byte(baseRefsYAML))
	f.Add([]byte(accountPlansYAML))
	for _, name := range []string{"desired-minimal.yaml", "desired-news.yaml", "toolbox-product.yaml"} {
		data, err := os.ReadFile(filepath.Join("testdata", name))
		require.NoError(f, err)
		f.Add(data)
	}
	base := buildComposition(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		docs, err := manifest.Decode(bytes.NewReader(data), "fuzz.yaml")
		if err != nil {
			return
		}
		for _, b := range []*composition.Composition{nil, base} {
			c, err := manifest.Desired(docs, b)
			if err != nil {
				var e *manifest.Error
				require.True(t, errors.As(err, &e), "%T %v", err, err)
				require.NotEmpty(t, e.Source+e.Msg)
				continue
			}
			opts := manifest.ExportOptions{IncludeSecrets: true}
			out := manifest.Export(c, opts)
			again, err := manifest.Desired(out, b)
			require.NoError(t, err, "an export builds again")
			require.Equal(t, out, manifest.Export(again, opts))
		}
	})
}

// baseRefsYAML names a service, a backend and an account plan that only
// buildComposition has.
const baseRefsYAML = `apiVersion: portolan.dev/v1
kind: Account
org_name: Initech
plan: partners
applications: [{name: Reader, service: news_api, plan: gold}]
---
apiVersion: portolan.dev/v1
kind: Backend
system_name: articles
name: Articles
private_endpoint: http://articles.internal:8080
---
apiVersion: portolan.dev/v1
kind: Placement
name: weather
selector: {service: weather}
service: weather_api
`
