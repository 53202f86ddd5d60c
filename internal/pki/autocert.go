package pki

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// DefaultServerLifetime is the lifetime of AutoCert's certificates; they
// are renewed when a third of it remains.
const DefaultServerLifetime = 90 * 24 * time.Hour

// renewRetry is how long AutoCert waits after a failed renewal before it
// tries again, so that a full disk costs one attempt a minute, not one per
// handshake.
const renewRetry = time.Minute

// AutoCertConfig configures an AutoCert.
type AutoCertConfig struct {
	// Authority issues the certificate. Required.
	Authority *Authority
	// Dir keeps ServerCertFile and ServerKeyFile; created 0700. Required.
	Dir string
	// DNSNames and IPs the certificate names, besides LocalNames.
	DNSNames []string
	IPs      []net.IP
	// Lifetime of each certificate; DefaultServerLifetime when zero.
	Lifetime time.Duration
	// Now is the clock; time.Now when nil.
	Now func() time.Time
	// OnRenew, when set, is told of every certificate issued and every
	// failed attempt, so that the caller can log them. It is called
	// outside AutoCert's lock, from the handshake that renewed.
	OnRenew func(Renewal)
}

// Renewal is one issue of AutoCert's certificate, or a failed attempt.
type Renewal struct {
	// Reason says why a certificate was issued: none on disk, an unusable
	// one (and why), a name added, or the old one near its end.
	Reason string
	// Cert is the new certificate; nil when Err says why there is none.
	Cert *x509.Certificate
	// Err is the failure; with Cert set, the certificate is served but
	// could not be written to Dir.
	Err error
}

// AutoCert serves a server certificate issued by an Authority and kept in
// a data directory, and renews it when less than a third of its lifetime
// remains. Its GetCertificate goes in a tls.Config; the check it makes on
// every handshake is an atomic load and a time comparison, and a renewal
// happens once, under a lock, whichever handshakes arrive meanwhile.
//
// The names it certifies are fixed when it is made: a new interface
// address is certified at the next renewal or restart. Clients that pin
// the CA (PinnedClientConfig) do not check names anyway.
type AutoCert struct {
	authority *Authority
	certFile  string
	keyFile   string
	dnsNames  []string
	ips       []net.IP
	lifetime  time.Duration
	now       func() time.Time
	onRenew   func(Renewal)

	mu  sync.Mutex // held while renewing
	cur atomic.Pointer[served]
}

// served is the certificate being served and when to look at it again.
type served struct {
	cert *tls.Certificate
	next time.Time
}

// NewAutoCert loads the certificate kept in cfg.Dir when it was issued by
// cfg.Authority, names everything it should and is not due for renewal;
// otherwise it issues one and writes it there (ServerKeyFile 0600, then
// ServerCertFile, each atomically). Only an authority that cannot issue,
// or a directory that cannot be written, is an error: a server certificate
// can always be made anew, so a corrupt one is replaced.
func NewAutoCert(cfg AutoCertConfig) (*AutoCert, error) {
	if cfg.Authority == nil {
		return nil, errors.New("autocert: no authority")
	}
	if cfg.Dir == "" {
		return nil, errors.New("autocert: no directory")
	}
	for _, n := range cfg.DNSNames {
		if err := checkDNSName(n); err != nil {
			return nil, fmt.Errorf("autocert: %w", err)
		}
	}
	localDNS, localIPs := LocalNames()
	a := &AutoCert{
		authority: cfg.Authority,
		certFile:  filepath.Join(cfg.Dir, ServerCertFile),
		keyFile:   filepath.Join(cfg.Dir, ServerKeyFile),
		dnsNames:  mergeDNSNames(cfg.DNSNames, localDNS),
		ips:       mergeIPs(cfg.IPs, localIPs),
		lifetime:  cfg.Lifetime,
		now:       cfg.Now,
		onRenew:   cfg.OnRenew,
	}
	if a.lifetime == 0 {
		a.lifetime = DefaultServerLifetime
	}
	if a.now == nil {
		a.now = time.Now
	}
	if err := makeDir(cfg.Dir); err != nil {
		return nil, fmt.Errorf("autocert: %w", err)
	}
	now := a.now()
	cert, reason := a.load(now)
	if cert != nil {
		a.cur.Store(&served{cert: cert, next: a.nextCheck(cert.Leaf, now)})
		return a, nil
	}
	a.mu.Lock()
	r := a.renewLocked(now, reason)
	a.mu.Unlock()
	a.report(r)
	if r.Err != nil {
		return nil, fmt.Errorf("autocert: %w", r.Err)
	}
	return a, nil
}

