package testenv

import (
	"os"
	"testing"
)

// OldBuild is the older build of portolan named by the environment
// variable env (what says which build, for the message), as the tests
// across versions run it (build tag upgrade; make test-upgrade sets the
// variables). The test fails, naming the variable, without it: a test of
// an upgrade that ran nothing would pass for nothing.
func OldBuild(t testing.TB, env, what string) string {
	t.Helper()
	bin := os.Getenv(env)
	if bin == "" {
		t.Fatalf("%s is not set: point it at %s (make test-upgrade OLD=<git revision> builds one)", env, what)
	}
	if _, err := os.Stat(bin); err != nil {
		t.Fatalf("%s=%s: %v", env, bin, err)
	}
	return bin
}
