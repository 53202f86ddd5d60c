package deploy_test

import (
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/portolan/portolan/internal/testenv"
)

// TestImageContextReadableByImageUser assembles the context of `make
// image` under umask 027, as a hardened host sets it (the images are not
// built: DOCKER_BUILD=true). COPY keeps each file's mode and makes root its
// owner, and the images run as user 65532, an "other" to those files: each
// must be readable by others, the binaries runnable, and each directory
// enterable, or the container fails ("exec /portolan: permission denied").
func TestImageContextReadableByImageUser(t *testing.T) {
	makeBin, err := exec.LookPath("make")
	if err != nil {
		testenv.Missing(t, "no make: "+err.Error())
	}
	exe := map[string]bool{"portolan": true, "portolan-agent": true, "newsapi": true}
	for name := range exe {
		if _, err := os.Stat(filepath.Join("..", "bin", name)); err != nil {
			testenv.Missing(t, "no bin/"+name+" (make build): "+err.Error())
		}
	}
	ctx := filepath.Join(t.TempDir(), "image")
	// -o build: the binaries of bin/ as they are, not rebuilt under this umask.
	cmd := exec.Command("sh", "-c", `umask 027 && exec "$0" "$@"`, makeBin, "-C", "..", "-o", "build", "image",
		"VERSION=test", "IMAGE_CONTEXT="+ctx, "DOCKER_BUILD=true")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("make image: %v\n%s", err, out)
	}
	err = filepath.WalkDir(ctx, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(ctx, p)
		info, err := d.Info()
		if err != nil {
			return err
		}
		m := info.Mode().Perm()
		switch {
		case rel == "." || rel == "coordinator/data": // the context itself; 0700 on purpose, COPY --chown gives it to 65532
		case d.IsDir() && m&0o005 != 0o005:
			t.Errorf("%s/ is %#o: user 65532 cannot enter it in the image", rel, m)
		case !d.IsDir() && m&0o004 == 0:
			t.Errorf("%s is %#o: user 65532 cannot read it in the image", rel, m)
		case exe[rel] && m&0o001 == 0:
			t.Errorf("%s is %#o: user 65532 cannot run it in the image", rel, m)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
