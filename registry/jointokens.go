package registry

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/portolan/portolan/composition"
	"github.com/portolan/portolan/internal/pki"
	"github.com/portolan/portolan/registry/jointoken"
)

// Join tokens (`portolan token create`): what may register an instance, and
// nothing else. Home keeps each token's scope and the hash of its secret
// (JoinTokenStore); the token string itself is shown once, at creation.
//
// A token's scope bounds the registrations it admits:
//   - Service: the instance's service must be this one;
//   - Labels: the instance must claim every label the token names, with
//     the token's value (a pool=basic token cannot register with
//     pool=premium), and no key the token does not name, so it cannot
//     steer a placement by a label the token's author never thought of.
//     Leaving one out is refused too: an instance matching no pool's
//     placement serves its service by default, every plan, and the map
//     would send it every pool's traffic. A token without labels leaves
//     labels free (the bootstrap token's behaviour);
//   - MaxInstances: live instances registered through it (tokencap.go):
//     home's MaxInstancesPerToken unless the spec gives one, so that no
//     token can fill the registry; 0 only in records of tokens made before
//     tokens had a cap by default, which keep having none;
//   - Expires: registrations after it are refused (401). Instances already
//     registered keep their credentials: a lifetime bounds joining, as
//     kubeadm's does. Revoking the token is what ends them.

// OutputRevoked is the output of an instance whose join token was revoked.
const OutputRevoked = "join token revoked"

// Defaults of the registry's caps.
const (
	DefaultMaxInstances  = 10000
	DefaultMaxJoinTokens = 1000
	// DefaultMaxInstancesPerToken is the cap of live instances a join token
	// gets when it is created without one: a tenth of DefaultMaxInstances,
	// so that one leaked token cannot take every instance home holds.
	DefaultMaxInstancesPerToken = 1000
)

// Errors of the join token API and of registration scopes.
var (
	ErrUnknownJoinToken  = errors.New("no such join token")
	ErrTooManyJoinTokens = errors.New("too many join tokens")
	ErrTooManyInstances  = errors.New("too many instances")
	// ErrScope is wrapped by a registration its join token does not allow.
	ErrScope = errors.New("the join token does not allow this registration")
	// ErrIDTaken: the id is live and was registered through another token
	// (409 Conflict). Ids are soft state like the instances: after home
	// restarts, or once an instance is removed, whoever registers an id
	// first holds it; the agent that finds its own taken draws another.
	ErrIDTaken = errors.New("instance id taken")
)

// JoinTokenSpec is the body of POST /admin/portolan/tokens: the scope of a
// new join token. The zero spec is an unscoped token that never expires,
// capped at home's default count of live instances.
type JoinTokenSpec struct {
	Service string            `json:"service,omitempty"`
	Labels  map[string]string `json:"labels,omitempty"`
	TTL     Duration          `json:"ttl,omitempty"` // 0: never expires
	// MaxInstances caps the live instances registered through the token;
	// 0 takes home's default (--max-instances-per-token).
	MaxInstances int    `json:"max_instances,omitempty"`
	Description  string `json:"description,omitempty"`
}

// JoinTokenInfo is a join token as listed: its scope and use, never its
// secret nor its hash.
type JoinTokenInfo struct {
	ID      string            `json:"id"`
	Service string            `json:"service,omitempty"`
	Labels  map[string]string `json:"labels,omitempty"`
	// MaxInstances is the token's cap of live instances; absent (0) for a
	// token made before tokens had one by default, which has none of its
	// own (home's --max-instances still holds).
	MaxInstances int        `json:"max_instances,omitempty"`
	Description  string     `json:"description,omitempty"`
	CreatedAt    time.Time  `json:"created_at"`
	ExpiresAt    *time.Time `json:"expires_at,omitempty"`
	Expired      bool       `json:"expired"`
	// Instances is how many live instances registered through the token.
	Instances int `json:"instances"`
}

// JoinTokenCreated answers the creation of a join token: the token string,
// which home never shows again.
type JoinTokenCreated struct {
	JoinTokenInfo
	Token string `json:"token"`
}

// JoinTokenList answers GET /admin/portolan/tokens.
type JoinTokenList struct {
	Tokens []JoinTokenInfo `json:"tokens"`
}

