package client

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/portolan/portolan/registry"
)

// QueryOptions are the parameters of a read that may block, as Consul's:
// with Index above 0 home answers once its index passes Index, or after
// Wait (home's default when 0, cut to registry.MaxWait).
type QueryOptions struct {
	Index uint64
	Wait  time.Duration
	// Service narrows a map to one service (its system_name).
	Service string
}

// values are the query parameters of q: index only above 0, wait only
// when set, written the short way (5m rather than 5m0s).
func (q QueryOptions) values() url.Values {
	v := url.Values{}
	if q.Service != "" {
		v.Set(registry.ParamService, q.Service)
	}
	if q.Index > 0 {
		v.Set(registry.ParamIndex, strconv.FormatUint(q.Index, 10))
	}
	if q.Wait > 0 {
		v.Set(registry.ParamWait, FormatWait(q.Wait))
	}
	return v
}

// Map reads home's service map; with index above 0 it blocks until the
// map's index passes index, or for wait. service narrows the map to one
// service ("" for all): home filters it, and so does Map, whatever home did.
// It returns the map and its index (the index header, else the map's own).
func (c *Client) Map(ctx context.Context, index uint64, wait time.Duration, service string) (*registry.Map, uint64, error) {
	var m registry.Map
	idx, ok, err := c.query(ctx, registry.PathMap, QueryOptions{Index: index, Wait: wait, Service: service}, "home's map", &m)
	if err != nil {
		return nil, 0, err
	}
	if !ok {
		idx = m.Index
	}
	if service != "" {
		m = m.Only(service)
	}
	return &m, idx, nil
}

// Composition reads the signed view of home's composition for instance
// (registry.SignedView), as home sends it: the caller verifies and keeps
// it. With index above 0 it blocks until the revision passes index, or for
// wait. It returns nil and no error when no newer revision came: the
// answer's revision (the index header) is not above index.
func (c *Client) Composition(ctx context.Context, instance string, index uint64, wait time.Duration) ([]byte, uint64, error) {
	q := QueryOptions{Index: index, Wait: wait}.values()
	q.Set(registry.ParamInstance, instance)
	r := &request{method: http.MethodGet, path: registry.PathComposition, auth: bearer, blocking: index > 0, query: q}
	resp, err := c.do(ctx, r, http.StatusOK)
	if err != nil {
		return nil, 0, err
	}
	rev, _ := parseIndex(resp)
	doc, err := readBody(ctx, resp, MaxDocumentBytes)
	if err != nil {
		return nil, 0, err
	}
	if rev <= index {
		return nil, rev, nil
	}
	return doc, rev, nil
}

// Query GETs path on this client's address with q and decodes its JSON
// answer into out, as Map does; it returns the answer's index header (0
// when absent). It is for an endpoint that answers like home's reads but
// is not home's: an agent's local API mirrors the service map at
// /v1/agent/map. Home's own reads have their methods.
func (c *Client) Query(ctx context.Context, path string, q QueryOptions, out any) (uint64, error) {
	idx, _, err := c.query(ctx, path, q, "answer", out)
	return idx, err
}

// query is a read that may block; ok tells whether the answer had an index.
func (c *Client) query(ctx context.Context, path string, q QueryOptions, what string, out any) (uint64, bool, error) {
	r := &request{method: http.MethodGet, path: path, query: q.values(), auth: bearer, blocking: q.Index > 0}
	resp, err := c.do(ctx, r, http.StatusOK)
	if err != nil {
		return 0, false, err
	}
	idx, ok := parseIndex(resp)
	if err := decodeBody(ctx, resp, MaxDocumentBytes, what, out); err != nil {
		return 0, false, err
	}
	return idx, ok, nil
}

// parseIndex reads the index header of a blocking read's answer.
func parseIndex(resp *http.Response) (uint64, bool) {
	h := strings.TrimSpace(resp.Header.Get(registry.IndexHeader))
	if h == "" {
		return 0, false
	}
	n, err := strconv.ParseUint(h, 10, 64)
	return n, err == nil
}

// FormatWait writes a wait the short way: 5m rather than 5m0s, 2h rather
// than 2h0m0s.
func FormatWait(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}
