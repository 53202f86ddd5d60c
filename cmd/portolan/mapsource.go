package main

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/portolan/portolan/registry"
	"github.com/portolan/portolan/registry/client"
)

// agentMapPath is where an agent's local API mirrors the service map
// (`portolan map --via`): home's map merged with gossip's.
const agentMapPath = "/v1/agent/map"

// mapTokenHint follows a refusal of the token map presents to home.
const mapTokenHint = "--token must be its admin access token (or an instance credential); a join token or the agent token only registers"

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

// explain turns the client's error into one line that says what to do.
func (s *mapSource) explain(err error) error {
	var (
		se *client.StatusError
		de *client.DecodeError
	)
	path := registry.PathMap
	if s.agent {
		path = agentMapPath
	}
	switch {
	case errors.Is(err, client.ErrUnauthorized), errors.Is(err, client.ErrUnreachable):
		return callError(s.peer(), err, mapTokenHint)
	case errors.As(err, &se) && se.Body == "":
		return fmt.Errorf("GET %s%s: %s", s.client.Address(), path, se.Status)
	case errors.As(err, &se):
		return fmt.Errorf("GET %s%s: %s: %s", s.client.Address(), path, se.Status, se.Body)
	case errors.As(err, &de):
		return fmt.Errorf("GET %s%s: the answer is not a service map: %w", s.client.Address(), path, de.Err)
	}
	return err
}

// peer is what the map is read from, for errors.
func (s *mapSource) peer() peer {
	if s.agent {
		return agentPeer(strings.TrimPrefix(s.client.Address(), "http://"))
	}
	return homePeer(s.client.Address())
}
