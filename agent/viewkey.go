package agent

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sync"

	"github.com/rs/zerolog"

	"github.com/portolan/portolan/gossip"
	"github.com/portolan/portolan/internal/atomicfile"
	"github.com/portolan/portolan/registry"
)

// ViewKeyFile keeps, in the cache dir (0600), the view keys home last handed
// this agent, each with the service it is for: an agent restarted while
// home is down still opens its peers' views and seals its own.
const ViewKeyFile = "view-key"

// maxViewKeys bounds the keys an agent keeps: its placement's, and those of
// the services it was placed in before, whose views it may still hold.
const maxViewKeys = 4

// maxViewKeyFile bounds the view key file read at start.
const maxViewKeyFile = 16 << 10

// viewKeyState is what the agent knows of its view keys.
type viewKeyState int

const (
	// viewKeyUnknown: no key yet, and home did not say it has none.
	viewKeyUnknown viewKeyState = iota
	// viewKeyNone: home said it has none (older than view keys).
	viewKeyNone
	// viewKeyKnown: home handed at least one key.
	viewKeyKnown
)

// errNoViewKey is Seal's answer before the agent knows a view key: the view
// is not sent rather than sent in clear.
var errNoViewKey = errors.New("no view key known yet (home hands one at registration): the view is not sent in clear")

// serviceViewKey is a view key and the service (the views' audience) home
// derived it for.
type serviceViewKey struct {
	service string
	raw     []byte
	env     *gossip.KeyEnvelope
}

// viewKeyring holds the agent's view keys (registry.RegisterReply.ViewKey),
// each tied to the service it is for, and implements gossip.Envelope: its
// gossip node seals each view, and each delta, with the key of the
// audience (registry.SignedView.Audience) of the view it was made from,
// and opens only views sealed with the key of its newest placement, so
// that an agent of another service, or anyone holding the cluster keyring,
// reads nothing of this service's secrets.
//
// The key is chosen by the audience of the view the payload was made from,
// which gossip hands to Seal with it: never by revision, nor by the view
// the agent holds when Seal runs. An instance re-placed in another service
// (labels changed across a restart, at the same revision; or a peer's view
// of the old service arriving before the heartbeat with the new placement)
// still holds, or still serves from gossip's cache, its old service's view,
// and must not seal it with the new service's key; nor may a payload chosen
// before the agent installs the new service's view be sealed after it
// under that view's key. With no key for that audience, Seal fails and
// gossip sends nothing.
//
// With no key known, an agent phoning home sends nothing either: only a
// registration reply without a key (a home older than view keys) lets
// views travel as they are. An agent without --home, which no home will
// ever tell, shares them as they are unless its cache dir holds keys.
type viewKeyring struct {
	// Set before gossip starts (loadViewKey), read only after.
	plainUntilKnown bool // no home to hand a key: unknown means none

	mu     sync.Mutex // guards what follows
	state  viewKeyState
	keys   []serviceViewKey // oldest first; the last is the newest placement's
	warned bool             // the agent said once that home sent no key
	// warnedPlain: the agent said once that a peer sends views unsealed.
	warnedPlain bool
	log         zerolog.Logger // set before gossip starts (loadViewKey)

	audMu sync.Mutex      // guards aud
	aud   [2]viewAudience // the last two views' audiences, parsed once per view
	audAt int             // the entry to replace next
}

// viewAudience is a view's audience, and the view's bytes it was parsed
// from, told by their first byte's address (kept here, so never reused by
// another view) and their length.
type viewAudience struct {
	view     *byte
	n        int
	audience string
}

// Seal implements gossip.Envelope: it seals payload with the key of the
// audience of view, the signed view payload was made from.
func (k *viewKeyring) Seal(payload, view []byte) ([]byte, error) {
	k.mu.Lock()
	state := k.state
	k.mu.Unlock()
	switch {
	case state == viewKeyNone, state == viewKeyUnknown && k.plainUntilKnown:
		return payload, nil
	case state == viewKeyUnknown:
		return nil, errNoViewKey
	}
	aud, err := k.audienceOf(view)
	if err != nil {
		return nil, err
	}
	e := k.keyFor(aud)
	if e == nil {
		return nil, fmt.Errorf("no view key for service %q, the audience of the view to send: the view is not sent", aud)
	}
	return e.Seal(payload, view)
}

// SameKey implements gossip.Envelope: views a and b are sealed under one
// key when they are for one audience (or when nothing is sealed), so that
// no delta from one service's view to another's is made or passed on: it
// would tell the first view's length, digest and layout to the second
// service's agents. A view's audience is parsed once: a delta's base was
// usually sealed already, and its target is sealed next.
func (k *viewKeyring) SameKey(a, b []byte) bool {
	k.mu.Lock()
	state := k.state
	k.mu.Unlock()
	if state == viewKeyNone || state == viewKeyUnknown && k.plainUntilKnown {
		return true
	}
	audA, errA := k.audienceOf(a)
	audB, errB := k.audienceOf(b)
	return errA == nil && errB == nil && audA == audB
}

