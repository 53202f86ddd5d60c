package coordinator

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	stdlog "log"
	"net"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"

	"github.com/portolan/portolan/internal/certreload"
	"github.com/portolan/portolan/internal/pki"
)

// TLSMode says when the API is served over HTTPS.
type TLSMode string

// TLS modes (--tls).
const (
	// TLSAuto serves HTTPS on any address but a loopback one, with a CA and
	// a server certificate the coordinator makes in its data dir (TLSDir)
	// and renews itself. On loopback it serves plain HTTP: nothing crosses
	// a network there.
	TLSAuto TLSMode = "auto"
	// TLSOn serves HTTPS whatever the address, loopback included.
	TLSOn TLSMode = "on"
	// TLSOff serves plain HTTP; off loopback only with InsecureHTTP.
	TLSOff TLSMode = "off"
)

// ParseTLSMode parses "auto", "on" or "off"; "" is auto.
func ParseTLSMode(s string) (TLSMode, error) {
	switch m := TLSMode(strings.ToLower(strings.TrimSpace(s))); m {
	case "":
		return TLSAuto, nil
	case TLSAuto, TLSOn, TLSOff:
		return m, nil
	}
	return "", fmt.Errorf("--tls %q: want auto, on or off", s)
}

// TLSDir is where, inside the data dir, --tls auto keeps its CA and its
// server certificate (pki.CACertFile, pki.ServerCertFile and their keys).
const TLSDir = "tls"

// DefaultInsecureWarning is how often plain HTTP off loopback is warned of.
const DefaultInsecureWarning = time.Hour

// TLSConfig says how the API is served. The zero value is TLSAuto.
type TLSConfig struct {
	Mode TLSMode
	// CertFile and KeyFile, when set, are served instead of a certificate
	// of the coordinator's own CA (--tls-cert, --tls-key): HTTPS whatever
	// the address. CertFile holds the chain; when it ends with its CA,
	// CAPin is that CA's pin. They are read again when they change (a
	// renewed certificate is served without a restart); a pair that does
	// not load keeps the one served, and is logged.
	CertFile, KeyFile string
	// ClientCAFile, when set, requires every client to present a
	// certificate issued by one of its CAs (--tls-client-ca): mutual TLS.
	// It is read again when it changes, as CertFile is: a CA added or
	// dropped holds for new handshakes without a restart.
	ClientCAFile string
	// DNSNames and IPs are certified besides the listen address, the host
	// name, localhost and the interfaces' addresses (--tls-dns, --tls-ip):
	// the names agents reach home by through a NAT or a load balancer.
	DNSNames []string
	IPs      []net.IP
	// InsecureHTTP allows plain HTTP on an address other than loopback
	// (--insecure-http); it is warned of at start and every
	// InsecureWarning (DefaultInsecureWarning when zero).
	InsecureHTTP    bool
	InsecureWarning time.Duration
	// Now is the certificates' clock; time.Now when nil.
	Now func() time.Time
}

// tlsServing is how a coordinator serves: its TLS configuration (nil for
// plain HTTP) and what it tells operators about it.
type tlsServing struct {
	config *tls.Config
	pin    atomic.Pointer[pki.Pin] // nil or zero when no CA is known
	certs  *certreload.Reloader    // the files of CertFile and KeyFile; nil for TLSAuto
	// clientCAs is the CAs of ClientCAFile (mutual TLS); nil without.
	clientCAs *certreload.Pool
	caFile    string // where the pinned CA is, for the start log
	// insecure is plain HTTP on an address other than loopback.
	insecure bool
}

