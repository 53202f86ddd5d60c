// Package certreload serves a TLS certificate pair that is read again when
// its files change: a certificate renewed on disk (cert-manager, certbot,
// a Kubernetes secret update) is served without a restart, and a pair
// caught half written keeps the one served. The gateway's listener, its
// client certificate for upstreams and the tls policy's pairs use it, and
// so does the coordinator's listener (--tls-cert, --tls-key).
//
// It starts no goroutine: a handshake looks at the files, at most once a
// second. Errors and logs name the files and the flags that give them,
// never their contents.
//
// It imports nothing of Portolan but internal/backoff, and nothing outside
// the standard library but zerolog.
package certreload
