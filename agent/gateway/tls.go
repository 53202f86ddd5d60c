package gateway

import (
	"crypto/tls"
	"errors"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"

	"github.com/portolan/portolan/internal/pki"
)

// TLS is how the gateway speaks TLS: to its clients, with a certificate it
// reloads when its files change and HTTP/2 negotiated by ALPN; and to
// https upstreams, with the CAs it trusts and the client certificate it
// presents. Its zero value is plain HTTP/1.1 to clients and the system's
// CAs for https upstreams.
type TLS struct {
	CertFile string // the gateway's certificate chain, PEM (leaf first); with KeyFile, clients get TLS
	KeyFile  string // CertFile's private key, PEM
	H2C      bool   // without TLS, also serve HTTP/2 in clear (prior knowledge and Upgrade: h2c)

	UpstreamCAFile   string // PEM CAs that sign https upstreams' certificates; empty: the system's
	UpstreamCertFile string // client certificate for upstreams that require one (mutual TLS), PEM
	UpstreamKeyFile  string // UpstreamCertFile's private key, PEM

	certs    *certReloader // the served certificate, loaded by check
	upstream *tls.Config   // for https upstreams, built by check
}

// check validates t and loads its files: what it names must exist, parse
// and go together, so that a mistake stops the agent at start rather than
// failing handshakes later.
func (t *TLS) check() error {
	if (t.CertFile == "") != (t.KeyFile == "") {
		if t.CertFile == "" {
			return errors.New("--gateway-tls-key is given without --gateway-tls-cert: give the certificate (PEM) the key belongs to, or neither")
		}
		return errors.New("--gateway-tls-cert is given without --gateway-tls-key: give the certificate's private key (PEM), or neither")
	}
	if t.CertFile != "" && t.H2C {
		return errors.New("--gateway-h2c serves HTTP/2 without TLS, but --gateway-tls-cert turns TLS on (HTTP/2 is then negotiated by ALPN): drop one of them")
	}
	if t.CertFile != "" {
		r, err := newCertReloader(t.CertFile, t.KeyFile)
		if err != nil {
			return err
		}
		t.certs = r
	}
	up, err := t.upstreamConfig()
	if err != nil {
		return err
	}
	t.upstream = up
	return nil
}

// upstreamConfig is the TLS configuration of connections to https
// upstreams: TLS 1.2 at least, host names verified against the CAs of
// UpstreamCAFile (the system's when empty), and the client certificate
// when one is given.
func (t *TLS) upstreamConfig() (*tls.Config, error) {
	cfg := &tls.Config{MinVersion: tls.VersionTLS12}
	if t.UpstreamCAFile != "" {
		pool, err := pki.LoadCertPool(t.UpstreamCAFile)
		if err != nil {
			return nil, fmt.Errorf("--upstream-ca-file: %w: give a PEM file of the CA certificates that sign the upstream's", err)
		}
		cfg.RootCAs = pool
	}
	if (t.UpstreamCertFile == "") != (t.UpstreamKeyFile == "") {
		return nil, errors.New("a client certificate for upstreams needs both --upstream-client-cert and --upstream-client-key")
	}
	if t.UpstreamCertFile != "" {
		pair, err := loadPair(t.UpstreamCertFile, t.UpstreamKeyFile, "--upstream-client-cert", "--upstream-client-key")
		if err != nil {
			return nil, err
		}
		cfg.Certificates = []tls.Certificate{*pair}
	}
	return cfg, nil
}

// loadPair reads a PEM certificate chain and its key, saying which flag's
// file is at fault.
func loadPair(certFile, keyFile, certFlag, keyFlag string) (*tls.Certificate, error) {
	certPEM, err := os.ReadFile(certFile)
	if err != nil {
		return nil, fmt.Errorf("%s: %w: check the path and that the agent may read it", certFlag, err)
	}
	keyPEM, err := os.ReadFile(keyFile)
	if err != nil {
		return nil, fmt.Errorf("%s: %w: check the path and that the agent may read it", keyFlag, err)
	}
	pair, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return nil, fmt.Errorf("%s %s with %s %s: %w (the certificate chain and its own private key, both PEM)", certFlag, certFile, keyFlag, keyFile, err)
	}
	return &pair, nil
}

// serverTLS is the configuration the gateway terminates TLS with: TLS 1.2
// at least (with forward-secret AEAD suites only, which HTTP/2 requires),
// the reloaded certificate, and HTTP/2 preferred by ALPN.
func serverTLS(certs *certReloader) *tls.Config {
	return &tls.Config{
		MinVersion:     tls.VersionTLS12,
		GetCertificate: certs.GetCertificate,
		NextProtos:     []string{"h2", "http/1.1"},
		CipherSuites: []uint16{ // TLS 1.2 only; TLS 1.3's are not configurable
			tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256, tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
			tls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384, tls.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
			tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256, tls.TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
		},
	}
}

