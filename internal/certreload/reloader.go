package certreload

import (
	"crypto/tls"
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

// Role is what a reloaded pair is for: the flags (or configuration
// fields) that name its files, and how errors and logs call it.
type Role struct {
	// CertFlag and KeyFlag name the files in errors ("--tls-cert").
	CertFlag, KeyFlag string
	// Name is how logs call the pair ("TLS certificate").
	Name string
	// Reader is the process that must be allowed to read the files, as
	// errors name it ("the agent"); "this process" when empty.
	Reader string
	// LogPrefix starts each message logged ("gateway: "), if any.
	LogPrefix string
	// Fallback says, in a lenient Reloader's log, what is served while
	// its pair does not load.
	Fallback string
	// RegularOnly reads regular files only, opened without blocking: for
	// paths that whoever writes the configuration chooses (the tls
	// policy's), where a FIFO or a device would hold up handshakes.
	RegularOnly bool
}

func (r Role) reader() string {
	if r.Reader == "" {
		return "this process"
	}
	return r.Reader
}

// Reloader serves a certificate pair and takes a new one when its files
// change: a handshake looks at them (which files they are, their
// modification, status change times and sizes) at most once every
// reloadInterval, and loads them again when either changed. A pair that
// does not load (a key written after its certificate, a typo, a key the
// process may not read) keeps the one served, and is logged once for
// each state of the files and error; it is read again when the files
// change (a chmod or chown changes their status change time only), and
// on a slow backoff (failedRetryMin to failedRetryMax) until it loads.
// New's pair must load at start; NewLenient's need not, and serves
// nothing until it does.
//
// Its methods are safe for concurrent use; SetLog and OnReload are meant
// to be called before it serves.
type Reloader struct {
	certFile, keyFile string
	role              Role

	cur     atomic.Pointer[loadedPair]
	checked atomic.Int64 // when the files were last looked at, Unix ns

	mu         sync.Mutex                        // one look at a time, and what follows
	log        zerolog.Logger                    // under mu
	onReload   func(prev, next *tls.Certificate) // under mu
	failed     filesState                        // the files' state whose pair failed to load, logged once
	failedWith string                            // and its error
	retry      backoff.Backoff                   // paces the reads of a pair that keeps failing in the same state
	retryAt    time.Time                         // when it is read again though its files did not change
}

// loadedPair is a served pair and the state of the files it came from.
type loadedPair struct {
	cert  *tls.Certificate
	files filesState
}

// New loads the pair, which must load; it logs reloads to nowhere until
// SetLog.
func New(certFile, keyFile string, role Role) (*Reloader, error) {
	r := &Reloader{certFile: certFile, keyFile: keyFile, role: role, log: zerolog.Nop(),
		retry: backoff.Backoff{Min: failedRetryMin, Max: failedRetryMax}}
	st, err := statFiles(certFile, keyFile, role)
	if err != nil {
		return nil, err
	}
	pair, err := LoadPair(certFile, keyFile, role)
	if err != nil {
		return nil, err
	}
	r.cur.Store(&loadedPair{cert: pair, files: st})
	r.checked.Store(time.Now().UnixNano())
	return r, nil
}

// NewLenient loads a pair that may not load yet (one the composition
// names): it serves nothing (Current is nil: the caller serves another)
// until it loads, when its files change or on the slow retry, and says
// why in log.
func NewLenient(certFile, keyFile string, role Role, log zerolog.Logger) *Reloader {
	r := &Reloader{certFile: certFile, keyFile: keyFile, role: role, log: log,
		retry: backoff.Backoff{Min: failedRetryMin, Max: failedRetryMax}}
	r.cur.Store(&loadedPair{})
	r.reload()
	r.checked.Store(time.Now().UnixNano())
	return r
}

// SetLog sets where reloads and failures are logged.
func (r *Reloader) SetLog(log zerolog.Logger) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.log = log
}

// OnReload sets fn, called with the pair served until then (nil for none)
// and the new one each time a new pair is taken, on the handshake that
// took it, under the Reloader's lock: it must be quick, and call none of
// r's methods (Current, after a read slower than reloadInterval, would
// wait for that lock for good).
func (r *Reloader) OnReload(fn func(prev, next *tls.Certificate)) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.onReload = fn
}

// GetCertificate is tls.Config's: the current pair, looked for anew at most
// once every reloadInterval. Only the handshake that wins the turn looks;
// the others serve the pair as it is. A lenient Reloader's is nil until a
// pair loads.
func (r *Reloader) GetCertificate(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	return r.Current(), nil
}

// GetClientCertificate is tls.Config's for a client: the current pair, as
// GetCertificate.
func (r *Reloader) GetClientCertificate(*tls.CertificateRequestInfo) (*tls.Certificate, error) {
	return r.Current(), nil
}

// Current is the pair served, after a look at its files when
// reloadInterval has passed since the last one; nil when a lenient
// Reloader's pair has not loaded yet.
func (r *Reloader) Current() *tls.Certificate {
	now := time.Now().UnixNano()
	if last := r.checked.Load(); now-last >= int64(reloadInterval) && r.checked.CompareAndSwap(last, now) {
		r.reload()
	}
	return r.cur.Load().cert
}

// reload loads the pair again when its files changed: since the pair
// served, and since the last pair that failed, or when that failure's
// retry is due (files that stay broken are not read again every second).
func (r *Reloader) reload() {
	r.mu.Lock()
	defer r.mu.Unlock()
	cur := r.cur.Load()
	now := time.Now()
	st, err := statFiles(r.certFile, r.keyFile, r.role)
	if err == nil && (st.same(cur.files) || r.failedWith != "" && st.same(r.failed) && now.Before(r.retryAt)) {
		return
	}
	if err == nil {
		var pair *tls.Certificate
		if pair, err = LoadPair(r.certFile, r.keyFile, r.role); err == nil {
			r.took(cur.cert, &loadedPair{cert: pair, files: st})
			return
		}
	}
	if !st.same(r.failed) || err.Error() != r.failedWith {
		r.failed, r.failedWith = st, err.Error()
		r.retry.Reset() // a new failure: its first retry comes soon
		if cur.cert == nil {
			fallback := ""
			if r.role.Fallback != "" {
				fallback = "; " + r.role.Fallback
			}
			r.log.Error().Err(err).Msg(r.role.LogPrefix + "the " + r.role.Name + " does not load; skipped until it does (read again when its files change, and now and then" + fallback + ")")
		} else {
			r.log.Error().Err(err).Msg(r.role.LogPrefix + "the " + r.role.Name + " files changed but do not load; still using the previous certificate (read again when they change, and now and then)")
		}
	}
	r.retryAt = now.Add(r.retry.Next())
}

// took serves next instead of prev, and says so; under mu.
func (r *Reloader) took(prev *tls.Certificate, next *loadedPair) {
	r.cur.Store(next)
	r.failed, r.failedWith = filesState{}, ""
	r.retry.Reset()
	ev := r.log.Info().Str("cert_file", r.certFile)
	if leaf := next.cert.Leaf; leaf != nil {
		ev = ev.Str("serial", leaf.SerialNumber.Text(16)).Time("not_after", leaf.NotAfter)
	}
	if prev == nil {
		ev.Msg(r.role.LogPrefix + r.role.Name + " loaded")
	} else {
		ev.Msg(r.role.LogPrefix + r.role.Name + " reloaded")
	}
	if r.onReload != nil {
		r.onReload(prev, next.cert)
	}
}
