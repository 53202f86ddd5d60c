package certreload

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"net"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/portolan/portolan/internal/pki"
)

// fifoOnce makes a FIFO at path that gives data to the first reader, as a
// process substitution (--tls-cert <(vault read ...)) or a secrets agent
// does, and no one after. A reader left waiting for a writer is let go
// when the test ends.
func fifoOnce(t *testing.T, path string, data []byte) {
	t.Helper()
	require.NoError(t, syscall.Mkfifo(path, 0o600))
	done := make(chan struct{})
	go func() {
		defer close(done)
		f, err := os.OpenFile(path, os.O_WRONLY, 0) // waits for the reader
		if err != nil {
			t.Errorf("opening %s to write: %v", path, err)
			return
		}
		defer f.Close()
		// Later than the reader's look at the FIFO, so that the write
		// changes what a look sees: the file system's clock ticks.
		time.Sleep(50 * time.Millisecond)
		if _, err := f.Write(data); err != nil {
			t.Errorf("writing %s: %v", path, err)
		}
	}()
	t.Cleanup(func() {
		// A writer of our own lets a reader waiting for one go (it reads
		// nothing); a reader of our own lets our writer go.
		if f, err := os.OpenFile(path, os.O_WRONLY|syscall.O_NONBLOCK, 0); err == nil {
			f.Close()
		}
		if f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK, 0); err == nil {
			<-done
			f.Close()
		}
	})
}

// serveTLS serves handshakes on loopback with getCert until the test ends,
// and returns the address.
func serveTLS(t *testing.T, getCert func(*tls.ClientHelloInfo) (*tls.Certificate, error)) string {
	t.Helper()
	ln, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{MinVersion: tls.VersionTLS12, GetCertificate: getCert})
	require.NoError(t, err)
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer conn.Close()
				_ = conn.(*tls.Conn).Handshake()
			}()
		}
	}()
	return ln.Addr().String()
}

// handshake is the leaf addr serves to a client of roots, or the error,
// within a generous budget: a handshake that waits on a file fails it.
func handshake(t *testing.T, addr string, roots *x509.CertPool) (*x509.Certificate, error) {
	t.Helper()
	conn, err := tls.DialWithDialer(&net.Dialer{Timeout: 10 * time.Second}, "tcp", addr, &tls.Config{RootCAs: roots, ServerName: "localhost"})
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	return conn.ConnectionState().PeerCertificates[0], nil
}

// A flag may name a FIFO (process substitution, a secrets agent): its
// pair is read once at start and served from then on, without looking at
// the files again, which would read the pipe on every look (consuming
// what a source gives, or waiting, with a handshake, for a writer that
// never comes); the log says so, naming the file.
func TestReloaderReadsAFIFOOnceAndKeepsServingIt(t *testing.T) {
	certs := newTestCerts(t)
	regCert, regKey, leaf := certs.issue(t, pki.RoleServer, "gateway")
	dir := t.TempDir()
	certFile, keyFile := filepath.Join(dir, "cert.pipe"), filepath.Join(dir, "key.pipe")
	fifoOnce(t, certFile, readFile(t, regCert))
	fifoOnce(t, keyFile, readFile(t, regKey))

	r, err := New(certFile, keyFile, testRole)
	require.NoError(t, err)
	var logs bytes.Buffer
	r.SetLog(zerolog.New(&logs))
	addr := serveTLS(t, r.GetCertificate)
	roots := x509.NewCertPool()
	roots.AddCert(certs.ca.Cert)

	for i := range 3 {
		r.checked.Store(0) // as if a second went by: a look is due
		got, err := handshake(t, addr, roots)
		require.NoError(t, err, "handshake %d after a look at the files is due", i)
		assert.Equal(t, leaf.SerialNumber, got.SerialNumber, "the pair read at start is served")
	}
	assert.Contains(t, logs.String(), "gateway: TLS certificate read once, at start: --tls-cert "+certFile+" and --tls-key "+keyFile+" are not regular files, so it is not watched for changes")
	assert.NotContains(t, logs.String(), `"level":"error"`)
}

func readFile(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	return b
}

// A watched file that a FIFO replaces (renamed over it) is refused at the
// look, before it is opened: the handshake is not held, the pair served
// stays, and the error names the file.
func TestReloaderRefusesAFileSwappedForAFIFOWithoutHanging(t *testing.T) {
	certs := newTestCerts(t)
	certFile, keyFile, leaf := certs.issue(t, pki.RoleServer, "gateway")
	r, err := New(certFile, keyFile, testRole)
	require.NoError(t, err)
	var logs bytes.Buffer
	r.SetLog(zerolog.New(&logs))
	addr := serveTLS(t, r.GetCertificate)
	roots := x509.NewCertPool()
	roots.AddCert(certs.ca.Cert)

	fifo := filepath.Join(t.TempDir(), "cert.pipe")
	require.NoError(t, syscall.Mkfifo(fifo, 0o600))
	require.NoError(t, os.Rename(fifo, certFile))
	r.checked.Store(0)
	got, err := handshake(t, addr, roots)
	require.NoError(t, err)
	assert.Equal(t, leaf.SerialNumber, got.SerialNumber, "the pair served stays")
	assert.Contains(t, logs.String(), "--tls-cert: "+certFile+" is not a regular file")
}

// CA certificates given by a pipe are read once, at start, and not looked
// at again.
func TestPoolReadsAFIFOOnce(t *testing.T) {
	certs := newTestCerts(t)
	fifo := filepath.Join(t.TempDir(), "ca.pipe")
	fifoOnce(t, fifo, certs.ca.CertPEM())
	p, err := NewPool(fifo, poolRole)
	require.NoError(t, err)
	var logs bytes.Buffer
	p.SetLog(zerolog.New(&logs))
	first := p.Current()
	require.NotNil(t, first)
	p.checked.Store(0) // a look is due
	cur := make(chan *x509.CertPool, 1)
	go func() { cur <- p.Current() }()
	assert.Same(t, first, within(t, cur), "the CAs read at start")
	assert.Contains(t, logs.String(), "client CAs read once, at start: --tls-client-ca "+fifo+" is not a regular file")
}

// The read of a look refuses a FIFO without waiting for a writer, for a
// flag's file too (a role that is not RegularOnly): a FIFO renamed over a
// watched file between the look's stat and its open would otherwise hold
// the look, and its lock, and so every handshake that looks after it.
func TestReadOfALookRefusesAFIFOWithoutHanging(t *testing.T) {
	fifo := filepath.Join(t.TempDir(), "cert.pipe")
	require.NoError(t, syscall.Mkfifo(fifo, 0o600))
	t.Cleanup(func() {
		// A writer of our own lets a reader left waiting for one go.
		if f, err := os.OpenFile(fifo, os.O_WRONLY|syscall.O_NONBLOCK, 0); err == nil {
			f.Close()
		}
	})
	read := make(chan error, 1)
	go func() {
		_, err := readPEMFile(fifo, testRole.CertFlag, testRole, true)
		read <- err
	}()
	err := within(t, read)
	assert.ErrorContains(t, err, "--tls-cert: "+fifo+" is not a regular file")
}
