// Package backoff is the one retry pacing of Portolan: an exponential backoff
// with jitter, and a sleep that ends early when its context does. Every loop
// that retries after a failure (phoning home, following a blocking query,
// watching Consul, reporting usage) waits with it.
//
// It imports nothing of Portolan and nothing outside the standard library.
package backoff
