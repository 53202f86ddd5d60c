package client

import (
	"context"
	"fmt"
	"net/http"

	"github.com/portolan/portolan/registry"
)

// Register registers (or registers again) the instance id with the
// client's Token, a join token, and from then on presents the instance
// credential home returned on every other agent call. A client speaks for
// one instance at a time: registering another makes it that one's. An id
// live at home through another join token is ErrIDTaken (409): register
// under another. A 404 says the address is not home's agent API (home
// always serves the registration): check it.
func (c *Client) Register(ctx context.Context, id string, reg *registry.Registration) (*registry.RegisterReply, error) {
	var reply registry.RegisterReply
	if err := c.call(ctx, http.MethodPut, registry.InstancePath(id), join, reg, &reply); err != nil {
		switch StatusCode(err) {
		case http.StatusConflict:
			return nil, fmt.Errorf("register %s: %w: %w", id, ErrIDTaken, err)
		case http.StatusNotFound:
			// Home always serves the registration: what answered is not
			// home's agent API, and registering again cannot help.
			return nil, fmt.Errorf("register %s: %s has no agent API (no %s here): check home's address (--home) (%w)",
				id, c.Address(), registry.PathInstances, err)
		}
		return nil, fmt.Errorf("register %s: %w", id, err)
	}
	if reply.Credential != "" {
		c.SetCredential(reply.Credential)
	}
	return &reply, nil
}

// Heartbeat tells home the instance is alive, with its health. An
// ErrUnknownInstance says to register again.
func (c *Client) Heartbeat(ctx context.Context, id string, hb *registry.Heartbeat) (*registry.HeartbeatReply, error) {
	var reply registry.HeartbeatReply
	if err := c.write(ctx, http.MethodPut, registry.HeartbeatPath(id), hb, &reply); err != nil {
		return nil, fmt.Errorf("heartbeat %s: %w", id, err)
	}
	return &reply, nil
}

// Drain marks the instance draining: home sends it no new traffic.
func (c *Client) Drain(ctx context.Context, id string) error {
	if err := c.write(ctx, http.MethodPut, registry.DrainPath(id), nil, nil); err != nil {
		return fmt.Errorf("drain %s: %w", id, err)
	}
	return nil
}

// Deregister removes the instance from home's map.
func (c *Client) Deregister(ctx context.Context, id string) error {
	if err := c.write(ctx, http.MethodDelete, registry.InstancePath(id), nil, nil); err != nil {
		return fmt.Errorf("deregister %s: %w", id, err)
	}
	c.SetCredential("") // it died with the instance
	return nil
}

// write sends one call on an instance with its credential. A 404 is
// ErrUnknownInstance: home no longer knows the instance.
func (c *Client) write(ctx context.Context, method, path string, in, out any) error {
	err := c.call(ctx, method, path, bearer, in, out)
	if StatusCode(err) == http.StatusNotFound {
		return ErrUnknownInstance
	}
	return err
}

// call sends one call on an instance: in as its JSON body (nil for none),
// its answer into out (nil to ignore it).
func (c *Client) call(ctx context.Context, method, path string, auth auth, in, out any) error {
	r := &request{method: method, path: path, auth: auth}
	if in != nil {
		var err error
		if r.body, err = jsonBody(in); err != nil {
			return err
		}
	}
	resp, err := c.do(ctx, r, 0)
	if err != nil {
		return err
	}
	if out == nil {
		_, err := readBody(ctx, resp, MaxReplyBytes)
		return err
	}
	return decodeBody(ctx, resp, MaxReplyBytes, "reply", out)
}
