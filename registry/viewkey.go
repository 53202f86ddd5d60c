package registry

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
)

// A view carries its service's secrets (the proxy's secret token, private
// keys in its policy chain), and gossip, whose keyring every agent holds,
// carries views between agents. So agents seal their view on gossip under
// a key of their service (gossip.Envelope): home derives it from its
// credential key (CredentialKeyFile) and the service's system_name, and
// hands it only to the instances it places in that service, over the agent
// API (RegisterReply.ViewKey, and HeartbeatReply.ViewKey when the placement
// changes). An agent of another service, or whoever stole its keyring,
// fetches bytes it cannot open. The key is the same for every agent of a
// service, and stays the same from revision to revision, so that they
// converge by gossip while home is away; removing the credential key
// changes it too.

// ViewKeySize is the size of a view key: AES-256.
const ViewKeySize = sha256.Size

// ViewKey is the key agents of audience seal their view with on gossip.
func (s *Signer) ViewKey(audience string) []byte {
	m := hmac.New(sha256.New, s.root)
	m.Write([]byte("portolan-view-key-v1\x00"))
	m.Write([]byte(audience))
	return m.Sum(nil)
}

// viewKeyFor is the view key, base64, of an instance registered with service
// and placed in placed (the service its placement names, "" when none): the
// key of its view's audience (Audience). "" without a Signer.
func (r *Registry) viewKeyFor(placed, service string) string {
	if r.views == nil {
		return ""
	}
	if placed == "" {
		placed = service
	}
	return base64.StdEncoding.EncodeToString(r.views.signer.ViewKey(placed))
}
