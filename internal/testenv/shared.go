package testenv

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"testing"
)

// ThreescaleDir returns the folder of the real 3scale definitions kept beside
// the project (../shared/3scale), or skips the test with a message saying
// so where it is absent. CI always has it. $PORTOLAN_3SCALE_DIR overrides it.
func ThreescaleDir(t testing.TB) string {
	t.Helper()
	dir := threescaleDir()
	if _, err := os.Stat(dir); err != nil {
		Missing(t, fmt.Sprintf("the 3scale reference files are not at %s (CI always has them; set PORTOLAN_3SCALE_DIR): %v", dir, err))
	}
	return dir
}

func threescaleDir() string {
	if dir := os.Getenv("PORTOLAN_3SCALE_DIR"); dir != "" {
		return dir
	}
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..", "..", "shared", "3scale")
}

// ReadThreescaleFile reads one file of the 3scale reference files where no
// test is at hand (a TestMain); the error wraps fs.ErrNotExist when they are
// absent.
func ReadThreescaleFile(rel string) ([]byte, error) {
	b, err := os.ReadFile(filepath.Join(threescaleDir(), rel))
	if err != nil {
		return nil, fmt.Errorf("read 3scale reference file: %w", err)
	}
	return b, nil
}

// ThreescaleFile reads one file of ThreescaleDir, e.g.
// "account_management_api.json".
func ThreescaleFile(t testing.TB, rel string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(ThreescaleDir(t), rel))
	if err != nil {
		t.Fatalf("read 3scale reference file: %v", err)
	}
	return b
}
