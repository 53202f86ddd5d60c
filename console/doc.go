// Package console is the coordinator's web console, served under /ui/:
// server-rendered pages (html/template, with the templates, one stylesheet
// and a little plain JavaScript embedded by go:embed; no CDN, works offline)
// over read-only views of the composition, the instance map and usage.
//
// The console reads and never writes: it must not import coordinator or
// agent, nor call anything that changes the store, the registry or usage.
// It shows no secret (keys and tokens are masked) and logs none.
package console
