// Package certreload serves a TLS certificate pair, and CA certificates,
// read again when their files change: a certificate renewed on disk
// (cert-manager, certbot, a Kubernetes secret update) is served without a
// restart, and a pair caught half written keeps the one served. The
// gateway's listener, its client certificate for upstreams and the tls
// policy's pairs use it, and so does the coordinator's listener
// (--tls-cert, --tls-key) and the client CAs it verifies clients against
// (--tls-client-ca, a Pool).
//
// It starts no goroutine: a handshake looks at the files, at most once a
// second. A flag's file that is not a regular one (a FIFO, process
// substitution) is read once, at start, and never looked at again: a
// pipe shows no change without a read, which would take what its source
// gives, or wait for a writer. Errors and logs name the files and the
// flags that give them, never their contents.
//
// It imports nothing of Portolan but internal/backoff, and nothing outside
// the standard library but zerolog.
package certreload