// newTLSServing decides how the API listening on addr is served and
// prepares it: a CA and a certificate in the data dir for TLSAuto, the
// given files for CertFile, nothing for plain HTTP.
func newTLSServing(cfg Config, addr net.Addr) (*tlsServing, error) {
	t := cfg.TLS
	mode, err := ParseTLSMode(string(t.Mode))
	if err != nil {
		return nil, err
	}
	on, err := t.decide(mode, isLoopback(addr))
	if err != nil {
		return nil, err
	}
	if !on {
		if t.ClientCAFile != "" {
			return nil, errors.New("--tls-client-ca needs TLS: give --tls on (auto serves plain HTTP on loopback), without --insecure-http")
		}
		return &tlsServing{insecure: !isLoopback(addr)}, nil
	}
	s := &tlsServing{}
	var pin pki.Pin
	if t.CertFile != "" {
		err = s.staticCert(t.CertFile, t.KeyFile, cfg.Logger.With().Str("component", "tls").Logger())
		s.caFile = t.CertFile
	} else {
		s.config, pin, err = autoCert(cfg, addr)
		s.pin.Store(&pin)
		s.caFile = filepath.Join(cfg.DataDir, TLSDir, pki.CACertFile)
	}
	if err != nil {
		return nil, err
	}
	if t.ClientCAFile != "" {
		if err := s.requireClientCerts(t.ClientCAFile, cfg.Logger.With().Str("component", "tls").Logger()); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// decide tells whether to serve HTTPS, refusing the combinations that
// contradict each other and plain HTTP off loopback without InsecureHTTP.
func (t TLSConfig) decide(mode TLSMode, loopback bool) (bool, error) {
	if (t.CertFile == "") != (t.KeyFile == "") {
		return false, errors.New("--tls-cert and --tls-key go together")
	}
	if t.CertFile != "" {
		if mode == TLSOff || t.InsecureHTTP {
			return false, errors.New("--tls-cert serves HTTPS: it contradicts --tls off and --insecure-http")
		}
		return true, nil
	}
	if t.InsecureHTTP {
		if mode == TLSOn {
			return false, errors.New("--insecure-http contradicts --tls on")
		}
		return false, nil
	}
	switch mode {
	case TLSOn:
		return true, nil
	case TLSOff:
		if !loopback {
			return false, errors.New("--tls off on an address other than loopback would send tokens and keys in clear: " +
				"drop --tls off (auto serves HTTPS with a CA of its own), or pass --insecure-http if a proxy in front terminates TLS")
		}
		return false, nil
	default:
		return !loopback, nil
	}
}

// isLoopback tells whether addr is a loopback address. The address bound
// is what counts: ":7070" and "0.0.0.0:7070" listen on every interface.
func isLoopback(addr net.Addr) bool {
	a, ok := addr.(*net.TCPAddr)
	return ok && a.IP.IsLoopback()
}

// autoCert loads or makes the CA in the data dir and serves a certificate
// it issues, renewed before it expires.
func autoCert(cfg Config, addr net.Addr) (*tls.Config, pki.Pin, error) {
	dir := filepath.Join(cfg.DataDir, TLSDir)
	now := cfg.TLS.Now
	if now == nil {
		now = time.Now
	}
	ca, err := pki.LoadOrCreateAuthority(dir, "", now())
	if err != nil {
		return nil, pki.Pin{}, fmt.Errorf("TLS with home's own CA (%s): %w", dir, err)
	}
	dnsNames, ips := listenNames(cfg.Listen, addr)
	log := cfg.Logger
	ac, err := pki.NewAutoCert(pki.AutoCertConfig{
		Authority: ca, Dir: dir, Now: now,
		DNSNames: append(dnsNames, cfg.TLS.DNSNames...), IPs: append(ips, cfg.TLS.IPs...),
		OnRenew: func(r pki.Renewal) { logRenewal(log, r) },
	})
	if err != nil {
		return nil, pki.Pin{}, fmt.Errorf("TLS with home's own CA (%s): %w", dir, err)
	}
	return ac.TLSConfig(), ca.Pin(), nil
}

// listenNames are the names of the listen address worth certifying: its
// host when it is a name or a particular address (every interface's
// addresses are certified anyway).
func listenNames(listen string, addr net.Addr) (dnsNames []string, ips []net.IP) {
	if a, ok := addr.(*net.TCPAddr); ok && !a.IP.IsUnspecified() {
		ips = append(ips, a.IP)
	}
	host, _, err := net.SplitHostPort(listen)
	if err == nil && host != "" && net.ParseIP(host) == nil {
		dnsNames = append(dnsNames, host)
	}
	return dnsNames, ips
}

// logRenewal logs an issue of the server certificate, or a failure.
func logRenewal(log zerolog.Logger, r pki.Renewal) {
	switch {
	case r.Cert == nil:
		log.Error().Err(r.Err).Str("reason", r.Reason).Msg("could not issue the server certificate; serving the old one while it lasts")
	case r.Err != nil:
		log.Warn().Err(r.Err).Time("not_after", r.Cert.NotAfter).Msg("server certificate issued but not kept in the data dir")
	default:
		log.Info().Str("reason", r.Reason).Time("not_after", r.Cert.NotAfter).
			Strs("dns", r.Cert.DNSNames).Msg("server certificate issued")
	}
}

// certFilesRole names the files of --tls-cert and --tls-key in errors and
// logs.
var certFilesRole = certreload.Role{CertFlag: "--tls-cert", KeyFlag: "--tls-key", Name: "TLS certificate", Reader: "the coordinator"}

// staticCert serves the certificate of --tls-cert and --tls-key, read
// again when the files change (certreload). Its pin is that of the last CA
// certificate of the chain served, if the file has one: a renewed chain of
// another CA changes it, which is warned of, since agents pinned to the
// old CA refuse the new one.
func (s *tlsServing) staticCert(certFile, keyFile string, log zerolog.Logger) error {
	r, err := certreload.New(certFile, keyFile, certFilesRole)
	if err != nil {
		return err
	}
	pin, err := chainPin(r.Current())
	if err != nil {
		return fmt.Errorf("--tls-cert %s: %w", certFile, err)
	}
	s.pin.Store(&pin)
	r.SetLog(log)
	r.OnReload(func(_, next *tls.Certificate) {
		// Not caPin: it looks at the files, and this runs inside a look
		// (under the reloader's lock) that may have outlasted the interval.
		old := *s.pin.Load()
		pin, err := chainPin(next)
		if err != nil {
			log.Error().Err(err).Str("cert_file", certFile).Msg("the reloaded TLS certificate holds a CA certificate that does not parse: join tokens made now carry no pin")
		}
		s.pin.Store(&pin)
		if pin != old {
			log.Warn().Str("ca_pin", pin.String()).Str("previous_ca_pin", old.String()).Str("cert_file", certFile).
				Msg("the reloaded TLS certificate is of another CA: agents pinned to the previous one (--ca-pin, join tokens made before) refuse home until given the new pin or --ca-file")
		}
	})
	s.certs = r
	s.config = &tls.Config{MinVersion: tls.VersionTLS12, GetCertificate: r.GetCertificate}
	s.perHandshake() // a resumed handshake looks at the files too, and resumes only under the certificate served
	return nil
}

// chainPin is the pin of the last CA certificate of cert's chain, or the
// zero Pin when it holds none.
func chainPin(cert *tls.Certificate) (pki.Pin, error) {
	var pin pki.Pin
	for _, der := range cert.Certificate[1:] {
		c, err := x509.ParseCertificate(der)
		if err != nil {
			return pki.Pin{}, err
		}
		if c.IsCA {
			pin = pki.PinOf(c)
		}
	}
	return pin, nil
}

// caPin is the pin of the CA of the certificate served: with --tls-cert,
// of the files as they are now (looked at as a handshake does).
func (s *tlsServing) caPin() pki.Pin {
	if s.certs != nil {
		s.certs.Current()
	}
	if p := s.pin.Load(); p != nil {
		return *p
	}
	return pki.Pin{}
}

// URL is the API's base URL as a client on this host reaches it: https://
// when it serves TLS, and a loopback address when it listens on every
// interface.
func (c *Coordinator) URL() string {
	a, ok := c.ln.Addr().(*net.TCPAddr)
	host := c.ln.Addr().String()
	if ok && a.IP.IsUnspecified() {
		host = net.JoinHostPort("127.0.0.1", strconv.Itoa(a.Port))
	}
	if c.tls.config != nil {
		return "https://" + host
	}
	return "http://" + host
}

// CAPin is the pin of the CA whose certificate the API serves (what join
// tokens carry), or the zero Pin when it serves plain HTTP or a
// certificate file without its CA.
func (c *Coordinator) CAPin() pki.Pin { return c.tls.caPin() }

// serverLog carries what net/http logs (http.Server.ErrorLog) to the
// coordinator's log: a failed handshake at debug level, since anyone can
// cause one (a scanner, a plain-HTTP client), the rest as warnings.
type serverLog struct{ log zerolog.Logger }

func (l serverLog) Write(p []byte) (int, error) {
	msg := strings.TrimSpace(string(p))
	if strings.Contains(msg, "TLS handshake error") {
		l.log.Debug().Msg(msg)
	} else {
		l.log.Warn().Msg(msg)
	}
	return len(p), nil
}

// serve serves the API on the listener, over TLS when configured. Go's
// server bounds the handshake by the header timeout (httpserve.Limits),
// and answers plain HTTP on the TLS port with a 400.
func (c *Coordinator) serve() error {
	c.server.ErrorLog = stdlog.New(serverLog{c.cfg.Logger.With().Str("component", "http").Logger()}, "", 0)
	if c.tls.config == nil {
		return c.server.Serve(c.ln)
	}
	return c.server.ServeTLS(c.ln, "", "")
}

// logServing logs how the API is served, and starts warning of plain
// HTTP off loopback every InsecureWarning until stop is called.
func (c *Coordinator) logServing(ctx context.Context) (stop func()) {
	log := c.cfg.Logger
	if c.tls.config != nil {
		// The pin is public: it names the CA, and proves nothing by itself.
		if pin := c.tls.caPin(); !pin.IsZero() {
			log.Info().Str("url", c.URL()).Str("ca_pin", pin.String()).Str("ca_file", c.tls.caFile).
				Bool("mutual_tls", c.tls.clientCAs != nil).Msg("serving HTTPS; agents pin the CA with --ca-pin or a join token")
		} else {
			log.Warn().Str("url", c.URL()).Str("cert_file", c.tls.caFile).
				Msg("serving HTTPS with a certificate file that holds no CA: join tokens carry no pin, agents need --ca-file")
		}
		return func() {}
	}
	if !c.tls.insecure {
		return func() {}
	}
	every := c.cfg.TLS.InsecureWarning
	if every <= 0 {
		every = DefaultInsecureWarning
	}
	warn := func() {
		log.Warn().Str("listen", c.Addr()).
			Msg("serving plain HTTP on an address other than loopback (--insecure-http): tokens, keys and compositions cross the network in clear")
	}
	warn()
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				warn()
			}
		}
	}()
	return func() { cancel(); <-done }
}