// JoinTokenRecord is what home stores of a join token.
type JoinTokenRecord struct {
	ID           string            `json:"id"`
	Hash         jointoken.Hash    `json:"hash"`
	Service      string            `json:"service,omitempty"`
	Labels       map[string]string `json:"labels,omitempty"`
	MaxInstances int               `json:"max_instances,omitempty"`
	Description  string            `json:"description,omitempty"`
	CreatedAt    time.Time         `json:"created_at"`
	ExpiresAt    time.Time         `json:"expires_at,omitzero"`
}

// expired tells whether registrations through the token are over at now.
func (t *JoinTokenRecord) expired(now time.Time) bool {
	return !t.ExpiresAt.IsZero() && !now.Before(t.ExpiresAt)
}

// allows checks a registration against the token's scope.
func (t *JoinTokenRecord) allows(reg *Registration) error {
	if t.Service != "" && reg.Service != t.Service {
		return fmt.Errorf("%w: it is for service %q, not %q", ErrScope, t.Service, truncate(reg.Service, 64))
	}
	if len(t.Labels) == 0 {
		return nil
	}
	for _, k := range slices.Sorted(maps.Keys(reg.Labels)) {
		want, named := t.Labels[k]
		switch {
		case !named:
			return fmt.Errorf("%w: label %q is not one the token names (it allows %s)", ErrScope, truncate(k, 64), t.labelList())
		case reg.Labels[k] != want:
			return fmt.Errorf("%w: label %s may only be %q", ErrScope, truncate(k, 64), want)
		}
	}
	for _, k := range slices.Sorted(maps.Keys(t.Labels)) {
		if _, claimed := reg.Labels[k]; !claimed {
			return fmt.Errorf("%w: label %s is missing and the token requires it: register with %s (portolan agent --label)",
				ErrScope, k, t.labelList())
		}
	}
	return nil
}

func (t *JoinTokenRecord) labelList() string {
	parts := make([]string, 0, len(t.Labels))
	for _, k := range slices.Sorted(maps.Keys(t.Labels)) {
		parts = append(parts, k+"="+t.Labels[k])
	}
	return strings.Join(parts, ",")
}

func (t *JoinTokenRecord) info(now time.Time, live int) JoinTokenInfo {
	info := JoinTokenInfo{
		ID: t.ID, Service: t.Service, Labels: maps.Clone(t.Labels), MaxInstances: t.MaxInstances,
		Description: t.Description, CreatedAt: t.CreatedAt, Expired: t.expired(now), Instances: live,
	}
	if !t.ExpiresAt.IsZero() {
		e := t.ExpiresAt
		info.ExpiresAt = &e
	}
	return info
}

// validateSpec checks a join token's scope as a registration's fields are.
func validateSpec(s *JoinTokenSpec) error {
	const maxDescription = 256
	switch {
	case s.Service != "" && !validSystemName(s.Service):
		return &composition.FieldError{Field: "service", Message: "is not a valid system_name: use letters, digits, '_', '-', '.', '/', '[', ']' (at most 255)"}
	case s.TTL < 0:
		return &composition.FieldError{Field: "ttl", Message: "must not be negative (0 never expires)"}
	case s.TTL > 0 && s.TTL < Duration(time.Second):
		// A JSON number is nanoseconds: "ttl": 3600 would make a token
		// dead when made.
		return &composition.FieldError{Field: "ttl", Message: `is under a second (a number is nanoseconds): write a duration such as "1h" (0 never expires)`}
	case s.MaxInstances < 0:
		return &composition.FieldError{Field: "max_instances", Message: "must not be negative (0 takes home's --max-instances-per-token)"}
	case len(s.Description) > maxDescription:
		return &composition.FieldError{Field: "description", Message: fmt.Sprintf("is too long (at most %d bytes)", maxDescription)}
	}
	return validateLabels(s.Labels)
}

