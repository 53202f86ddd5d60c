package gateway

import (
	"crypto/tls"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"

	"github.com/portolan/portolan/internal/backoff"
)

// reloadInterval is how often, at most, a handshake looks at the
// certificate files for a change.
const reloadInterval = time.Second

// A pair that failed to load is read again when its files' state changes,
// and besides, on a slow backoff between these (jittered, doubling after
// each failure in a row): a failure the files' state does not show (an
// access rule outside the inode, a rewrite within one tick of the file
// system's clock) still ends, while files that stay broken are not read
// every second.
const (
	failedRetryMin = 5 * time.Second
	failedRetryMax = time.Minute
)

// certReloader serves a certificate pair and takes a new one when its files
// change: a handshake looks at them (which files they are, their
// modification, status change times and sizes) at most once every
// reloadInterval, and loads them again when either changed. A pair
// that does not load (a key written after its certificate, a typo, a key
// the agent may not read) keeps the one served, and is logged once for
// each state of the files and error; it is read again when the files
// change (a chmod or chown changes their status change time only), and
// on a slow backoff (failedRetryMin to failedRetryMax) until it loads. The
// flags' pairs must load at start; the tls policy's need not
// (newLenientCertReloader), and serve nothing until they do.
type certReloader struct {
	certFile, keyFile string
	role              certRole
	log               zerolog.Logger

	cur     atomic.Pointer[loadedPair]
	checked atomic.Int64 // when the files were last looked at, Unix ns

	mu         sync.Mutex      // one look at a time, and what follows
	failed     filesState      // the files' state whose pair failed to load, logged once
	failedWith string          // and its error
	retry      backoff.Backoff // paces the reads of a pair that keeps failing in the same state
	retryAt    time.Time       // when it is read again though its files did not change
}

// loadedPair is a served pair and the state of the files it came from.
type loadedPair struct {
	cert  *tls.Certificate
	files filesState
}

// filesState is what tells a changed file: which file it is (a new one
// renamed over it is another), its modification time, its size and its
// status change time (changeTime: what a chmod, chown or a rewrite that
// puts the modification time back changes). The zero value is no file.
type filesState struct {
	cert, key os.FileInfo
}

// same reports whether s and o are the same files, unchanged.
func (s filesState) same(o filesState) bool {
	return sameFile(s.cert, o.cert) && sameFile(s.key, o.key)
}

func sameFile(a, b os.FileInfo) bool {
	if a == nil || b == nil {
		return a == b
	}
	return os.SameFile(a, b) && a.ModTime().Equal(b.ModTime()) && a.Size() == b.Size() &&
		changeTime(a) == changeTime(b)
}

// certRole is what a reloaded pair is for: the flags (or configuration
// fields) that name its files, and how logs call it. A pair the
// composition names (fromComposition: the tls policy's) is read from
// regular files only, since whoever writes the composition chooses the
// paths: a FIFO or a device would hold up handshakes.
type certRole struct {
	certFlag, keyFlag, name string
	fromComposition         bool
}

var (
	servedCert         = certRole{certFlag: "--gateway-tls-cert", keyFlag: "--gateway-tls-key", name: "TLS certificate"}
	upstreamClientCert = certRole{certFlag: "--upstream-client-cert", keyFlag: "--upstream-client-key", name: "upstream client certificate"}
)

// policyCertRole is the role of the tls policy's pair at field
// ("certificates[0]") of service's chain.
func policyCertRole(service, field string) certRole {
	return certRole{certFlag: field + ".certificate_path", keyFlag: field + ".certificate_key_path",
		name: "tls policy certificate " + field + " of service " + service, fromComposition: true}
}

// newCertReloader loads the pair; it logs reloads to nowhere until
// setLog.
func newCertReloader(certFile, keyFile string, role certRole) (*certReloader, error) {
	r := &certReloader{certFile: certFile, keyFile: keyFile, role: role, log: zerolog.Nop(),
		retry: backoff.Backoff{Min: failedRetryMin, Max: failedRetryMax}}
	st, err := r.stat()
	if err != nil {
		return nil, err
	}
	pair, err := loadPair(certFile, keyFile, role)
	if err != nil {
		return nil, err
	}
	r.cur.Store(&loadedPair{cert: pair, files: st})
	r.checked.Store(time.Now().UnixNano())
	return r, nil
}

