package client

import (
	"context"
	"fmt"
	"net/http"

	"github.com/portolan/portolan/registry"
)

// PostUsage sends a usage batch. Home counts each batch id once and answers
// with the cluster-wide totals. An answer of 400, 413 or 422 (see
// StatusCode) refuses the batch for good: sending it again cannot help.
func (c *Client) PostUsage(ctx context.Context, batch *registry.UsageBatch) (*registry.UsageReply, error) {
	body, err := jsonBody(batch)
	if err != nil {
		return nil, fmt.Errorf("usage batch %s: %w", batch.ID, err)
	}
	resp, err := c.do(ctx, &request{method: http.MethodPost, path: registry.PathUsage, body: body, auth: bearer}, 0)
	if err != nil {
		return nil, fmt.Errorf("usage batch %s: %w", batch.ID, err)
	}
	var reply registry.UsageReply
	if err := decodeBody(ctx, resp, MaxReplyBytes, "reply", &reply); err != nil {
		return nil, fmt.Errorf("usage batch %s: %w", batch.ID, err)
	}
	return &reply, nil
}
