package coordinator

import (
	"crypto/tls"
	"os"
	"runtime/debug"
	"strings"

	"github.com/rs/zerolog"

	"github.com/portolan/portolan/internal/certreload"
)

// clientCAsRole names the file of --tls-client-ca in errors and logs.
var clientCAsRole = certreload.Role{CertFlag: "--tls-client-ca", Name: "client CAs", Reader: "the coordinator"}

// httpNextProtos is what net/http offers by ALPN when it serves TLS:
// HTTP/2 first, unless GODEBUG turns its HTTP/2 server off
// (http2server=0), the one switch of it the coordinator's server leaves
// (it sets neither Protocols nor TLSNextProto). It is set on the
// configuration by perHandshake: the configurations GetConfigForClient
// returns are used as they are, without net/http's
// changes to the one it was given, and a client that chose h2 where
// net/http does not serve it would get no answer.
func httpNextProtos() []string {
	if godebugSetting("http2server") == "0" {
		return []string{"http/1.1"}
	}
	return []string{"h2", "http/1.1"}
}

// godebugSetting is key's GODEBUG setting as the process runs with it: the
// GODEBUG variable's (its last for key), else the binary's default (from
// go.mod's godebug and //go:debug lines); "" when neither sets it.
func godebugSetting(key string) string {
	if v, ok := lastSetting(os.Getenv("GODEBUG"), key); ok {
		return v
	}
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, s := range bi.Settings {
			if s.Key == "DefaultGODEBUG" {
				v, _ := lastSetting(s.Value, key)
				return v
			}
		}
	}
	return ""
}

// lastSetting is key's value in a GODEBUG list ("k=v,k2=v2"), the last
// one winning, as the runtime reads it.
func lastSetting(list, key string) (string, bool) {
	val, found := "", false
	for kv := range strings.SplitSeq(list, ",") {
		if k, v, ok := strings.Cut(strings.TrimSpace(kv), "="); ok && k == key {
			val, found = v, true
		}
	}
	return val, found
}

// requireClientCerts requires of every client a certificate of a CA of
// file, read again when the file changes (certreload.Pool): each handshake
// gets, by GetConfigForClient (perHandshake), a configuration with the CAs
// as they are then, so that an operator rotating the client CA (the new
// one added beside the old, then the old dropped) restarts nothing. Those CAs are
// also what a resumed session's certificate is verified against again
// (crypto/tls does, for a configuration GetConfigForClient changed), so a
// dropped CA's sessions end too. A file that does not load keeps the
// last CAs that did, and is logged naming it.
func (s *tlsServing) requireClientCerts(file string, log zerolog.Logger) error {
	pool, err := certreload.NewPool(file, clientCAsRole)
	if err != nil {
		return err
	}
	pool.SetLog(log)
	s.clientCAs = pool
	s.config.ClientAuth = tls.RequireAndVerifyClientCert
	s.config.ClientCAs = pool.Current() // what a handshake gets, were GetConfigForClient not called
	s.perHandshake()
	return nil
}
