package jointoken

import (
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/portolan/portolan/internal/pki"
)

var testPin = pki.Pin(sha256.Sum256([]byte("home's CA public key")))

func newToken(t *testing.T, pin pki.Pin) Token {
	t.Helper()
	tok, err := New(pin)
	require.NoError(t, err)
	return tok
}

// secretOf is the secret part of a token's text.
func secretOf(t *testing.T, tok Token) string {
	t.Helper()
	parts := strings.Split(tok.String(), ".")
	require.GreaterOrEqual(t, len(parts), 3)
	return parts[2]
}

var tokenForm = regexp.MustCompile(`^ptj1\.[0-9a-f]{8}\.[A-Za-z0-9_-]{43}\.[0-9a-f]{64}$`)

func TestNew(t *testing.T) {
	tok := newToken(t, testPin)
	s := tok.String()
	assert.Regexp(t, tokenForm, s)
	assert.Len(t, s, MaxLen)
	assert.Equal(t, "ptj1."+tok.ID+".", s[:14])
	assert.True(t, strings.HasSuffix(s, "."+strings.TrimPrefix(testPin.String(), "sha256:")), "the pin, as pki prints it")
	assert.True(t, tok.HasPin())

	other := newToken(t, testPin)
	assert.NotEqual(t, tok.ID, other.ID)
	assert.NotEqual(t, secretOf(t, tok), secretOf(t, other))
	assert.NotEqual(t, tok.Hash(), other.Hash())
}

func TestRoundTrip(t *testing.T) {
	for _, pin := range []pki.Pin{testPin, {}} {
		tok := newToken(t, pin)
		back, err := Parse(tok.String())
		require.NoError(t, err)
		assert.Equal(t, tok, back)
		assert.Equal(t, tok.String(), back.String())
		assert.True(t, back.Matches(tok.Hash()))
		assert.Equal(t, !pin.IsZero(), back.HasPin())
	}
	noPin := newToken(t, pki.Pin{})
	assert.Equal(t, 3, strings.Count(noPin.String(), ".")+1, "no pin, no pin part")
}

func TestRedacted(t *testing.T) {
	tok := newToken(t, testPin)
	secret := secretOf(t, tok)
	assert.Equal(t, "ptj1."+tok.ID+".REDACTED", tok.Redacted())
	for _, shown := range []string{
		tok.Redacted(),
		fmt.Sprint(tok),
		fmt.Sprintf("%v %+v %#v %s %q %x %d", tok, tok, tok, tok, tok, tok, tok),
		fmt.Sprintf("%v", &tok),
		fmt.Sprintf("%v", []Token{tok}),
		fmt.Sprintf("%v", struct{ T Token }{tok}),
		mustJSON(t, tok),
		errors.New("register with " + tok.Redacted()).Error(),
	} {
		assert.NotContains(t, shown, secret)
		assert.Contains(t, shown, tok.ID)
	}
	assert.Contains(t, tok.String(), secret, "String alone gives the token")

	_, err := Parse(tok.Redacted())
	assert.ErrorContains(t, err, "redacted token", "a token copied from a log says what it is")
	assert.True(t, IsJoinToken(tok.Redacted()))
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	require.NoError(t, err)
	return string(b)
}

func TestIsJoinToken(t *testing.T) {
	assert.True(t, IsJoinToken(newToken(t, testPin).String()))
	assert.True(t, IsJoinToken("ptj1.broken"), "a broken join token is still one: Parse says what is wrong")
	for _, s := range []string{"", "ptj1", "s3cr3t-bootstrap-token", "PTJ1.0a1b2c3d", "ptj2.0a1b2c3d", " ptj1.x"} {
		assert.False(t, IsJoinToken(s), s)
	}
}

