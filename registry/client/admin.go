package client

import (
	"context"
	"net/http"
	"net/url"

	"github.com/portolan/portolan/registry"
)

// ExportComposition reads the whole composition as a document (JSON), with
// credentials and secret tokens when includeSecrets. It takes the admin
// access token as the client's Token.
func (c *Client) ExportComposition(ctx context.Context, includeSecrets bool) ([]byte, error) {
	q := url.Values{}
	if includeSecrets {
		q.Set("include_secrets", "true")
	}
	r := &request{method: http.MethodGet, path: registry.PathAdminComposition, query: q, auth: basic}
	resp, err := c.do(ctx, r, http.StatusOK)
	if err != nil {
		return nil, err
	}
	return readBody(ctx, resp, MaxExportBytes)
}

// ImportComposition imports a document ExportComposition wrote (ids are
// remapped) and returns home's answer: {"imported": N, "revision": R}. It
// takes the admin access token as the client's Token.
func (c *Client) ImportComposition(ctx context.Context, doc []byte) ([]byte, error) {
	r := &request{method: http.MethodPost, path: registry.PathAdminComposition, body: doc, auth: basic}
	resp, err := c.do(ctx, r, http.StatusCreated)
	if err != nil {
		return nil, err
	}
	return readBody(ctx, resp, MaxReplyBytes)
}
