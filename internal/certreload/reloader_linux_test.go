package certreload

import (
	"bytes"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"
	"unsafe"

	"github.com/rs/zerolog"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/portolan/portolan/internal/pki"
)

// A rotation that leaves the new key unreadable to the process (written by
// root with mode 0000, say), then fixed with chmod, is served: chmod
// changes neither the file, its modification time nor its size, only its
// status change time, which the reloader compares too. For a flag's pair
// (the old one is served meanwhile) and for a lenient one (nothing is
// served until it loads). The reloads run on a thread
// that may not read a file its mode forbids (as root, one without
// CAP_DAC_OVERRIDE and CAP_DAC_READ_SEARCH: capabilities are per thread on
// Linux), which the test checks first.
func TestReloaderLoadsAKeyMadeReadableByChmod(t *testing.T) {
	certs := newTestCerts(t)
	t.Run("flag's pair", func(t *testing.T) {
		certFile, keyFile, first := certs.issue(t, pki.RoleServer, "gateway")
		r, err := New(certFile, keyFile, testRole)
		require.NoError(t, err)
		var logs bytes.Buffer
		r.SetLog(zerolog.New(&logs))

		_, _, second := certs.issue(t, pki.RoleServer, "gateway")
		require.NoError(t, os.Chmod(keyFile, 0o000))
		var readErr error
		modesEnforced(t, func() {
			_, readErr = os.ReadFile(keyFile)
			r.reload()
		})
		require.ErrorIs(t, readErr, fs.ErrPermission, "the thread may not read the key")
		assert.Equal(t, first.SerialNumber, r.cur.Load().val.Leaf.SerialNumber, "unreadable: the old pair is still served")
		assert.Contains(t, logs.String(), "permission denied")

		chmodChanged(t, keyFile, 0o600)
		modesEnforced(t, r.reload)
		assert.Equal(t, second.SerialNumber, r.cur.Load().val.Leaf.SerialNumber, "readable again: the new pair")
		assert.Contains(t, logs.String(), "TLS certificate reloaded")
	})
	t.Run("lenient", func(t *testing.T) {
		certFile, keyFile, leaf := certs.issue(t, pki.RoleServer, "policy")
		require.NoError(t, os.Chmod(keyFile, 0o000))
		var logs bytes.Buffer
		var r *Reloader
		modesEnforced(t, func() {
			r = NewLenient(certFile, keyFile, lenientRole, zerolog.New(&logs))
		})
		assert.Nil(t, r.cur.Load().val, "unreadable: nothing served")
		assert.Contains(t, logs.String(), "permission denied")

		chmodChanged(t, keyFile, 0o600)
		modesEnforced(t, r.reload)
		require.NotNil(t, r.cur.Load().val, "readable: served: %s", logs.String())
		assert.Equal(t, leaf.SerialNumber, r.cur.Load().val.Leaf.SerialNumber)
	})
}

// A pair that failed to load for a reason its files' state does not show
// (here the process out of file descriptors, as under a burst of
// connections: "too many open files") is read again on a slow backoff, so
// the rotated pair is served once it loads; files that stay broken are
// not read every second meanwhile, and a failure that repeats is logged
// once.
func TestReloaderRetriesAFailedPairOnABackoff(t *testing.T) {
	certs := newTestCerts(t)
	certFile, keyFile, first := certs.issue(t, pki.RoleServer, "gateway")
	r, err := New(certFile, keyFile, testRole)
	require.NoError(t, err)
	var logs bytes.Buffer
	r.SetLog(zerolog.New(&logs))

	_, _, second := certs.issue(t, pki.RoleServer, "gateway")
	for range 2 {
		r.retryAt = time.Time{} // as if the retry's wait went by
		before := time.Now()
		outOfDescriptors(t, r.reload)
		assert.Equal(t, first.SerialNumber, r.cur.Load().val.Leaf.SerialNumber, "the old pair is still served")
		assert.WithinRange(t, r.retryAt, before.Add(failedRetryMin/2), time.Now().Add(failedRetryMax), "read again later")
	}
	assert.Equal(t, 1, strings.Count(logs.String(), `"level":"error"`), "logged once: %s", logs.String())
	assert.Contains(t, logs.String(), "too many open files")

	r.reload()
	assert.Equal(t, first.SerialNumber, r.cur.Load().val.Leaf.SerialNumber, "not read again before the retry is due")
	r.retryAt = time.Time{}
	r.reload()
	assert.Equal(t, second.SerialNumber, r.cur.Load().val.Leaf.SerialNumber, "the retry loads the new pair")
	assert.Empty(t, r.failedWith, "no failure left")
}

