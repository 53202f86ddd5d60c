package client

import (
	"context"
	"fmt"
	"net/http"

	"github.com/portolan/portolan/manifest"
	"github.com/portolan/portolan/registry"
)

// BringComposition sends the documents the instance's image carries to home
// with the instance credential and returns what home did with them under
// the version rule (composition.Managed). Home answers 403 when the
// instance's join token is not scoped to the documents' service (or a
// document is of a kind an image may not bring), 409 for the same version
// with other content, 422 for documents it cannot apply; StatusCode tells
// them apart. An ErrUnknownInstance says to register again.
func (c *Client) BringComposition(ctx context.Context, id string, docs []manifest.Document) (*registry.ImageApplyReply, error) {
	var reply registry.ImageApplyReply
	if err := c.write(ctx, http.MethodPut, registry.ImageCompositionPath(id), docs, &reply); err != nil {
		return nil, fmt.Errorf("bring the composition of %s: %w", id, err)
	}
	return &reply, nil
}
