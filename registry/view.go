package registry

import (
	"bytes"
	"crypto/ed25519"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/portolan/portolan/composition"
	"github.com/portolan/portolan/internal/atomicfile"
	"github.com/portolan/portolan/internal/pki"
)

// What home sends an agent on GET /v1/composition, gossip carries between
// agents and an agent keeps in its cache is a signed view:
//
//	{"format":"portolan.view/v1","revision":R,"audience":"news",
//	 "document":{...composition.AgentView...},"signature":"<base64url>"}
//
// The signature (pki.SignComposition) covers the revision, the audience (the
// system_name of the service the view is for) and the document's exact
// bytes, so that nobody without home's key can raise a revision, forge a
// credential, lift a limit, or pass one service's view off as another's.

// ViewFormat identifies a signed view.
const ViewFormat = "portolan.view/v1"

// CredentialKeyFile holds, in home's data dir, the secret every view's
// credential key is derived from (0600). Removing it rotates every digest
// at the next revision.
const CredentialKeyFile = "credential-key"

// SignedView is the envelope of a view.
type SignedView struct {
	Format    string          `json:"format"`
	Revision  uint64          `json:"revision"`
	Audience  string          `json:"audience"`
	Document  json.RawMessage `json:"document"`
	Signature string          `json:"signature"`
}

// MaxViewBytes bounds a signed view, from home, a peer or a cache file.
const MaxViewBytes = 64 << 20

// OpenView parses a signed view and checks its signature under pub. Any
// refusal of the signature wraps pki.ErrBadSignature; the envelope is
// returned beside an error whenever it parsed, so that the caller can say
// which revision it refused.
func OpenView(pub ed25519.PublicKey, b []byte) (*SignedView, error) {
	if len(b) > MaxViewBytes {
		return nil, fmt.Errorf("signed view of %d bytes is over the %d-byte limit", len(b), MaxViewBytes)
	}
	var v SignedView
	if err := json.Unmarshal(b, &v); err != nil {
		return nil, fmt.Errorf("%w: not a signed view: %v", pki.ErrBadSignature, err)
	}
	if v.Format != ViewFormat {
		return &v, fmt.Errorf("%w: format %q, want %q (an unsigned composition?)", pki.ErrBadSignature, v.Format, ViewFormat)
	}
	if err := pki.VerifyComposition(pub, v.Revision, v.Audience, v.Document, v.Signature); err != nil {
		return &v, err
	}
	// Signed, so home wrote it: a mismatch is a bug, not an attack; refuse anyway.
	var head struct {
		Format   string `json:"format"`
		Revision uint64 `json:"revision"`
	}
	if err := json.Unmarshal(v.Document, &head); err != nil || head.Format != composition.DocumentFormat || head.Revision != v.Revision {
		return &v, fmt.Errorf("signed view of revision %d holds no composition document of that revision", v.Revision)
	}
	return &v, nil
}

// Signer makes the signed views home publishes. It is safe for concurrent use.
type Signer struct {
	key  ed25519.PrivateKey
	pub  string
	root []byte // what credential keys are derived from
}

// NewSigner signs with key and derives credential keys from root (at least
// 32 random bytes).
func NewSigner(key ed25519.PrivateKey, root []byte) (*Signer, error) {
	if len(key) != ed25519.PrivateKeySize {
		return nil, fmt.Errorf("signing key: %d bytes, want %d", len(key), ed25519.PrivateKeySize)
	}
	if len(root) < 32 {
		return nil, fmt.Errorf("credential key: %d bytes, want at least 32", len(root))
	}
	return &Signer{key: key, pub: pki.EncodePublicKey(key.Public().(ed25519.PublicKey)), root: bytes.Clone(root)}, nil
}

