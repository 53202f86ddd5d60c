// Package coordinator is Portolan's home process: it opens the composition
// store, resolves the access tokens, and serves the 3scale Account Management
// API, the export/import endpoints and Prometheus metrics over HTTP until its
// context ends.
package coordinator