// GetCertificate returns the certificate to serve, renewing it first when
// it is due. It is tls.Config.GetCertificate.
func (a *AutoCert) GetCertificate(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	s := a.cur.Load()
	now := a.now()
	if now.Before(s.next) {
		return s.cert, nil
	}
	a.mu.Lock()
	s = a.cur.Load()
	if now.Before(s.next) { // renewed by another handshake meanwhile
		a.mu.Unlock()
		return s.cert, nil
	}
	r := a.renewLocked(now, "expires on "+s.cert.Leaf.NotAfter.UTC().Format(time.RFC3339))
	s = a.cur.Load()
	a.mu.Unlock()
	a.report(r)
	if r.Cert == nil && !now.Before(s.cert.Leaf.NotAfter) {
		return nil, fmt.Errorf("autocert: server certificate expired and not renewed: %w", r.Err)
	}
	return s.cert, nil
}

// Certificate is the certificate served now.
func (a *AutoCert) Certificate() *x509.Certificate { return a.cur.Load().cert.Leaf }

// TLSConfig is a server configuration serving a's certificate.
func (a *AutoCert) TLSConfig() *tls.Config {
	return &tls.Config{MinVersion: tls.VersionTLS12, GetCertificate: a.GetCertificate}
}

// renewLocked issues a certificate, serves it and writes it to the
// directory, the key first: a crash between the two leaves a pair that does
// not match, which load replaces. On failure to issue, the current
// certificate, if any, stays and the next attempt waits renewRetry.
// a.mu must be held.
func (a *AutoCert) renewLocked(now time.Time, reason string) Renewal {
	r := Renewal{Reason: reason}
	chainPEM, keyPEM, err := a.authority.Issue(Leaf{
		Role:     RoleServer,
		DNSNames: a.dnsNames,
		IPs:      a.ips,
		Lifetime: a.lifetime,
	}, now)
	var cert *tls.Certificate
	if err == nil {
		if cert, err = keyPair(chainPEM, keyPEM); err != nil {
			err = fmt.Errorf("issued server certificate: %w", err)
		}
	}
	if err != nil {
		r.Err = err
		if s := a.cur.Load(); s != nil {
			a.cur.Store(&served{cert: s.cert, next: now.Add(renewRetry)})
		}
		return r
	}
	r.Cert = cert.Leaf
	a.cur.Store(&served{cert: cert, next: a.nextCheck(cert.Leaf, now)})
	if err := writeAtomic(a.keyFile, keyPEM, keyMode); err != nil {
		r.Err = err
		return r
	}
	r.Err = writeAtomic(a.certFile, chainPEM, certMode)
	return r
}

// load returns the kept certificate when it can be served as it is, or nil
// and why a new one is needed.
func (a *AutoCert) load(now time.Time) (*tls.Certificate, string) {
	chainPEM, err := readPEMFile(a.certFile)
	if errors.Is(err, os.ErrNotExist) {
		return nil, "no server certificate in " + filepath.Dir(a.certFile)
	}
	if err != nil {
		return nil, err.Error()
	}
	keyPEM, err := readPEMFile(a.keyFile)
	if err != nil {
		return nil, err.Error()
	}
	cert, err := keyPair(chainPEM, keyPEM)
	if err != nil {
		return nil, fmt.Sprintf("%s with %s: %v", a.certFile, a.keyFile, err)
	}
	leaf := cert.Leaf
	if err := leaf.CheckSignatureFrom(a.authority.Cert); err != nil {
		return nil, fmt.Sprintf("%s was not issued by the CA %q", a.certFile, a.authority.Cert.Subject.CommonName)
	}
	if !slices.Contains(leaf.ExtKeyUsage, x509.ExtKeyUsageServerAuth) {
		return nil, a.certFile + " is not a server certificate"
	}
	if missing := a.missingNames(leaf); missing != "" {
		return nil, fmt.Sprintf("%s does not name %s", a.certFile, missing)
	}
	if now.Before(leaf.NotBefore) {
		return nil, fmt.Sprintf("%s is not valid before %s", a.certFile, leaf.NotBefore.UTC().Format(time.RFC3339))
	}
	if !now.Before(a.renewAt(leaf)) {
		return nil, fmt.Sprintf("%s expires on %s", a.certFile, leaf.NotAfter.UTC().Format(time.RFC3339))
	}
	// Serve the authority as it is now after the leaf, whatever the file
	// held after it (the CA re-signed with the same key, say).
	cert.Certificate = append(cert.Certificate[:1:1], a.authority.chain...)
	return cert, ""
}

