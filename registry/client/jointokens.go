package client

import (
	"context"
	"fmt"
	"net/http"

	"github.com/portolan/portolan/registry"
)

// The join token calls of the admin API (`portolan token`). Each takes the
// admin access token as the client's Token.

// CreateJoinToken asks home for a join token with spec's scope. The
// answer's Token is the token itself, which home never shows again.
func (c *Client) CreateJoinToken(ctx context.Context, spec *registry.JoinTokenSpec) (*registry.JoinTokenCreated, error) {
	body, err := jsonBody(spec)
	if err != nil {
		return nil, err
	}
	r := &request{method: http.MethodPost, path: registry.PathAdminTokens, body: body, auth: basic}
	resp, err := c.do(ctx, r, http.StatusCreated)
	if err != nil {
		return nil, fmt.Errorf("create join token: %w", err)
	}
	var out registry.JoinTokenCreated
	if err := decodeBody(ctx, resp, MaxReplyBytes, "join token", &out); err != nil {
		return nil, fmt.Errorf("create join token: %w", err)
	}
	return &out, nil
}

// JoinTokens lists home's join tokens: scopes and use, never secrets.
func (c *Client) JoinTokens(ctx context.Context) ([]registry.JoinTokenInfo, error) {
	resp, err := c.do(ctx, &request{method: http.MethodGet, path: registry.PathAdminTokens, auth: basic}, http.StatusOK)
	if err != nil {
		return nil, fmt.Errorf("list join tokens: %w", err)
	}
	var out registry.JoinTokenList
	if err := decodeBody(ctx, resp, MaxDocumentBytes, "join tokens", &out); err != nil {
		return nil, fmt.Errorf("list join tokens: %w", err)
	}
	return out.Tokens, nil
}

// UpdateJoinToken changes the join token id as u says (its cap of live
// instances) and answers with the token as listed.
func (c *Client) UpdateJoinToken(ctx context.Context, id string, u *registry.JoinTokenUpdate) (*registry.JoinTokenInfo, error) {
	body, err := jsonBody(u)
	if err != nil {
		return nil, err
	}
	resp, err := c.do(ctx, &request{method: http.MethodPatch, path: registry.AdminTokenPath(id), body: body, auth: basic}, http.StatusOK)
	if err != nil {
		return nil, fmt.Errorf("update join token %s: %w", id, err)
	}
	var out registry.JoinTokenInfo
	if err := decodeBody(ctx, resp, MaxReplyBytes, "join token", &out); err != nil {
		return nil, fmt.Errorf("update join token %s: %w", id, err)
	}
	return &out, nil
}

// RevokeJoinToken revokes the join token id: it registers nothing more, and
// the instances registered through it lose their credentials.
func (c *Client) RevokeJoinToken(ctx context.Context, id string) error {
	resp, err := c.do(ctx, &request{method: http.MethodDelete, path: registry.AdminTokenPath(id), auth: basic}, 0)
	if err != nil {
		return fmt.Errorf("revoke join token %s: %w", id, err)
	}
	_, err = readBody(ctx, resp, MaxReplyBytes)
	return err
}