// LoadSigner loads home's signing key (pki.SigningKeyFile) and credential
// key (CredentialKeyFile) from dataDir, making each on first start (0600).
func LoadSigner(dataDir string) (*Signer, error) {
	key, err := pki.LoadOrCreateSigningKey(dataDir)
	if err != nil {
		return nil, err
	}
	file := filepath.Join(dataDir, CredentialKeyFile)
	root, err := os.ReadFile(file)
	if errors.Is(err, os.ErrNotExist) {
		root = make([]byte, 32)
		if _, err := rand.Read(root); err != nil {
			return nil, fmt.Errorf("credential key: %w", err)
		}
		if err := atomicfile.Write(file, root, 0o600); err != nil {
			return nil, fmt.Errorf("credential key: %w", err)
		}
	} else if err != nil {
		return nil, fmt.Errorf("credential key: %w", err)
	}
	s, err := NewSigner(key, root)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	return s, nil
}

// PublicKey is the signing key's public half, as RegisterReply.SigningKey
// carries it.
func (s *Signer) PublicKey() string { return s.pub }

// credentialKey is the key of the view of revision for audience: fresh for
// each, so a digest from one view matches nothing in another, and the same
// for every agent of one audience, so that they share views by gossip.
func (s *Signer) credentialKey(revision uint64, audience string) []byte {
	m := hmac.New(sha256.New, s.root)
	m.Write([]byte("portolan-credential-key-v1\x00"))
	m.Write(binary.BigEndian.AppendUint64(nil, revision))
	m.Write([]byte(audience))
	return m.Sum(nil)
}

// View builds, signs and encodes the view of snap for audience.
func (s *Signer) View(snap *composition.Snapshot, audience string, now time.Time) ([]byte, error) {
	doc, err := json.Marshal(composition.AgentView(snap, audience, s.credentialKey(snap.Revision, audience), now))
	if err != nil {
		return nil, fmt.Errorf("encode the view of %q: %w", audience, err)
	}
	sig := pki.SignComposition(s.key, snap.Revision, audience, doc)
	b, err := json.Marshal(SignedView{Format: ViewFormat, Revision: snap.Revision, Audience: audience, Document: doc, Signature: sig})
	if err != nil {
		return nil, fmt.Errorf("encode the view of %q: %w", audience, err)
	}
	return b, nil
}

// maxCachedViews bounds the views kept for the current revision: one per
// audience (service) agents ask for.
const maxCachedViews = 1024

// viewCache keeps the signed views of the newest revision, so that every
// agent of a service waking on a new revision costs one build, not one each.
type viewCache struct {
	signer *Signer
	mu     sync.Mutex
	rev    uint64
	views  map[string][]byte
}

func (c *viewCache) get(snap *composition.Snapshot, audience string, now time.Time) ([]byte, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.views == nil || c.rev != snap.Revision || len(c.views) >= maxCachedViews {
		c.rev, c.views = snap.Revision, map[string][]byte{}
	}
	if b, ok := c.views[audience]; ok {
		return b, nil
	}
	b, err := c.signer.View(snap, audience, now)
	if err != nil {
		return nil, err
	}
	c.views[audience] = b
	return b, nil
}

// Audience is the service an instance's view is for: the service its
// placement in snap names, or, placed nowhere, the service it registered
// with (a view that holds nothing but placements of it, if any).
func Audience(snap *composition.Snapshot, service string, labels map[string]string) string {
	if p := PlacementFor(snap, service, labels); p.Service != "" {
		return p.Service
	}
	return service
}

// audienceOf is the audience of in in snap; ok is false when in is no
// longer the instance registered under its id, or was revoked (revoked):
// its credential is refused then.
func (r *Registry) audienceOf(in *instance, snap *composition.Snapshot) (audience string, revoked, ok bool) {
	if in == nil {
		return "", false, false
	}
	r.mu.Lock()
	current, revoked := r.instances[in.id] == in, in.revoked
	service, labels := in.reg.Service, in.reg.Labels // Labels is the registry's private copy, never edited
	r.mu.Unlock()
	if !current || revoked {
		return "", revoked, false
	}
	return Audience(snap, service, labels), false, true
}