// missingNames lists the names a should certify that leaf does not.
func (a *AutoCert) missingNames(leaf *x509.Certificate) string {
	var missing []string
	for _, n := range a.dnsNames {
		if !slices.ContainsFunc(leaf.DNSNames, func(m string) bool { return strings.EqualFold(m, n) }) {
			missing = append(missing, n)
		}
	}
	for _, ip := range a.ips {
		if !slices.ContainsFunc(leaf.IPAddresses, ip.Equal) {
			missing = append(missing, ip.String())
		}
	}
	return strings.Join(missing, ", ")
}

func (a *AutoCert) report(r Renewal) {
	if a.onRenew != nil {
		a.onRenew(r)
	}
}

// renewAt is when leaf is due for renewal: when a third of its lifetime
// remains. A leaf whose end is the authority's own was cut short by it, and
// every renewal would be cut to the same end: renewing cannot extend it, so
// it is due only at that end.
func (a *AutoCert) renewAt(leaf *x509.Certificate) time.Time {
	if !leaf.NotAfter.Before(a.authority.Cert.NotAfter) {
		return leaf.NotAfter
	}
	life := leaf.NotAfter.Sub(leaf.NotBefore)
	return leaf.NotAfter.Add(-life / 3)
}

// nextCheck is when GetCertificate next looks at leaf, served from now on:
// when it is due (renewAt), but never sooner than renewRetry from now, so
// that a leaf due already (a short lifetime, a clock jump) costs one
// issue a renewRetry, not one per handshake.
func (a *AutoCert) nextCheck(leaf *x509.Certificate, now time.Time) time.Time {
	next := a.renewAt(leaf)
	if floor := now.Add(renewRetry); next.Before(floor) {
		return floor
	}
	return next
}

// keyPair parses a chain and key in PEM, with its Leaf set.
func keyPair(chainPEM, keyPEM []byte) (*tls.Certificate, error) {
	cert, err := tls.X509KeyPair(chainPEM, keyPEM)
	if err != nil {
		return nil, err
	}
	if cert.Leaf == nil {
		if cert.Leaf, err = x509.ParseCertificate(cert.Certificate[0]); err != nil {
			return nil, err
		}
	}
	return &cert, nil
}

// LocalNames are the names a server on this host is reached by: its host
// name, localhost, the loopback addresses and the addresses of its
// interfaces (link-local ones aside, which a certificate cannot scope).
func LocalNames() (dnsNames []string, ips []net.IP) {
	if h, err := os.Hostname(); err == nil && checkDNSName(h) == nil {
		dnsNames = append(dnsNames, strings.ToLower(h))
	}
	dnsNames = mergeDNSNames(dnsNames, []string{"localhost"})
	ips = []net.IP{net.IPv4(127, 0, 0, 1).To4(), net.IPv6loopback}
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		return dnsNames, ips
	}
	var found []net.IP
	for _, addr := range addrs {
		n, ok := addr.(*net.IPNet)
		if !ok {
			continue
		}
		ip := n.IP
		if ip.IsUnspecified() || ip.IsLinkLocalUnicast() || ip.IsMulticast() {
			continue
		}
		found = append(found, ip)
	}
	return dnsNames, mergeIPs(ips, found)
}

// mergeDNSNames is a followed by the names of b it lacks, lowercased.
func mergeDNSNames(a, b []string) []string {
	var out []string
	for _, n := range slices.Concat(a, b) {
		n = strings.ToLower(n)
		if !slices.Contains(out, n) {
			out = append(out, n)
		}
	}
	return out
}

// mergeIPs is a followed by the addresses of b it lacks, IPv4 ones in
// their 4-byte form.
func mergeIPs(a, b []net.IP) []net.IP {
	var out []net.IP
	for _, ip := range slices.Concat(a, b) {
		if v4 := ip.To4(); v4 != nil {
			ip = v4
		}
		if !slices.ContainsFunc(out, ip.Equal) {
			out = append(out, ip)
		}
	}
	return out
}
