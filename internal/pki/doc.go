// Package pki is Portolan's small public-key infrastructure: the certificate
// authority home makes for itself with --tls auto, the certificates it issues
// (servers, and agents for mutual TLS), the pin that join tokens carry so an
// agent trusts home with nothing else to copy, the server certificate that
// renews itself, and the Ed25519 key that signs each composition revision.
//
// Everything here uses the standard library's crypto only. Keys are written
// 0600 in a 0700 directory, each file atomically (a temporary file renamed
// over it), and every error names the file it is about.
//
// It imports nothing of Portolan but internal/atomicfile, and nothing outside
// the standard library.
package pki
