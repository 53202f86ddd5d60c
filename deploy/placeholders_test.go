package deploy_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/portolan/portolan/internal/testenv"
)

// coordinatorTokenFlags are the coordinator's flags that read a token the
// Secrets under kubernetes/ hold, by the Secret's key.
var coordinatorTokenFlags = map[string]string{"access-token": "--access-token-file", "agent-token": "--agent-token-file"}

// TestShippedSecretsStartNoCoordinator applies, as it were, the Secrets
// shipped under kubernetes/ unedited (kubectl apply -f deploy/kubernetes/):
// the coordinator given one of their tokens must refuse to start, or the
// admin API, or the registration of instances, would answer to a token
// printed in a public repository.
func TestShippedSecretsStartNoCoordinator(t *testing.T) {
	bin := testenv.Binary(t)
	docs := decodeFiles(t, os.ReadFile, "kubernetes/secrets.yaml", "kubernetes/consul/secrets.yaml")
	tried := 0
	for _, d := range docs {
		s, ok := d.obj.(*corev1.Secret)
		if !ok {
			continue
		}
		for key, value := range s.StringData {
			flag, ok := coordinatorTokenFlags[key]
			if !ok {
				continue
			}
			tried++
			dir := t.TempDir()
			file := filepath.Join(dir, key)
			if err := os.WriteFile(file, []byte(value), 0o440); err != nil {
				t.Fatal(err)
			}
			cmd := exec.Command(bin, "coordinator", "--listen="+testenv.FreeAddr(t), "--tls=off",
				"--data-dir="+filepath.Join(dir, "data"), flag+"="+file)
			var out testenv.SyncBuffer
			cmd.Stdout, cmd.Stderr = &out, &out
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			done := make(chan error, 1)
			go func() { done <- cmd.Wait() }()
			select {
			case err := <-done:
				if err == nil || !strings.Contains(out.String(), "empty") {
					t.Errorf("Secret %s key %s (%q) as %s: %v, want a refusal saying the file is empty:\n%s", s.Name, key, value, flag, err, out.String())
				}
			case <-time.After(10 * time.Second):
				_ = cmd.Process.Kill()
				<-done
				t.Errorf("Secret %s key %s: the coordinator runs with %q as %s:\n%s", s.Name, key, value, flag, out.String())
			}
		}
	}
	if tried != len(coordinatorTokenFlags) {
		t.Errorf("tried %d tokens of the shipped Secrets, want the %d keys of coordinatorTokenFlags", tried, len(coordinatorTokenFlags))
	}
}
