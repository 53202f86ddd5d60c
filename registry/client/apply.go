package client

import (
	"context"
	"net/http"
	"net/url"

	"github.com/portolan/portolan/registry"
)

// Apply sends declarative documents (manifest's format; contentType
// application/json or application/yaml, "" for JSON) to home, which makes
// its composition what they declare in one revision, or computes the plan
// only when dryRun. With prune home also deletes what the documents'
// services and backends own but no longer declare. Documents home refuses
// come back as a *StatusError of 422 whose body names each document, entity
// and field. It takes the admin access token as the client's Token.
func (c *Client) Apply(ctx context.Context, docs []byte, contentType string, dryRun, prune bool) (*registry.ApplyResult, error) {
	q := url.Values{}
	if dryRun {
		q.Set(registry.ParamDryRun, "true")
	}
	if prune {
		q.Set(registry.ParamPrune, "true")
	}
	r := &request{method: http.MethodPost, path: registry.PathAdminApply, query: q, body: docs, contentType: contentType, auth: basic}
	resp, err := c.do(ctx, r, http.StatusOK)
	if err != nil {
		return nil, err
	}
	var out registry.ApplyResult
	if err := decodeBody(ctx, resp, MaxReplyBytes, "apply result", &out); err != nil {
		return nil, err
	}
	return &out, nil
}
