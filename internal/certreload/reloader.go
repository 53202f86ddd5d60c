package certreload

import (
	"crypto/tls"
	"time"

	"github.com/rs/zerolog"
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
	// CertFlag and KeyFlag name the files in errors ("--tls-cert"); a
	// Pool's file is CertFlag's.
	CertFlag, KeyFlag string
	// Name is how logs call the pair ("TLS certificate"), or a Pool's CA
	// certificates ("client CAs").
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
// New reads a file that is not a regular one (a FIFO, process
// substitution) once, at start, and never looks at it again: its pair is
// served as it is, and SetLog says so.
//
// Its methods are safe for concurrent use; SetLog and OnReload are meant
// to be called before it serves.
type Reloader struct {
	watched[*tls.Certificate]
}

func newReloader(certFile, keyFile string, role Role, log zerolog.Logger) *Reloader {
	r := &Reloader{watched[*tls.Certificate]{
		files: []string{certFile, keyFile}, flags: []string{role.CertFlag, role.KeyFlag}, role: role, log: log,
		load: func(regularOnly bool) (*tls.Certificate, error) {
			return loadPair(certFile, keyFile, role, regularOnly)
		},
		keptMsg: "files changed but do not load; still using the previous certificate (read again when they change, and now and then)",
		describe: func(ev *zerolog.Event, c *tls.Certificate) *zerolog.Event {
			ev = ev.Str("cert_file", certFile)
			if leaf := c.Leaf; leaf != nil {
				ev = ev.Str("serial", leaf.SerialNumber.Text(16)).Time("not_after", leaf.NotAfter)
			}
			return ev
		},
	}}
	return r
}

// New loads the pair, which must load; it logs reloads to nowhere until
// SetLog.
func New(certFile, keyFile string, role Role) (*Reloader, error) {
	r := newReloader(certFile, keyFile, role, zerolog.Nop())
	if err := r.start(true); err != nil {
		return nil, err
	}
	return r, nil
}

// NewLenient loads a pair that may not load yet (one the composition
// names): it serves nothing (Current is nil: the caller serves another)
// until it loads, when its files change or on the slow retry, and says
// why in log. Its files must be regular ones.
func NewLenient(certFile, keyFile string, role Role, log zerolog.Logger) *Reloader {
	r := newReloader(certFile, keyFile, role, log)
	_ = r.start(false) // lenient: failures are logged, never returned
	return r
}

// SetLog sets where reloads and failures are logged, and logs there that
// the pair is read once when its files are not regular ones.
func (r *Reloader) SetLog(log zerolog.Logger) { r.setLog(log) }

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
func (r *Reloader) Current() *tls.Certificate { return r.current() }
