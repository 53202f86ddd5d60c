package composition

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/json"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// hashedView is c as an agent placed in svc receives it: credentials
// hashed under a fixed key, through JSON.
func hashedView(t testing.TB, c *Composition, svc *Service) *Composition {
	t.Helper()
	b, err := json.Marshal(AgentView(c, svc.SystemName, bytes.Repeat([]byte{9}, CredentialKeySize), testNow))
	require.NoError(t, err)
	var d Document
	require.NoError(t, json.Unmarshal(b, &d))
	v, err := d.Composition()
	require.NoError(t, err)
	return v
}

// A digest is HMAC-SHA-256(key, kind ‖ credential) whatever the length of
// the credential, including those longer than the buffer hashed through,
// and the digester gives the same answer on reuse.
func TestDigestIsHMACOfKindAndCredential(t *testing.T) {
	key := bytes.Repeat([]byte{3}, CredentialKeySize)
	d := newDigester(key)
	for _, n := range []int{0, 1, 254, 255, 256, 257, 511, 512, 513, 2000} {
		v := strings.Repeat("k", n)
		want := hmac.New(sha256.New, key)
		want.Write(append([]byte{credAppKey}, v...))
		for range 2 {
			assert.Equal(t, want.Sum(nil), d.digest(credAppKey, v), "credential of %d bytes", n)
		}
	}
}

// Over a view, the index finds applications by the digest of what is
// presented, and refuses what is not a credential, as over plaintext.
func TestHashedIndexAuthenticatesAsPlaintext(t *testing.T) {
	f := newAuthFixture(t)
	for _, tc := range []struct {
		svc  *Service
		cred Credentials
		code string
	}{
		{f.svc1, Credentials{UserKey: f.keyApp.UserKey}, ""},
		{f.svc1, Credentials{UserKey: f.other.UserKey}, ""},
		{f.svc1, Credentials{UserKey: "nope"}, DenialUserKeyInvalid},
		{f.svc1, Credentials{UserKey: strings.Repeat("x", 300)}, DenialUserKeyInvalid},
		{f.svc2, Credentials{AppID: f.idApp.AppID, AppKey: f.idApp.AppKeys[0]}, ""},
		{f.svc2, Credentials{AppID: f.idApp.AppID, AppKey: "wrong"}, DenialAppKeyInvalid},
		{f.svc2, Credentials{AppID: f.idApp.AppID}, DenialAppKeyInvalid},
		{f.svc2, Credentials{AppID: f.idApp.AppKeys[0], AppKey: f.idApp.AppID}, DenialApplicationNotFound},
		{f.svc2, Credentials{AppID: f.idApp.AppID, UserKey: f.keyApp.UserKey}, DenialAuthenticationError},
	} {
		plainApp, _, plainD := NewAppIndex(f.c, tc.svc.ID).Authenticate(tc.cred)
		app, _, d := NewAppIndex(hashedView(t, f.c, tc.svc), tc.svc.ID).Authenticate(tc.cred)
		if tc.code == "" {
			require.Nil(t, plainD, "%+v over plaintext", tc.cred)
			require.Nil(t, d, "%+v over the view", tc.cred)
			assert.Equal(t, plainApp.ID, app.ID)
			continue
		}
		require.NotNil(t, plainD, "%+v over plaintext", tc.cred)
		require.NotNil(t, d, "%+v over the view", tc.cred)
		assert.Equal(t, tc.code, plainD.Code)
		assert.Equal(t, *plainD, *d, "%+v: the same denial over the view", tc.cred)
	}
}
