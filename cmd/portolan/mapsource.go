package main

import (
	"errors"
	"fmt"
	"strings"

	"github.com/portolan/portolan/registry"
	"github.com/portolan/portolan/registry/client"
)

// agentMapPath is where an agent's local API mirrors the service map
// (`portolan map --via`): home's map merged with gossip's.
const agentMapPath = "/v1/agent/map"

// mapTokenHint follows a refusal of the token map presents to home.
const mapTokenHint = "--token must be its admin access token (or an instance credential); a join token or the agent token only registers"

// mapSource reads the service map: home's, through the home client, or
// with --via a local agent's, which answers the same way (without home's
// filters, paging, summaries and deltas: the client then computes them).
type mapSource struct {
	client *client.Client
	// agent reads the agent's local API (agentMapPath) rather than home.
	agent bool
}

// path is where the source serves the map.
func (s *mapSource) path() string {
	if s.agent {
		return agentMapPath
	}
	return registry.PathMap
}

// explain turns the client's error into one line that says what to do.
func (s *mapSource) explain(err error) error {
	var (
		se *client.StatusError
		de *client.DecodeError
	)
	path := s.path()
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
