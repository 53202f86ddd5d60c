package coordinator_test

import (
	"crypto/tls"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/portolan/portolan/coordinator"
	"github.com/portolan/portolan/internal/pki"
)

// slowToOpen puts data at path (a new file renamed over it) whose open
// waits, once it is tried, for delay: a certificate source slower than the
// look at the files (a network file system under load). It holds a write
// lease on the file, which makes an open wait until the lease is given
// up (or the kernel's lease-break-time, 45s by default, passes).
func slowToOpen(t *testing.T, path string, data []byte, delay time.Duration) {
	t.Helper()
	tmp := path + ".slow"
	require.NoError(t, os.WriteFile(tmp, data, 0o600))
	f, err := os.Open(tmp)
	require.NoError(t, err)
	require.NoError(t, fcntl(f, syscall.F_SETLEASE, syscall.F_WRLCK), "a lease on %s", tmp)
	require.NoError(t, os.Rename(tmp, path))
	done := make(chan struct{})
	go func() {
		defer close(done)
		defer f.Close()
		// An open breaking the lease turns F_GETLEASE from the lease held
		// to what it is broken to.
		for {
			n, _, e := syscall.Syscall(syscall.SYS_FCNTL, f.Fd(), syscall.F_GETLEASE, 0)
			if e != 0 || n != syscall.F_WRLCK {
				break
			}
			time.Sleep(10 * time.Millisecond)
		}
		time.Sleep(delay)
		_ = fcntl(f, syscall.F_SETLEASE, syscall.F_UNLCK)
	}()
	t.Cleanup(func() { <-done })
}

func fcntl(f *os.File, cmd, arg int) error {
	if _, _, e := syscall.Syscall(syscall.SYS_FCNTL, f.Fd(), uintptr(cmd), uintptr(arg)); e != 0 {
		return e
	}
	return nil
}

// A renewed pair whose read takes longer than the interval between looks
// at the files is served, and join tokens carry its CA's pin: taking it
// (and learning its CA) does not wait on a look at the files the reload
// itself is in the middle of.
func TestOwnCertificateReloadSlowerThanTheLookIntervalCompletes(t *testing.T) {
	r := startRotation(t)
	replace(t, r.keyFile, r.newKey)
	slowToOpen(t, r.certFile, r.newCert, 1500*time.Millisecond)
	pins := make(chan pki.Pin, 1)
	go func() {
		deadline := time.Now().Add(reloadWait)
		for time.Now().Before(deadline) {
			conn, err := tls.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second}, "tcp", r.h.Addr(),
				&tls.Config{InsecureSkipVerify: true}) //nolint:gosec // a handshake, to look at the files
			if err == nil {
				conn.Close()
				if p := r.h.CAPin(); p == r.newCA.Pin() {
					pins <- p
					return
				}
			}
			time.Sleep(100 * time.Millisecond)
		}
		pins <- r.h.CAPin()
	}()
	select {
	case p := <-pins:
		assert.Equal(t, r.newCA.Pin(), p, "join tokens carry the renewed CA's pin: %s", r.h.logs)
	case <-time.After(2 * reloadWait):
		t.Fatalf("handshakes and CAPin hang once a slow reload takes the renewed pair: %s", r.h.logs)
	}
	assert.Equal(t, 1, r.h.logs.count("is of another CA"), "the change of CA is warned of: %s", r.h.logs)
}

// pipeSource feeds path, a FIFO, with data each time it is opened, as a
// secrets agent behind a named pipe does, and counts the reads. It stops
// with the test.
func pipeSource(t *testing.T, path string, data []byte) *atomic.Int64 {
	t.Helper()
	require.NoError(t, syscall.Mkfifo(path, 0o600))
	var reads atomic.Int64
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			f, err := os.OpenFile(path, os.O_WRONLY, 0) // waits for a reader
			if err != nil {
				t.Errorf("opening %s to write: %v", path, err)
				return
			}
			select {
			case <-stop:
				f.Close()
				return
			default:
			}
			// Later than the reader's look at the FIFO, so that the write
			// changes what a look sees: the file system's clock ticks.
			time.Sleep(50 * time.Millisecond)
			reads.Add(1)
			_, _ = f.Write(data)
			f.Close()
			// The reader sees the end of the data only once no writer
			// is left: the next open waits until it is gone.
			select {
			case <-stop:
				return
			case <-time.After(300 * time.Millisecond):
			}
		}
	}()
	t.Cleanup(func() {
		close(stop)
		// A reader of our own lets a writer waiting for one go.
		if f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK, 0); err == nil {
			<-done
			f.Close()
		}
	})
	return &reads
}

// --tls-cert and --tls-client-ca may name pipes (a secrets agent's, or
// process substitution): each is read once, at start, and not again on
// the handshakes' looks at the files, which would take a read of the
// source each time (or wait for a writer that never comes); the log says
// that they are not watched.
func TestOwnCertificateAndClientCAFromPipesAreReadOnce(t *testing.T) {
	certs := t.TempDir()
	serverCA, clientCA := newTestAuthority(t, filepath.Join(certs, "server-ca")), newTestAuthority(t, filepath.Join(certs, "client-ca"))
	regCert, keyFile := issueFiles(t, serverCA, pki.RoleServer, certs, "server")
	certFile, caFile := filepath.Join(certs, "cert.pipe"), filepath.Join(certs, "client-ca.pipe")
	certReads := pipeSource(t, certFile, readAll(t, regCert))
	caReads := pipeSource(t, caFile, clientCA.CertPEM())
	h := startTLSHome(t, "127.0.0.1:0", t.TempDir(), coordinator.Config{TLS: coordinator.TLSConfig{CertFile: certFile, KeyFile: keyFile, ClientCAFile: caFile}})
	roots, err := pki.LoadCertPool(filepath.Join(certs, "server-ca", pki.CACertFile))
	require.NoError(t, err)
	cli := resumingClient(t, roots, clientCA, certs, "agent")
	// Full handshakes only: each asks for the certificate, and so looks
	// at the files (a resumed one does not).
	cli.Transport.(*http.Transport).TLSClientConfig.ClientSessionCache = nil

	for deadline := time.Now().Add(2500 * time.Millisecond); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		_, err := get(cli, h.URL())
		require.NoError(t, err, "served: %s", h.logs)
	}
	assert.Equal(t, int64(1), certReads.Load(), "--tls-cert is read once")
	assert.Equal(t, int64(1), caReads.Load(), "--tls-client-ca is read once")
	assert.Equal(t, 1, h.logs.count("TLS certificate read once, at start: --tls-cert "+certFile+" is not a regular file"), "%s", h.logs)
	assert.Equal(t, 1, h.logs.count("client CAs read once, at start: --tls-client-ca "+caFile+" is not a regular file"), "%s", h.logs)
}
