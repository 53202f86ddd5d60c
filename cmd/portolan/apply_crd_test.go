package main

import (
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/portolan/portolan/manifest"
)

// The 3scale toolbox's Product and Backend CRDs (as `3scale product
// export` writes them) apply to a home, the apply is idempotent, and the
// home's export of them reads back as what was applied.
func TestToolboxCRDsApplyAndExportBack(t *testing.T) {
	home := startCoordinator(t, "admin")
	flags := []string{"--home", home, "--token", "admin"}
	crd := filepath.Join("..", "..", "manifest", "testdata", "toolbox-product.yaml")

	code, out, errOut := runCmd(t, append([]string{"apply", "-f", crd}, flags...)...)
	require.Equal(t, 0, code, "%s%s", out, errOut)
	assert.Contains(t, out, "+ create service:pets\n")
	assert.Contains(t, out, "+ create backend:pet_store\n")
	code, out, errOut = runCmd(t, append([]string{"diff", "-f", crd}, flags...)...)
	assert.Equal(t, 0, code, "the same CRDs again change nothing: %s%s", out, errOut)

	code, out, errOut = runCmd(t, append([]string{"export", "-o", "yaml"}, flags...)...)
	require.Equal(t, 0, code, errOut)
	exported := filepath.Join(docsDir(t, map[string]string{"home.yaml": out}), "home.yaml")
	docs, err := manifest.Load(exported)
	require.NoError(t, err)
	kinds := map[string]string{}
	for _, d := range docs {
		kinds[d.Name()] = string(d.Kind)
	}
	assert.Equal(t, "Service", kinds["pets"], "the Product comes back as a Service: %v", kinds)
	assert.Equal(t, "Backend", kinds["pet_store"], "the Backend comes back as a Backend: %v", kinds)
	code, out, errOut = runCmd(t, append([]string{"diff", "--prune", "-f", exported}, flags...)...)
	assert.Equal(t, 0, code, "the export is what home holds: %s%s", out, errOut)
}
