package agent

import (
	"errors"
	"sync"
	"time"

	"github.com/portolan/portolan/registry"
	"github.com/portolan/portolan/registry/client"
)

// state is what the agent knows, shared by the home loop, the checks and the
// local API.
type state struct {
	mu            sync.RWMutex
	id            string
	reg           registry.Registration
	placement     *registry.Placement
	revision      uint64
	registered    bool
	reachable     bool
	refused       bool // home's last answer to a registration refused the join token (401 or 403)
	lastHeartbeat time.Time
	lastError     string
	status        string
	output        string
	running       bool
	draining      bool
}

func newState(id string, reg registry.Registration) *state {
	return &state{id: id, reg: reg, status: registry.StatusPassing}
}

// Self is what GET /v1/agent/self answers.
type Self struct {
	ID        string              `json:"id"`
	Service   string              `json:"service"`
	Address   string              `json:"address"`
	Port      int                 `json:"port"`
	Labels    map[string]string   `json:"labels,omitempty"`
	Placement *registry.Placement `json:"placement"`
	Revision  uint64              `json:"revision"` // newest revision heard from home
	// CompositionRevision is the revision of the composition the agent holds
	// (from home, a peer or its cache).
	CompositionRevision uint64 `json:"composition_revision"`
	Registered          bool   `json:"registered"`
	HomeReachable       bool   `json:"home_reachable"`
	// HomeRefused is true while home refuses the token (401 or 403): it
	// answers, so it is reachable, but will not register this instance
	// until the token changes (LastError has home's answer).
	HomeRefused   bool       `json:"home_refused"`
	LastHeartbeat *time.Time `json:"last_heartbeat"`
	LastError     string     `json:"last_error,omitempty"`
	Status        string     `json:"status"`
	Output        string     `json:"output,omitempty"`
	Running       bool       `json:"running"`
	Version       string     `json:"version,omitempty"`
	Gossip        string     `json:"gossip,omitempty"` // this node's gossip address
}

func (s *state) self() Self {
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := Self{
		ID: s.id, Service: s.reg.Service, Address: s.reg.Address, Port: s.reg.Port, Labels: s.reg.Labels,
		Placement: s.placement, Revision: s.revision, Registered: s.registered, HomeReachable: s.reachable,
		HomeRefused: s.refused,
		LastError:   s.lastError, Status: s.status, Output: s.output, Running: s.running, Version: s.reg.AgentVersion,
	}
	if !s.lastHeartbeat.IsZero() {
		t := s.lastHeartbeat
		out.LastHeartbeat = &t
	}
	return out
}

// heartbeat returns what the next heartbeat carries.
func (s *state) heartbeat() registry.Heartbeat {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return registry.Heartbeat{Status: s.status, Output: s.output, Revision: s.revision}
}

// registration returns the registration with the current health.
func (s *state) registration() registry.Registration {
	s.mu.RLock()
	defer s.mu.RUnlock()
	r := s.reg
	r.Status, r.Output = s.status, s.output
	return r
}

// setHealth records a check result and reports whether the status changed.
func (s *state) setHealth(status, output string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	changed := s.status != status
	s.status, s.output = status, output
	return changed
}

// learn records a placement and revision from home and reports whether the
// placement changed. Revisions never move backwards.
func (s *state) learn(p *registry.Placement, revision uint64) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if revision > s.revision {
		s.revision = revision
	}
	if p == nil || (s.placement != nil && p.Revision < s.placement.Revision) {
		return false
	}
	s.placement = p
	return true
}

// instanceID is the id home knows the instance by (instanceid.go).
func (s *state) instanceID() string {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.id
}

// renamed takes id, a new instance id, in place of the one home holds for
// another join token: not registered under it yet.
func (s *state) renamed(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.id, s.registered = id, false
}

func (s *state) setRegistered(ok bool) {
	s.mu.Lock()
	s.registered = ok
	s.mu.Unlock()
}

func (s *state) isRegistered() bool {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.registered
}

// homeCall is a call to home whose outcome state records.
type homeCall int

const (
	callRegister  homeCall = iota // with the join token
	callHeartbeat                 // with the instance credential
)

// contact records the outcome of a call to home. Only a refused
// registration says home refuses the join token (HomeRefused): a refused
// heartbeat refused the instance's credential, which the next registration
// replaces. Either is an answer, so home is reachable.
func (s *state) contact(call homeCall, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, refused := client.Refused(err)
	s.refused = refused && call == callRegister
	s.reachable = err == nil || refused || errors.Is(err, client.ErrUnknownInstance) || errors.Is(err, client.ErrIDTaken)
	if err != nil {
		s.lastError = err.Error()
		return
	}
	s.lastError = ""
	s.lastHeartbeat = time.Now().UTC()
}

func (s *state) setRunning(r bool) {
	s.mu.Lock()
	s.running = r
	s.mu.Unlock()
}

func (s *state) setDraining() {
	s.mu.Lock()
	s.draining = true
	s.mu.Unlock()
}

func (s *state) isDraining() bool {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.draining
}
