package composition

import (
	"encoding/hex"
	"strings"
)

// ManagedByImage is Managed.By for a service whose documents an image
// brought: an agent started with --composition applied them through home.
const ManagedByImage = "image"

// Managed records who owns a service's content and at which version: the
// version of the documents last applied and the digest of those documents
// (not of the composition, so changes made at home since, the drift, do not
// change it). Home compares an incoming apply with it:
//
//   - a higher version than stored is applied;
//   - the same version with the same digest changes nothing (many replicas
//     of one image apply once);
//   - the same version with another digest is a conflict, refused;
//   - a lower version changes nothing (old replicas during a rolling update
//     never bring the service back).
type Managed struct {
	By      string `json:"by"`
	Version int64  `json:"version"`
	Digest  string `json:"digest"`
}

// ManagedOutcome is what home does with documents brought at a version,
// given what a service records (Managed.Decide).
type ManagedOutcome string

// The outcomes of the version rule.
const (
	// ManagedApply: the documents are newer (or the service is not managed
	// yet): they are applied and become the stored version.
	ManagedApply ManagedOutcome = "applied"
	// ManagedUnchanged: the same version and digest were applied already.
	ManagedUnchanged ManagedOutcome = "unchanged"
	// ManagedOlder: the stored version is newer; nothing changes.
	ManagedOlder ManagedOutcome = "older"
	// ManagedConflict: the same version with other content; refused.
	ManagedConflict ManagedOutcome = "conflict"
)

// Decide applies the version rule to documents at version with digest,
// against m, what the service records (nil: not managed by an image yet,
// or not there at all: the documents are applied).
func (m *Managed) Decide(version int64, digest string) ManagedOutcome {
	switch {
	case m == nil || version > m.Version:
		return ManagedApply
	case version < m.Version:
		return ManagedOlder
	case digest == m.Digest:
		return ManagedUnchanged
	}
	return ManagedConflict
}

// DigestPrefix starts a Managed.Digest: the SHA-256 of the documents, in hex.
const DigestPrefix = "sha256:"

// validate checks m (nil is fine: a service managed at home).
func (m *Managed) validate(v *ValidationError) {
	if m == nil {
		return
	}
	if m.By != ManagedByImage {
		v.Add("managed", `by must be "`+ManagedByImage+`"`)
	}
	if m.Version < 1 {
		v.Add("managed", "version must be 1 or more")
	}
	hexPart, ok := strings.CutPrefix(m.Digest, DigestPrefix)
	if b, err := hex.DecodeString(hexPart); !ok || err != nil || len(b) != 32 {
		v.Add("managed", "digest must be "+DigestPrefix+" and 64 hex digits")
	}
}

// SetManaged records m as the owner and version of the service with id
// (nil forgets them). It is the one way to set them: an update through the
// API keeps them (the service kind's Keep).
func (tx *Tx) SetManaged(serviceID int64, m *Managed) error {
	s, ok := tx.c.Services.Get(serviceID)
	if !ok {
		return &NotFoundError{Kind: KindService, ID: serviceID}
	}
	var v ValidationError
	m.validate(&v)
	if err := v.Err(); err != nil {
		return err
	}
	n := *s
	n.Managed = nil
	if m != nil {
		c := *m
		n.Managed = &c
	}
	tx.put(&n)
	return nil
}

// ServiceKey is the natural key reconciling names the service system_name
// by (reconcile_keys.go): DiffOptions.Owners of what a service owns.
func ServiceKey(systemName string) string { return childKey("", "service", systemName) }
