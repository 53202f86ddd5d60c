package client

import (
	"context"
	"net/http"

	"github.com/portolan/portolan/registry"
)

// RotateGossipKey starts a rotation of home's gossip keyring and returns
// home's answer: {"version": V, "primary_at": T, "drop_old_at": T}. It takes
// the admin access token as the client's Token.
func (c *Client) RotateGossipKey(ctx context.Context) ([]byte, error) {
	r := &request{method: http.MethodPost, path: registry.PathAdminGossipRotateKey, auth: basic}
	resp, err := c.do(ctx, r, http.StatusAccepted)
	if err != nil {
		return nil, err
	}
	return readBody(ctx, resp, MaxReplyBytes)
}