// chmodChanged sets path's mode, again until its status change time moved
// (two changes within one tick of the file system's clock may share it).
func chmodChanged(t *testing.T, path string, mode os.FileMode) {
	t.Helper()
	fi, err := os.Stat(path)
	require.NoError(t, err)
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(time.Millisecond) {
		require.NoError(t, os.Chmod(path, mode))
		now, err := os.Stat(path)
		require.NoError(t, err)
		if changeTime(now) != changeTime(fi) {
			return
		}
		require.True(t, time.Now().Before(deadline), "the status change time of %s does not move", path)
	}
}

// modesEnforced runs fn on a thread of its own that may not read a file
// its mode forbids: one without CAP_DAC_OVERRIDE and CAP_DAC_READ_SEARCH
// in its effective capabilities (root's bypass of file modes; an
// unprivileged test has neither). The thread ends with fn: it is never
// handed back to the scheduler.
func modesEnforced(t *testing.T, fn func()) {
	t.Helper()
	done := make(chan error, 1)
	go func() {
		runtime.LockOSThread() // never unlocked: the thread exits with this goroutine
		const (
			capDACOverride   = 1
			capDACReadSearch = 2
			capVersion3      = 0x20080522 // _LINUX_CAPABILITY_VERSION_3
		)
		hdr := struct {
			version uint32
			pid     int32 // 0: the calling thread
		}{version: capVersion3}
		var data [2]struct{ effective, permitted, inheritable uint32 }
		if _, _, e := syscall.RawSyscall(syscall.SYS_CAPGET, uintptr(unsafe.Pointer(&hdr)), uintptr(unsafe.Pointer(&data[0])), 0); e != 0 {
			done <- e
			return
		}
		data[0].effective &^= 1<<capDACOverride | 1<<capDACReadSearch
		if _, _, e := syscall.RawSyscall(syscall.SYS_CAPSET, uintptr(unsafe.Pointer(&hdr)), uintptr(unsafe.Pointer(&data[0])), 0); e != 0 {
			done <- e
			return
		}
		fn()
		done <- nil
	}()
	require.NoError(t, <-done, "dropping the thread's capabilities")
}

// outOfDescriptors runs fn with the process's descriptor limit at the
// lowest free descriptor, so that fn's first open fails with EMFILE, and
// puts the limit back.
func outOfDescriptors(t *testing.T, fn func()) {
	t.Helper()
	var lim syscall.Rlimit
	require.NoError(t, syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim))
	f, err := os.Open(os.DevNull)
	require.NoError(t, err)
	lowest := f.Fd()
	require.NoError(t, f.Close())
	low := lim
	low.Cur = uint64(lowest)
	require.NoError(t, syscall.Setrlimit(syscall.RLIMIT_NOFILE, &low))
	defer func() { require.NoError(t, syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim)) }()
	fn()
}

// Paths a configuration chooses may be anything: a FIFO put there (even
// after its path was looked at) would hold the open, and the handshake
// with it, until a writer came. The file is opened without blocking and
// refused when it is not a regular file.
func TestReloaderRefusesAFIFOWithoutHanging(t *testing.T) {
	fifo := filepath.Join(t.TempDir(), "cert.pem")
	require.NoError(t, syscall.Mkfifo(fifo, 0o600))
	read := make(chan error, 1)
	go func() {
		_, err := readPEMFile(fifo, "certificates[0].certificate_path", lenientRole, true)
		read <- err
	}()
	err := within(t, read)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "certificates[0].certificate_path: "+fifo+" is not a regular file")
}
