package main

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"syscall"
	"time"

	"github.com/portolan/portolan/registry"
	"github.com/portolan/portolan/registry/client"
)

// agentMapPath is where an agent's local API mirrors the service map
// (`portolan map --via`): home's map merged with gossip's.
const agentMapPath = "/v1/agent/map"

// errUnauthorized is the error of a 401 or 403 from the coordinator.
var errUnauthorized = errors.New("the coordinator refused the token: " +
	"--token (or PORTOLAN_MAP_TOKEN) must be its admin access token (or an instance credential); a join token or the agent token only registers")

// mapSource reads the service map: home's, through the home client, or
// with --via a local agent's, which answers the same way.
type mapSource struct {
	client *client.Client
	// service, when set, asks for that service alone (the map is filtered
	// here too, whatever the answer holds).
	service string
	// agent reads the agent's local API (agentMapPath) rather than home.
	agent bool
}

// fetch reads the map (of the service, when one is chosen). With index > 0
// it is a blocking query: the answer comes when the map's index passes
// index, or after wait. It returns the map and its index (the index header,
// else the map's own), or an error that says what to do.
func (s *mapSource) fetch(ctx context.Context, index uint64, wait time.Duration) (*registry.Map, uint64, error) {
	if index == 0 {
		wait = 0 // a query that answers at once takes no wait
	}
	if !s.agent {
		m, idx, err := s.client.Map(ctx, index, wait, s.service)
		if err != nil {
			return nil, 0, s.explain(err)
		}
		return m, idx, nil
	}
	var m registry.Map
	idx, err := s.client.Query(ctx, agentMapPath, client.QueryOptions{Index: index, Wait: wait, Service: s.service}, &m)
	if err != nil {
		return nil, 0, s.explain(err)
	}
	if idx == 0 {
		idx = m.Index
	}
	m = m.Only(s.service)
	return &m, idx, nil
}

// explain turns the client's error into one that says what to do.
func (s *mapSource) explain(err error) error {
	var (
		se *client.StatusError
		de *client.DecodeError
	)
	switch {
	case errors.As(err, &se) && (se.Code == http.StatusUnauthorized || se.Code == http.StatusForbidden):
		return errUnauthorized
	case errors.As(err, &se) && se.Body == "":
		return fmt.Errorf("GET %s%s: %s", s.client.Address(), registry.PathMap, se.Status)
	case errors.As(err, &se):
		return fmt.Errorf("GET %s%s: %s: %s", s.client.Address(), registry.PathMap, se.Status, se.Body)
	case errors.As(err, &de):
		return fmt.Errorf("GET %s%s: the answer is not a service map: %w", s.client.Address(), registry.PathMap, de.Err)
	}
	return s.transportError(err)
}

// transportError explains a request that got no answer.
func (s *mapSource) transportError(err error) error {
	switch {
	case errors.Is(err, context.Canceled):
		return err
	case errors.Is(err, context.DeadlineExceeded):
		return fmt.Errorf("the coordinator at %s did not answer in time (see --timeout)", s.client.Address())
	case errors.Is(err, syscall.ECONNREFUSED):
		return fmt.Errorf("cannot reach the coordinator at %s: connection refused (is `portolan coordinator` running there? see --home)", s.client.Address())
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err // its message repeats the URL
	}
	return fmt.Errorf("cannot reach the coordinator at %s: %w", s.client.Address(), err)
}