// newLenientCertReloader loads a pair the composition names: unlike the
// flags' pair, one that does not load is no error. It serves nothing
// (current is nil: the tls policy's next certificate, or the gateway's
// own, is served) until it loads, when its files change or on the slow
// retry, and says why in log.
func newLenientCertReloader(certFile, keyFile string, role certRole, log zerolog.Logger) *certReloader {
	r := &certReloader{certFile: certFile, keyFile: keyFile, role: role, log: log,
		retry: backoff.Backoff{Min: failedRetryMin, Max: failedRetryMax}}
	r.cur.Store(&loadedPair{})
	r.reload()
	r.checked.Store(time.Now().UnixNano())
	return r
}

// setLog sets where reloads are logged; before serving.
func (r *certReloader) setLog(log zerolog.Logger) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.log = log
}

func (r *certReloader) stat() (filesState, error) {
	c, err := statPEMFile(r.certFile, r.role.certFlag, r.role.fromComposition)
	if err != nil {
		return filesState{}, err
	}
	k, err := statPEMFile(r.keyFile, r.role.keyFlag, r.role.fromComposition)
	if err != nil {
		return filesState{}, err
	}
	return filesState{cert: c, key: k}, nil
}

// statPEMFile looks at the file flag names; regularOnly refuses anything
// but a regular file.
func statPEMFile(path, flag string, regularOnly bool) (os.FileInfo, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("%s: %w: check the path and that the agent may read it", flag, err)
	}
	if regularOnly && !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("%s: %s is not a regular file: give the path of a PEM file", flag, path)
	}
	return fi, nil
}

// GetCertificate is tls.Config's: the current pair, looked for anew at most
// once every reloadInterval. Only the handshake that wins the turn looks;
// the others serve the pair as it is. A lenient reloader's is nil until a
// pair loads.
func (r *certReloader) GetCertificate(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	return r.current(), nil
}

// GetClientCertificate is tls.Config's for a client: the current pair, as
// GetCertificate.
func (r *certReloader) GetClientCertificate(*tls.CertificateRequestInfo) (*tls.Certificate, error) {
	return r.current(), nil
}

func (r *certReloader) current() *tls.Certificate {
	now := time.Now().UnixNano()
	if last := r.checked.Load(); now-last >= int64(reloadInterval) && r.checked.CompareAndSwap(last, now) {
		r.reload()
	}
	return r.cur.Load().cert
}

// reload loads the pair again when its files changed: since the pair
// served, and since the last pair that failed, or when that failure's
// retry is due (files that stay broken are not read again every second).
func (r *certReloader) reload() {
	r.mu.Lock()
	defer r.mu.Unlock()
	cur := r.cur.Load()
	now := time.Now()
	st, err := r.stat()
	if err == nil && (st.same(cur.files) || r.failedWith != "" && st.same(r.failed) && now.Before(r.retryAt)) {
		return
	}
	if err == nil {
		var pair *tls.Certificate
		if pair, err = loadPair(r.certFile, r.keyFile, r.role); err == nil {
			r.cur.Store(&loadedPair{cert: pair, files: st})
			r.failed, r.failedWith = filesState{}, ""
			r.retry.Reset()
			ev := r.log.Info().Str("cert_file", r.certFile)
			if pair.Leaf != nil {
				ev = ev.Str("serial", pair.Leaf.SerialNumber.Text(16)).Time("not_after", pair.Leaf.NotAfter)
			}
			if cur.cert == nil {
				ev.Msg("gateway: " + r.role.name + " loaded")
			} else {
				ev.Msg("gateway: " + r.role.name + " reloaded")
			}
			return
		}
	}
	if !st.same(r.failed) || err.Error() != r.failedWith {
		r.failed, r.failedWith = st, err.Error()
		r.retry.Reset() // a new failure: its first retry comes soon
		if cur.cert == nil {
			r.log.Error().Err(err).Msg("gateway: the " + r.role.name + " does not load; skipped until it does (read again when its files change, and now and then; the next certificate, or the gateway's own, is served)")
		} else {
			r.log.Error().Err(err).Msg("gateway: the " + r.role.name + " files changed but do not load; still using the previous certificate (read again when they change, and now and then)")
		}
	}
	r.retryAt = now.Add(r.retry.Next())
}
