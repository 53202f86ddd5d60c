package agent

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/portolan/portolan/registry"
)

// errUnknownInstance is home's answer for an instance it does not know
// (it restarted): register again.
var errUnknownInstance = errors.New("home does not know this instance")

// maxReplyBytes bounds what the agent reads from home.
const maxReplyBytes = 16 << 20

// homeClient speaks the agent ↔ home protocol (DESIGN.md) to one coordinator.
type homeClient struct {
	base  string
	token string
	http  *http.Client
}

func newHomeClient(base, token string, timeout time.Duration) (*homeClient, error) {
	u, err := url.Parse(base)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("--home %q: want an http(s) URL like http://home:7070", base)
	}
	return &homeClient{
		base:  strings.TrimSuffix(base, "/"),
		token: token,
		http:  &http.Client{Timeout: timeout},
	}, nil
}

func (h *homeClient) register(ctx context.Context, id string, reg *registry.Registration) (*registry.RegisterReply, error) {
	var reply registry.RegisterReply
	if err := h.call(ctx, http.MethodPut, "/v1/instances/"+url.PathEscape(id), reg, &reply); err != nil {
		return nil, fmt.Errorf("register %s: %w", id, err)
	}
	return &reply, nil
}

func (h *homeClient) heartbeat(ctx context.Context, id string, hb *registry.Heartbeat) (*registry.HeartbeatReply, error) {
	var reply registry.HeartbeatReply
	if err := h.call(ctx, http.MethodPut, "/v1/instances/"+url.PathEscape(id)+"/heartbeat", hb, &reply); err != nil {
		return nil, fmt.Errorf("heartbeat %s: %w", id, err)
	}
	return &reply, nil
}

func (h *homeClient) drain(ctx context.Context, id string) error {
	if err := h.call(ctx, http.MethodPut, "/v1/instances/"+url.PathEscape(id)+"/drain", nil, nil); err != nil {
		return fmt.Errorf("drain %s: %w", id, err)
	}
	return nil
}

func (h *homeClient) deregister(ctx context.Context, id string) error {
	if err := h.call(ctx, http.MethodDelete, "/v1/instances/"+url.PathEscape(id), nil, nil); err != nil {
		return fmt.Errorf("deregister %s: %w", id, err)
	}
	return nil
}

func (h *homeClient) call(ctx context.Context, method, path string, in, out any) error {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return err
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, h.base+path, body)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+h.token)
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := h.http.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxReplyBytes))
	if err != nil {
		return fmt.Errorf("read reply: %w", err)
	}
	switch {
	case resp.StatusCode == http.StatusNotFound && strings.HasPrefix(path, "/v1/instances/"):
		return errUnknownInstance
	case resp.StatusCode >= 300:
		return fmt.Errorf("home answered %s: %s", resp.Status, strings.TrimSpace(string(b)))
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(b, out); err != nil {
		return fmt.Errorf("decode reply: %w", err)
	}
	return nil
}
