package deploy_test

import (
	"context"
	"crypto/x509"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/portolan/portolan/internal/testenv"
)

// TestConsulTLSSecretCommandsUseTheFilesPortolanWrites runs the commands
// kubernetes/consul/secrets.yaml gives for Secret portolan-coordinator-tls,
// as written, with the real binary: `portolan tls ca create` and `portolan
// tls cert create --server`, then checks that every file the `kubectl
// create secret ... --from-file=KEY=PATH` line reads is one they wrote, and
// that a coordinator served with them (--tls=on --tls-cert --tls-key, as
// the StatefulSet mounts them) is trusted through ca.crt under the
// Service's name.
//
// Oracle: kubectl's --from-file=key=path reads path and fails ("error
// reading ...: no such file or directory") when it is missing; the files
// are what `portolan tls cert create` reports ("==> Wrote server
// certificate <dir>/...").
func TestConsulTLSSecretCommandsUseTheFilesPortolanWrites(t *testing.T) {
	bin := testenv.Binary(t)
	raw, err := os.ReadFile("kubernetes/consul/secrets.yaml")
	if err != nil {
		t.Fatal(err)
	}
	// The commented commands, continuation lines joined.
	var commands []string
	var cur string
	for _, line := range strings.Split(string(raw), "\n") {
		if !strings.HasPrefix(line, "#") {
			continue
		}
		l := strings.TrimSpace(strings.TrimPrefix(line, "#"))
		if cur == "" && !strings.HasPrefix(l, "portolan ") && !strings.HasPrefix(l, "kubectl ") {
			continue
		}
		if strings.HasSuffix(l, `\`) {
			cur += strings.TrimSuffix(l, `\`) + " "
			continue
		}
		commands = append(commands, cur+l)
		cur = ""
	}
	dir := t.TempDir()
	fromFile := regexp.MustCompile(`--from-file=([^=\s]+)=(\S+)`)
	files := map[string]string{} // key of portolan-coordinator-tls -> file
	for _, c := range commands {
		words := strings.Fields(c)
		switch {
		case words[0] == "portolan" && len(words) > 1 && words[1] == "tls":
			cmd := exec.Command(bin, words[1:]...)
			cmd.Dir = dir
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("%s: %v\n%s", c, err, out)
			}
		case strings.Contains(c, "secret generic portolan-coordinator-tls"):
			for _, m := range fromFile.FindAllStringSubmatch(c, -1) {
				files[m[1]] = filepath.Join(dir, m[2])
			}
		}
	}
	for _, key := range []string{"tls.crt", "tls.key", "ca.crt"} {
		f, ok := files[key]
		if !ok {
			t.Fatalf("the kubectl command for portolan-coordinator-tls gives no --from-file=%s=...: %q", key, commands)
		}
		if _, err := os.Stat(f); err != nil {
			written, _ := filepath.Glob(filepath.Join(dir, "*", "*.pem"))
			t.Fatalf("--from-file=%s=%s: kubectl would fail, the commands before it wrote no such file (%v); they wrote %q",
				key, strings.TrimPrefix(f, dir+"/"), err, written)
		}
	}

	// A coordinator served with them, as the StatefulSet runs it.
	addr := testenv.FreeAddr(t)
	cmd := exec.Command(bin, "coordinator", "--listen="+addr, "--data-dir="+filepath.Join(dir, "data"),
		"--tls=on", "--tls-cert="+files["tls.crt"], "--tls-key="+files["tls.key"], "--access-token=consul-tls-test-token")
	var out testenv.SyncBuffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	waited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(waited) }()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		<-waited
	})
	pem, err := os.ReadFile(files["ca.crt"])
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		t.Fatalf("ca.crt (%s) holds no certificate", files["ca.crt"])
	}
	_, port, _ := net.SplitHostPort(addr)
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	getOverServiceName(ctx, t, pool, port, "/health/live", waited, &out)
}
