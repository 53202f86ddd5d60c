package deploy_test

import (
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/portolan/portolan/internal/testenv"
)

// The sets of plain manifests under kubernetes/, each applied on its own
// (consul/ beside the namespace and the admin Secret of the plain set).
var manifestSets = map[string]struct {
	files []string
	want  setExpect
}{
	"one coordinator": {
		files: []string{"kubernetes/namespace.yaml", "kubernetes/secrets.yaml", "kubernetes/coordinator-service.yaml",
			"kubernetes/coordinator-statefulset.yaml", "kubernetes/newsapi-deployment.yaml"},
		want: setExpect{coordinators: 1},
	},
	"coordinators on consul": {
		files: []string{"kubernetes/namespace.yaml", "kubernetes/secrets.yaml", "kubernetes/consul/secrets.yaml",
			"kubernetes/consul/coordinator-service.yaml", "kubernetes/consul/coordinator-statefulset.yaml",
			"kubernetes/consul/newsapi-deployment.yaml"},
		want: setExpect{coordinators: 3, consul: true},
	},
}

func TestKubernetesManifests(t *testing.T) {
	help := &flagHelp{bin: testenv.Binary(t)}
	// Every file under kubernetes/ decodes strictly and is in a set.
	var inSets []string
	for _, set := range manifestSets {
		inSets = append(inSets, set.files...)
	}
	err := filepath.WalkDir("kubernetes", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		if !strings.HasSuffix(p, ".yaml") {
			t.Errorf("%s: only .yaml manifests belong under kubernetes/", p)
			return nil
		}
		decodeFiles(t, os.ReadFile, p)
		if !slices.Contains(inSets, p) {
			t.Errorf("%s is in no set this test checks", p)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for name, set := range manifestSets {
		t.Run(name, func(t *testing.T) {
			checkSet(t, help, decodeFiles(t, os.ReadFile, set.files...), set.want)
		})
	}
}