// Open implements gossip.Envelope: it opens with the newest placement's
// key, whose service's views the agent takes from its peers.
//
// A payload not sealed at all (gossip.Unsealed) comes from an agent older
// than view keys, mid-upgrade: it is taken as it is, and said once at
// warn. Its sender gave up the view's confidentiality already, and what it
// holds is checked as every peer's view is (acceptFromPeer: home's
// signature, the audience of the agent's placement), so another service's
// view, or a stranger's, is still refused; refusing it would only leave
// the agent behind while home is away. A payload sealed under another key
// starts as a sealed one does, and still does not open.
func (k *viewKeyring) Open(sealed []byte) ([]byte, error) {
	k.mu.Lock()
	var e *gossip.KeyEnvelope
	if k.state == viewKeyKnown {
		e = k.keys[len(k.keys)-1].env
	}
	warn := false
	if e != nil && gossip.Unsealed(sealed) {
		warn, k.warnedPlain = !k.warnedPlain, true
	}
	k.mu.Unlock()
	switch {
	case e == nil:
		return sealed, nil
	case !gossip.Unsealed(sealed):
		return e.Open(sealed)
	}
	if warn {
		k.log.Warn().Msg("a gossip peer predates view keys (an agent not yet upgraded): its views arrive unsealed, " +
			"readable by any holder of the gossip keyring; they are taken once home's signature and audience check out")
	}
	return sealed, nil
}

// keyFor is the envelope of service's key, nil when none is held.
func (k *viewKeyring) keyFor(service string) *gossip.KeyEnvelope {
	k.mu.Lock()
	defer k.mu.Unlock()
	for _, sk := range k.keys {
		if sk.service == service {
			return sk.env
		}
	}
	return nil
}

// audienceOf is the audience of a signed view. Gossip seals most payloads
// from the same view, one slice until the next install, and a delta joins
// the view before it: the audiences of the last two views are kept, each
// parsed once, a view told from another by the address and length of its
// bytes (which the pointer kept here keeps from being reused).
func (k *viewKeyring) audienceOf(view []byte) (string, error) {
	if len(view) == 0 {
		return "", errors.New("no view to take the audience from: nothing to seal")
	}
	k.audMu.Lock()
	defer k.audMu.Unlock()
	for _, a := range k.aud {
		if a.view == &view[0] && a.n == len(view) {
			return a.audience, nil
		}
	}
	aud, err := parseAudience(view)
	if err != nil {
		return "", err
	}
	k.aud[k.audAt] = viewAudience{view: &view[0], n: len(view), audience: aud}
	k.audAt = 1 - k.audAt
	return aud, nil
}

// parseAudience is the audience of a signed view, read as
// registry.OpenView reads it.
func parseAudience(view []byte) (string, error) {
	var v struct {
		Audience string `json:"audience"`
	}
	if err := json.Unmarshal(view, &v); err != nil {
		return "", fmt.Errorf("audience of the view: %w", err)
	}
	return v.Audience, nil
}