// reloadInterval is how often, at most, a handshake looks at the
// certificate files for a change.
const reloadInterval = time.Second

// certReloader serves a certificate pair and takes a new one when its files
// change: a handshake looks at them (which files they are, their
// modification times and sizes) at most once every reloadInterval, and
// loads them again when either changed. A pair
// that does not load (a key written after its certificate, a typo) keeps
// the one served, and is logged once for each state of the files.
type certReloader struct {
	certFile, keyFile string
	log               zerolog.Logger

	cur     atomic.Pointer[loadedPair]
	checked atomic.Int64 // when the files were last looked at, Unix ns

	mu         sync.Mutex // one look at a time, and what follows
	failed     filesState // the files' state whose pair failed to load, logged once
	failedWith string     // and its error
}

// loadedPair is a served pair and the state of the files it came from.
type loadedPair struct {
	cert  *tls.Certificate
	files filesState
}

// filesState is what tells a changed file: which file it is (a new one
// renamed over it is another), its modification time and its size. The
// zero value is no file.
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
	return os.SameFile(a, b) && a.ModTime().Equal(b.ModTime()) && a.Size() == b.Size()
}

// newCertReloader loads the pair; it logs reloads to nowhere until
// setLog.
func newCertReloader(certFile, keyFile string) (*certReloader, error) {
	r := &certReloader{certFile: certFile, keyFile: keyFile, log: zerolog.Nop()}
	st, err := r.stat()
	if err != nil {
		return nil, err
	}
	pair, err := loadPair(certFile, keyFile, "--gateway-tls-cert", "--gateway-tls-key")
	if err != nil {
		return nil, err
	}
	r.cur.Store(&loadedPair{cert: pair, files: st})
	r.checked.Store(time.Now().UnixNano())
	return r, nil
}

// setLog sets where reloads are logged; before serving.
func (r *certReloader) setLog(log zerolog.Logger) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.log = log
}

func (r *certReloader) stat() (filesState, error) {
	c, err := os.Stat(r.certFile)
	if err != nil {
		return filesState{}, fmt.Errorf("--gateway-tls-cert: %w: check the path and that the agent may read it", err)
	}
	k, err := os.Stat(r.keyFile)
	if err != nil {
		return filesState{}, fmt.Errorf("--gateway-tls-key: %w: check the path and that the agent may read it", err)
	}
	return filesState{cert: c, key: k}, nil
}

// GetCertificate is tls.Config's: the current pair, looked for anew at most
// once every reloadInterval. Only the handshake that wins the turn looks;
// the others serve the pair as it is.
func (r *certReloader) GetCertificate(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	now := time.Now().UnixNano()
	if last := r.checked.Load(); now-last >= int64(reloadInterval) && r.checked.CompareAndSwap(last, now) {
		r.reload()
	}
	return r.cur.Load().cert, nil
}

// reload loads the pair again when its files changed.
func (r *certReloader) reload() {
	r.mu.Lock()
	defer r.mu.Unlock()
	cur := r.cur.Load()
	st, err := r.stat()
	if err == nil && st.same(cur.files) {
		return
	}
	if err == nil {
		var pair *tls.Certificate
		if pair, err = loadPair(r.certFile, r.keyFile, "--gateway-tls-cert", "--gateway-tls-key"); err == nil {
			r.cur.Store(&loadedPair{cert: pair, files: st})
			r.failed, r.failedWith = filesState{}, ""
			ev := r.log.Info().Str("cert_file", r.certFile)
			if pair.Leaf != nil {
				ev = ev.Str("serial", pair.Leaf.SerialNumber.Text(16)).Time("not_after", pair.Leaf.NotAfter)
			}
			ev.Msg("gateway: TLS certificate reloaded")
			return
		}
	}
	if !st.same(r.failed) || err.Error() != r.failedWith {
		r.failed, r.failedWith = st, err.Error()
		r.log.Error().Err(err).Msg("gateway: the TLS certificate files changed but do not load; still serving the previous certificate")
	}
}

// upstreamTLS is the TLS configuration for https upstreams: Check's, or,
// for a Config that was not checked, loaded here; one that does not load
// fails every handshake, saying why, rather than trust the system's CAs
// instead of the ones asked for.
func (g *Gateway) upstreamTLS() *tls.Config {
	if g.cfg.TLS.upstream != nil {
		return g.cfg.TLS.upstream.Clone()
	}
	cfg, err := g.cfg.TLS.upstreamConfig()
	if err != nil {
		g.log.Error().Err(err).Msg("gateway: https upstreams will fail")
		return &tls.Config{MinVersion: tls.VersionTLS12, VerifyConnection: func(tls.ConnectionState) error { return err }}
	}
	return cfg
}
