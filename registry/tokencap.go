package registry

import (
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/portolan/portolan/composition"
	"github.com/portolan/portolan/registry/jointoken"
)

// A join token's cap of live instances. Every token made now has one (the
// spec's, or home's MaxInstancesPerToken), so that one leaked token cannot
// register every instance home holds and leave none to the others. It
// counts live instances, not registrations ever made: an instance counts
// from its registration until it is deregistered or removed (critical for
// DeregisterCriticalAfter, or revoked), and registering a live id again
// counts once. Counts are soft state, as instances are: after a restart
// home rebuilds them as agents register again, under the caps kept with
// the tokens in JoinTokenFile.
//
// Tokens made before tokens had a cap by default keep none (a record with
// MaxInstances 0): giving them one at an upgrade could refuse a running
// fleet, which registers again whole after home restarts. The coordinator
// names them at start (UncappedJoinTokens), and UpdateJoinToken gives them
// one without making a new token.

// capLogEvery spaces the log lines about one join token at its cap: its
// refused agents retry every heartbeat.
const capLogEvery = time.Minute

// TokenFullError refuses a registration through a join token, or the
// bootstrap token (Bootstrap, TokenID ""), that has its cap of live
// instances. It names the token's id and cap, never its secret, and is
// ErrTooManyInstances (429).
type TokenFullError struct {
	TokenID   string
	Max       int
	Bootstrap bool
}

func (e *TokenFullError) Error() string {
	if e.Bootstrap {
		return fmt.Sprintf("%s: the bootstrap token (--agent-token) allows %d live instances (--max-instances-per-token) and has them all: register agents with join tokens (portolan token create), raise --max-instances-per-token, or let one of them leave",
			ErrTooManyInstances, e.Max)
	}
	return fmt.Sprintf("%s: join token %s allows %d live instances and has them all: raise its cap (portolan token update %s --max-instances N) or let one of them leave",
		ErrTooManyInstances, e.TokenID, e.Max, e.TokenID)
}

// Unwrap makes the error ErrTooManyInstances.
func (e *TokenFullError) Unwrap() error { return ErrTooManyInstances }

// JoinTokenUpdate is the body of PATCH /admin/portolan/tokens/{id}: what of
// a join token may change after its creation.
type JoinTokenUpdate struct {
	// MaxInstances is the token's new cap of live instances, at least 1.
	// Instances already registered beyond a lowered cap stay; new ones are
	// refused until fewer are live.
	MaxInstances int `json:"max_instances"`
}

// capLog remembers when a refusal at each join token's cap was last
// logged. Its keys are token ids, so it holds at most the tokens kept; it
// is cleared past limit all the same.
type capLog struct {
	mu   sync.Mutex
	last map[string]time.Time
}

// due tells whether a refusal at token id's cap is to be logged at now.
func (c *capLog) due(id string, now time.Time, limit int) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.last == nil || len(c.last) > limit {
		c.last = map[string]time.Time{}
	}
	if t, ok := c.last[id]; ok && now.Sub(t) < capLogEvery {
		return false
	}
	c.last[id] = now
	return true
}

// countRefusal counts a registration of instance id that admitLocked
// refused, by why: at whose cap, or for an id live through another join
// token (many of these: someone registering other instances' ids); and logs one at a join token's
// cap (at most once a capLogEvery per token).
func (r *Registry) countRefusal(id string, err error) {
	var full *TokenFullError
	switch {
	case errors.As(err, &full):
		r.refusedAtTokenCap.Add(1)
		if r.capLog.due(full.TokenID, r.now(), r.maxTokens) {
			r.logTokenFull(id, full)
		}
	case errors.Is(err, ErrTooManyInstances):
		r.refusedAtCap.Add(1)
	case errors.Is(err, ErrIDTaken):
		r.refusedIDTaken.Add(1)
	}
}

// logTokenFull logs the refusal of instance id at a token's cap, saying
// how to raise it.
func (r *Registry) logTokenFull(id string, full *TokenFullError) {
	if full.Bootstrap {
		r.log.Warn().Int("max_instances", full.Max).Str("instance", id).
			Msg("registration refused: the bootstrap token (--agent-token) has its cap of live instances (--max-instances-per-token raises it)")
		return
	}
	r.log.Warn().Str("join_token", full.TokenID).Int("max_instances", full.Max).Str("instance", id).
		Msg("registration refused: the join token has its cap of live instances (portolan token update ID --max-instances N raises it)")
}

// UpdateJoinToken sets the cap of live instances of the join token id and
// returns the token as listed. Instances registered beyond a lowered cap
// stay registered.
func (r *Registry) UpdateJoinToken(id string, u JoinTokenUpdate) (JoinTokenInfo, error) {
	if err := jointoken.CheckID(id); err != nil {
		return JoinTokenInfo{}, &composition.FieldError{Field: "id", Message: "is not a join token id (8 lowercase hex digits)"}
	}
	if u.MaxInstances < 1 {
		return JoinTokenInfo{}, &composition.FieldError{Field: "max_instances", Message: fmt.Sprintf("must be at least 1 (got %d)", u.MaxInstances)}
	}
	if r.tokens == nil {
		return JoinTokenInfo{}, ErrUnknownJoinToken
	}
	r.tokenMu.Lock()
	defer r.tokenMu.Unlock()
	var before int
	rec, err := r.tokens.Update(id, func(t *JoinTokenRecord) {
		before, t.MaxInstances = t.MaxInstances, u.MaxInstances
	})
	if err != nil {
		return JoinTokenInfo{}, err
	}
	r.mu.Lock()
	live := r.perToken[id]
	r.mu.Unlock()
	r.log.Info().Str("join_token", id).Int("max_instances_before", before).Int("max_instances", rec.MaxInstances).
		Int("instances", live).Msg("join token's cap of live instances changed")
	return rec.info(r.now(), live), nil
}

// UncappedJoinTokens lists the ids of the join tokens with no cap of live
// instances of their own: tokens made before tokens had one by default.
func (r *Registry) UncappedJoinTokens() []string {
	var ids []string
	if r.tokens == nil {
		return ids
	}
	for _, t := range r.tokens.List() {
		if t.MaxInstances == 0 {
			ids = append(ids, t.ID)
		}
	}
	slices.Sort(ids)
	return ids
}