// set installs key for service as the newest placement's; false when it was
// already the newest key, for that service. A key for another service is
// kept too (up to maxViewKeys): the view held may still be that service's.
func (k *viewKeyring) set(service string, key []byte) (bool, error) {
	e, err := gossip.NewKeyEnvelope(key)
	if err != nil {
		return false, err
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	if n := len(k.keys); k.state == viewKeyKnown && n > 0 && k.keys[n-1].service == service && bytes.Equal(k.keys[n-1].raw, key) {
		return false, nil
	}
	if k.state != viewKeyKnown {
		k.keys = nil
	}
	k.keys = appendViewKey(k.keys, serviceViewKey{service: service, raw: bytes.Clone(key), env: e})
	k.state = viewKeyKnown
	return true, nil
}

// appendViewKey puts sk last in keys, in place of one for the same service,
// and drops the oldest beyond maxViewKeys.
func appendViewKey(keys []serviceViewKey, sk serviceViewKey) []serviceViewKey {
	out := keys[:0]
	for _, o := range keys {
		if o.service != sk.service {
			out = append(out, o)
		}
	}
	out = append(out, sk)
	if len(out) > maxViewKeys {
		out = out[len(out)-maxViewKeys:]
	}
	return out
}

// none records that home has no view keys: views travel as they are. It
// reports whether the agent held keys or did not know before.
func (k *viewKeyring) none() bool {
	k.mu.Lock()
	defer k.mu.Unlock()
	changed := k.state != viewKeyNone
	k.state, k.keys = viewKeyNone, nil
	return changed
}

// viewKeyFileEntry is one key in ViewKeyFile.
type viewKeyFileEntry struct {
	Service string `json:"service"`
	Key     string `json:"key"`
}

// viewKeyFileContent is ViewKeyFile: keys oldest first, the last the newest
// placement's.
type viewKeyFileContent struct {
	Keys []viewKeyFileEntry `json:"keys"`
}

// loadViewKey readies the agent's view keys before gossip starts: it
// installs the cached keys, if any.
func (a *Agent) loadViewKey() {
	a.viewKey.plainUntilKnown = a.cfg.Home == ""
	a.viewKey.log = a.log
	if a.cfg.CacheDir == "" {
		return
	}
	path := filepath.Join(a.cfg.CacheDir, ViewKeyFile)
	b, err := atomicfile.ReadBounded(path, maxViewKeyFile)
	if errors.Is(err, fs.ErrNotExist) {
		return
	}
	var f viewKeyFileContent
	if err == nil {
		if err = json.Unmarshal(b, &f); err != nil {
			err = fmt.Errorf("not a list of view keys with their services (written by an older agent?): %w", err)
		}
	}
	for _, e := range f.Keys {
		if err != nil {
			break
		}
		_, err = a.installViewKey(e.Service, e.Key)
	}
	if err != nil {
		a.log.Warn().Err(err).Str("file", path).Msg("ignoring the cached view keys: this agent sends its view on gossip once home hands a key")
		a.viewKey.mu.Lock()
		a.viewKey.state, a.viewKey.keys = viewKeyUnknown, nil
		a.viewKey.mu.Unlock()
	}
}

// viewKeyFromHome installs the view key home handed in a registration reply
// (registration set) or a heartbeat reply, with placement p, and caches it.
// The key is for the service p names (the instance's own when none):
// registry.Registry.viewKeyFor derives it so. A registration reply without
// one comes from a home older than view keys: the agent then shares its
// view as before, readable by every holder of the gossip keyring, and says
// so once.
func (a *Agent) viewKeyFromHome(encoded string, p *registry.Placement, registration bool) {
	if p == nil {
		return
	}
	k := &a.viewKey
	if encoded == "" {
		if !registration {
			return
		}
		changed := k.none()
		k.mu.Lock()
		warn := !k.warned
		k.warned = true
		k.mu.Unlock()
		if warn && a.cfg.Gossip != nil {
			a.log.Warn().Msg("home sent no view key (is home older than this agent?): this agent's composition, secrets included, " +
				"travels gossip readable by any holder of the gossip keyring")
		}
		if changed && a.cfg.CacheDir != "" {
			if err := os.Remove(filepath.Join(a.cfg.CacheDir, ViewKeyFile)); err != nil && !errors.Is(err, fs.ErrNotExist) {
				a.log.Warn().Err(err).Msg("cached view keys not removed: a restart while home is down seals with them")
			}
		}
		return
	}
	service := p.Service
	if service == "" {
		service = a.reg.Service
	}
	changed, err := a.installViewKey(service, encoded)
	if err != nil {
		a.log.Warn().Err(err).Msg("home's view key is unusable; keeping the ones in use")
		return
	}
	if !changed || a.cfg.CacheDir == "" {
		return
	}
	if err = os.MkdirAll(a.cfg.CacheDir, 0o700); err == nil {
		err = atomicfile.Write(filepath.Join(a.cfg.CacheDir, ViewKeyFile), a.viewKey.encodeFile(), 0o600)
	}
	if err != nil {
		a.log.Warn().Err(err).Msg("view key not cached: a restart while home is down sends no view to peers and takes none")
	}
}

// encodeFile is the content of ViewKeyFile for the keys held.
func (k *viewKeyring) encodeFile() []byte {
	k.mu.Lock()
	defer k.mu.Unlock()
	var f viewKeyFileContent
	for _, sk := range k.keys {
		f.Keys = append(f.Keys, viewKeyFileEntry{Service: sk.service, Key: base64.StdEncoding.EncodeToString(sk.raw)})
	}
	b, _ := json.Marshal(f) // strings only: cannot fail
	return append(b, '\n')
}

// installViewKey decodes and installs a base64 view key for service
// (viewKeyring.set); false when it was the newest key already.
func (a *Agent) installViewKey(service, encoded string) (bool, error) {
	key, err := base64.StdEncoding.DecodeString(encoded)
	if err != nil {
		return false, fmt.Errorf("view key for service %q: %w", service, err)
	}
	changed, err := a.viewKey.set(service, key)
	if err != nil {
		return false, fmt.Errorf("view key for service %q: %w", service, err)
	}
	return changed, nil
}
