package deploy_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"

	"github.com/portolan/portolan/internal/testenv"
)

// TestCoordinatorStartsWithManifestArgs runs the real coordinator with the
// arguments of kubernetes/coordinator-statefulset.yaml, its mounts moved to
// temporary directories (the Secret's file mode 0440 as Kubernetes writes
// it) and its port to a free one, and checks that it serves HTTPS with the
// CA it made in its data dir: the flags not only exist but go together.
func TestCoordinatorStartsWithManifestArgs(t *testing.T) {
	bin := testenv.Binary(t)
	docs := decodeFiles(t, os.ReadFile, "kubernetes/coordinator-statefulset.yaml")
	sts := docs[0].obj.(*appsv1.StatefulSet)
	c := sts.Spec.Template.Spec.Containers[0]
	root := t.TempDir()
	moved := map[string]string{} // mount path -> temporary directory
	for _, m := range c.VolumeMounts {
		moved[m.MountPath] = filepath.Join(root, m.Name)
		if err := os.MkdirAll(moved[m.MountPath], 0o700); err != nil {
			t.Fatal(err)
		}
	}
	token := "manifest-test-admin-token"
	if err := os.WriteFile(filepath.Join(moved["/etc/portolan/admin"], "access-token"), []byte(token+"\n"), 0o440); err != nil {
		t.Fatal(err)
	}
	_, port, err := net.SplitHostPort(testenv.FreeAddr(t))
	if err != nil {
		t.Fatal(err)
	}
	var args []string
	for _, a := range c.Args {
		if a == "--listen=0.0.0.0:7070" {
			a = "--listen=0.0.0.0:" + port
		}
		for mount, dir := range moved {
			a = strings.Replace(a, "="+mount, "="+dir, 1)
		}
		args = append(args, a)
	}
	cmd := exec.Command(bin, args...)
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

	caFile := filepath.Join(moved["/data"], "tls", "ca.pem")
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	for {
		if _, err := os.Stat(caFile); err == nil {
			break
		}
		select {
		case <-waited:
			t.Fatalf("the coordinator exited with the manifest's arguments %q:\n%s", args, out.String())
		case <-ctx.Done():
			t.Fatalf("no CA at %s:\n%s", caFile, out.String())
		case <-time.After(20 * time.Millisecond):
		}
	}
	pem, err := os.ReadFile(caFile)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		t.Fatalf("%s holds no certificate", caFile)
	}
	// 3scale's API takes the token as access_token.
	getOverServiceName(ctx, t, pool, port, "/admin/api/services.json?access_token="+token, waited, &out)
}

// getOverServiceName GETs path from the coordinator on loopback port over
// HTTPS, trusting pool under the name the Service gives it (--tls-dns),
// until it answers 200; it fails the test on another status, when ctx
// ends, or when the coordinator exits first (waited closed), with its
// output.
func getOverServiceName(ctx context.Context, t *testing.T, pool *x509.CertPool, port, path string, waited <-chan struct{}, out *testenv.SyncBuffer) {
	t.Helper()
	client := &http.Client{Transport: &http.Transport{
		TLSClientConfig: &tls.Config{RootCAs: pool, ServerName: "portolan-coordinator.portolan.svc"},
	}}
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "https://127.0.0.1:"+port+path, nil)
		resp, err := client.Do(req)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("GET %s over HTTPS: %s, want 200\n%s", path, resp.Status, out.String())
			}
			return
		}
		if ctx.Err() != nil {
			t.Fatalf("GET %s over HTTPS trusting the CA under the Service's name: %v\n%s", path, err, out.String())
		}
		select {
		case <-waited:
			t.Fatalf("the coordinator exited:\n%s", out.String())
		case <-time.After(20 * time.Millisecond):
		}
	}
}
