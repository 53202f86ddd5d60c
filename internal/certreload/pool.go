package certreload

import (
	"crypto/x509"

	"github.com/rs/zerolog"
)

// Pool is CA certificates (a PEM file of them: the client CAs a server
// verifies client certificates against) read again when their file
// changes, as Reloader's pair is: a CA added beside the old one, then the
// old one dropped, holds for the handshakes after the next look at the
// file, without a restart. A file that does not load keeps the
// certificates used, and is logged; a file that is not a regular one is
// read once, at start.
//
// Its methods are safe for concurrent use; SetLog is meant to be called
// before it serves.
type Pool struct {
	watched[*x509.CertPool]
}

// NewPool loads the CA certificates of file, which must load; role's
// CertFlag names the file in errors and logs. It logs reloads to nowhere
// until SetLog.
func NewPool(file string, role Role) (*Pool, error) {
	p := &Pool{watched[*x509.CertPool]{
		files: []string{file}, flags: []string{role.CertFlag}, role: role, log: zerolog.Nop(),
		load: func(regularOnly bool) (*x509.CertPool, error) {
			return loadPool(file, role, regularOnly)
		},
		keptMsg: "file changed but does not load; still using the previous ones (read again when it changes, and now and then)",
		describe: func(ev *zerolog.Event, _ *x509.CertPool) *zerolog.Event {
			return ev.Str("ca_file", file)
		},
	}}
	if err := p.start(true); err != nil {
		return nil, err
	}
	return p, nil
}

// SetLog sets where reloads and failures are logged, and logs there that
// the file is read once when it is not a regular one.
func (p *Pool) SetLog(log zerolog.Logger) { p.setLog(log) }

// Current is the CA certificates used, after a look at their file when
// reloadInterval has passed since the last one. The pool returned is
// never changed: a reload makes a new one.
func (p *Pool) Current() *x509.CertPool { return p.current() }