// CreateJoinToken makes a join token with spec's scope, carrying pin (zero
// when home serves plain HTTP), stores its hash and returns it: the only
// time its secret is seen. Beyond the registry's MaxJoinTokens it is
// ErrTooManyJoinTokens; tokens expired with no live instance are dropped
// first, so that short-lived tokens do not fill the cap.
func (r *Registry) CreateJoinToken(spec JoinTokenSpec, pin pki.Pin) (JoinTokenCreated, error) {
	if r.tokens == nil {
		return JoinTokenCreated{}, errors.New("join tokens are not kept by this registry")
	}
	if err := validateSpec(&spec); err != nil {
		return JoinTokenCreated{}, err
	}
	now := r.now().UTC()
	r.tokenMu.Lock()
	defer r.tokenMu.Unlock()
	r.purgeExpired(now)
	if r.tokens.Len() >= r.maxTokens {
		return JoinTokenCreated{}, fmt.Errorf("%w: home keeps at most %d (--max-join-tokens): revoke unused ones first", ErrTooManyJoinTokens, r.maxTokens)
	}
	rec := JoinTokenRecord{
		Service: spec.Service, Labels: maps.Clone(spec.Labels), MaxInstances: spec.MaxInstances,
		Description: spec.Description, CreatedAt: now,
	}
	if rec.MaxInstances == 0 {
		rec.MaxInstances = r.maxPerToken
	}
	if spec.TTL > 0 {
		rec.ExpiresAt = now.Add(time.Duration(spec.TTL))
	}
	tok, err := r.tokens.Add(rec, pin)
	if err != nil {
		return JoinTokenCreated{}, err
	}
	rec.ID, rec.Hash = tok.ID, tok.Hash()
	r.log.Info().Str("join_token", tok.Redacted()).Str("service", rec.Service).Int("max_instances", rec.MaxInstances).Msg("join token created")
	return JoinTokenCreated{JoinTokenInfo: rec.info(now, 0), Token: tok.String()}, nil
}

// purgeExpired forgets expired tokens no live instance came through, in
// one write of the token file, made without mu. tokenMu is held. An
// expired token admits no instance meanwhile (admitLocked), so none comes
// through one between the count and the removal.
func (r *Registry) purgeExpired(now time.Time) {
	expired := slices.DeleteFunc(r.tokens.List(), func(t JoinTokenRecord) bool { return !t.expired(now) })
	var gone []string
	r.mu.Lock()
	for _, t := range expired {
		if r.perToken[t.ID] == 0 {
			gone = append(gone, t.ID)
		}
	}
	r.mu.Unlock()
	if err := r.tokens.RemoveAll(gone); err != nil {
		r.log.Warn().Err(err).Int("join_tokens", len(gone)).Msg("could not drop expired join tokens")
	}
}

// JoinTokens lists the join tokens, oldest first, with their live instances.
func (r *Registry) JoinTokens() []JoinTokenInfo {
	out := []JoinTokenInfo{}
	if r.tokens == nil {
		return out
	}
	now := r.now()
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, t := range r.tokens.List() {
		out = append(out, t.info(now, r.perToken[t.ID]))
	}
	slices.SortFunc(out, func(a, b JoinTokenInfo) int {
		if c := a.CreatedAt.Compare(b.CreatedAt); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
	return out
}

// RevokeJoinToken forgets a join token and ends the instances registered
// through it at once: they turn critical (out of the map's passing set)
// until the reaper removes them, their credentials are refused from their
// next call (401), their blocking queries end with a 401, and registering
// again with the token fails. It returns
// how many instances it ended.
func (r *Registry) RevokeJoinToken(id string) (int, error) {
	if err := jointoken.CheckID(id); err != nil {
		return 0, &composition.FieldError{Field: "id", Message: "is not a join token id (8 lowercase hex digits)"}
	}
	if r.tokens == nil {
		return 0, ErrUnknownJoinToken
	}
	r.tokenMu.Lock()
	defer r.tokenMu.Unlock()
	// Written first, without mu: from then on no registration comes
	// through the token (admitLocked reads it under mu), and those before
	// are ended below.
	if err := r.tokens.Remove(id); err != nil {
		return 0, err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	removed := 0
	now := r.now()
	for _, in := range r.instances {
		if in.tokenID == id && !in.revoked {
			r.credMu.Lock() // revoked is read under either lock (credentialHolder)
			in.revoked = true
			r.credMu.Unlock()
			in.endWatches()
			in.expired, in.output = true, OutputRevoked
			r.forgetKeysLocked(in) // refused from now on: it acknowledges nothing
			in.updateStatus(now)
			r.scheduleLocked(in)
			r.noteLocked(in.id)
			removed++
		}
	}
	if removed > 0 {
		r.bumpLocked()
	}
	r.log.Info().Str("join_token", id).Int("instances", removed).Msg("join token revoked")
	return removed, nil
}