func TestParseErrors(t *testing.T) {
	tok := newToken(t, testPin)
	good := strings.Split(tok.String(), ".")
	secret := good[2]
	with := func(i int, v string) string {
		p := append([]string(nil), good...)
		p[i] = v
		return strings.Join(p, ".")
	}
	for name, tc := range map[string]struct {
		in, part, says string
	}{
		"empty":              {"", "prefix", "does not start with ptj1."},
		"bootstrap token":    {secret, "prefix", "does not start with ptj1."},
		"other version":      {with(0, "ptj2"), "prefix", "unsupported version"},
		"upper prefix":       {with(0, "PTJ1"), "prefix", "does not start"},
		"prefix alone":       {"ptj1", "token", "1 parts"},
		"two parts":          {"ptj1." + good[1], "token", "2 parts"},
		"five parts":         {tok.String()[:MaxLen-2] + ".a", "token", "5 parts"},
		"too long":           {tok.String() + "0", "token", "123 characters, at most 122"},
		"huge":               {strings.Repeat(secret, 1000), "token", "at most 122"},
		"short id":           {with(1, "0a1b2c3"), "id", "7 characters, want 8"},
		"upper id":           {with(1, "0A1B2C3D"), "id", "not lowercase hex"},
		"non-hex id":         {with(1, "0a1b2c3g"), "id", "not lowercase hex"},
		"short secret":       {with(2, secret[:42]), "secret", "42 characters, want 43"},
		"padded secret":      {strings.Join(good[:2], ".") + "." + secret + "=", "secret", "44 characters"},
		"std base64 secret":  {with(2, "+"+secret[1:]), "secret", "not base64url"},
		"empty secret":       {with(2, ""), "secret", "0 characters"},
		"non-canonical":      {with(2, secret[:42]+nonCanonical(secret[42])), "secret", "not base64url"},
		"short pin":          {with(3, good[3][:63]), "pin", "63 characters, want 64"},
		"upper pin":          {with(3, strings.ToUpper(good[3])), "pin", "not lowercase hex"},
		"sha256: in the pin": {with(3, "sha256:"+good[3][7:]), "pin", "not lowercase hex"},
		"zero pin":           {with(3, strings.Repeat("0", 64)), "pin", "all zero"},
		"empty pin":          {tok.String()[:len(tok.String())-64], "pin", "0 characters"},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := Parse(tc.in)
			require.Error(t, err)
			assert.ErrorIs(t, err, ErrMalformed)
			var pe *ParseError
			require.ErrorAs(t, err, &pe)
			assert.Equal(t, tc.part, pe.Part)
			assert.Contains(t, pe.Reason, tc.says)
			assert.NotContains(t, err.Error(), secret[:8], "never echoes the secret")
			assert.True(t, strings.HasPrefix(err.Error(), "malformed join token: "+tc.part+": "), err.Error())
		})
	}
}

// nonCanonical is a base64url character with the same top 2 bits as c
// but other low bits: the last character of 32 bytes carries 2 bits and 4
// that must be zero.
func nonCanonical(c byte) string {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	i := strings.IndexByte(alphabet, c)
	return string(alphabet[i|1])
}

func TestCheckID(t *testing.T) {
	require.NoError(t, CheckID(newToken(t, testPin).ID))
	require.NoError(t, CheckID("0a1b2c3d"))
	for _, id := range []string{"", "0a1b2c3", "0a1b2c3d0", "0A1B2C3D", "ghijklmn", "0a1b2c3\x00"} {
		assert.ErrorIs(t, CheckID(id), ErrMalformed, id)
	}
}

func TestHash(t *testing.T) {
	tok := newToken(t, testPin)
	h := tok.Hash()
	assert.Equal(t, sha256.Sum256(tok.secret[:]), [32]byte(h), "SHA-256 of the secret")
	assert.True(t, tok.Matches(h))
	assert.False(t, newToken(t, testPin).Matches(h))
	assert.False(t, tok.Matches(Hash{}), "nothing stored matches nothing")

	noPin := tok
	noPin.Pin = pki.Pin{}
	assert.Equal(t, h, noPin.Hash(), "the secret alone: the pin is public")

	assert.NotContains(t, h.String(), secretOf(t, tok))
	assert.Regexp(t, `^[0-9a-f]{64}$`, h.String())
	back, err := ParseHash(h.String())
	require.NoError(t, err)
	assert.Equal(t, h, back)

	b, err := json.Marshal(map[string]Hash{"hash": h})
	require.NoError(t, err)
	assert.JSONEq(t, `{"hash":"`+h.String()+`"}`, string(b))
	var m map[string]Hash
	require.NoError(t, json.Unmarshal(b, &m))
	assert.Equal(t, h, m["hash"])

	for _, bad := range []string{"", h.String()[:63], h.String() + "0", strings.Repeat("z", 64)} {
		_, err := ParseHash(bad)
		assert.ErrorContains(t, err, "join token hash", bad)
	}
	assert.Error(t, json.Unmarshal([]byte(`{"hash":"00"}`), &m))
}
