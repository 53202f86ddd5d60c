package coordinator_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/portolan/portolan/registry"
	"github.com/portolan/portolan/registry/client"
)

// Usage batch ids across credential and token rotations: home records a
// batch id within the join token its sender registered with, and counts a
// batch sent again once whichever credential or token sends it.

// newsToken creates a join token for the news service.
func newsToken(t *testing.T, base string) *registry.JoinTokenCreated {
	t.Helper()
	admin, err := client.New(client.Config{Address: base, Token: usageAdminToken})
	require.NoError(t, err)
	tok, err := admin.CreateJoinToken(context.Background(), &registry.JoinTokenSpec{Service: "news"})
	require.NoError(t, err)
	return tok
}

// registerWith registers instance id of service with the join token tok and
// returns its credential.
func registerWith(t *testing.T, base, tok, service, id string) string {
	t.Helper()
	c, err := client.New(client.Config{Address: base, Token: tok})
	require.NoError(t, err)
	reply, err := c.Register(context.Background(), id, &registry.Registration{Service: service, Address: "127.0.0.1", Port: 8080})
	require.NoError(t, err)
	return reply.Credential
}

// An instance's credential changes at every registration (after home
// restarted, or forgot the instance); the batch whose reply it lost, sent
// again under the new credential, is counted once: the token it registered
// with is the same.
func TestBatchSentAgainUnderANewCredentialCountsOnce(t *testing.T) {
	h := newUsageHome(t)
	minute := time.Now().Unix() / 60
	tok := newsToken(t, h.url)
	batch := registry.UsageBatch{ID: "news-a-1", Instance: "news-a", ServiceID: h.service, SentWith: []string{tok.ID},
		Entries: []registry.UsageEntry{{ApplicationID: h.app, MetricID: h.hits, Minute: minute, Delta: 2}}}
	code, reply, out := postBatch(t, h.url, registerWith(t, h.url, tok.Token, "news", "news-a"), batch)
	require.Equal(t, http.StatusOK, code, out)
	require.False(t, reply.Duplicate)

	again := registerWith(t, h.url, tok.Token, "news", "news-a")
	batch.SentWith = nil // as an older agent sends it
	code, reply, out = postBatch(t, h.url, again, batch)
	require.Equal(t, http.StatusOK, code, out)
	assert.True(t, reply.Duplicate, "the same batch under the new credential")
	v, _ := totalOf(reply, h.app, h.hits, "day")
	assert.EqualValues(t, 2, v)
}

// An operator rotates a join token: a new one made, the old one revoked.
// The next incarnation of a container, on the same cache dir and
// registered with the new token, sends again a batch the one before
// applied under the old token (its reply was lost), naming both tokens
// (registry.UsageBatch.SentWith): it is counted once, home having
// restarted in between or not. A batch the old incarnation never sent is
// counted, and its own retry then is a duplicate.
func TestBatchSentAgainAfterATokenRotationCountsOnceAtHome(t *testing.T) {
	h := newUsageHome(t)
	minute := time.Now().Unix() / 60
	entries := []registry.UsageEntry{{ApplicationID: h.app, MetricID: h.hits, Minute: minute, Delta: 3}}
	a := newsToken(t, h.url)
	code, reply, out := postBatch(t, h.url, registerWith(t, h.url, a.Token, "news", "news-one"),
		registry.UsageBatch{ID: "news-one-1", Instance: "news-one", ServiceID: h.service, SentWith: []string{a.ID}, Entries: entries})
	require.Equal(t, http.StatusOK, code, out)
	require.False(t, reply.Duplicate)

	b := newsToken(t, h.url)
	admin, err := client.New(client.Config{Address: h.url, Token: usageAdminToken})
	require.NoError(t, err)
	require.NoError(t, admin.RevokeJoinToken(context.Background(), a.ID))
	h.stop()
	h.url, h.stop = startUsageHome(t, h.dir)

	next := registerWith(t, h.url, b.Token, "news", "news-two")
	code, reply, out = postBatch(t, h.url, next,
		registry.UsageBatch{ID: "news-one-1", Instance: "news-one", ServiceID: h.service, SentWith: []string{a.ID, b.ID}, Entries: entries})
	require.Equal(t, http.StatusOK, code, out)
	assert.True(t, reply.Duplicate, "applied under the old token already")
	v, _ := totalOf(reply, h.app, h.hits, "day")
	assert.EqualValues(t, 3, v, "counted once")

	never := registry.UsageBatch{ID: "news-one-2", Instance: "news-one", ServiceID: h.service, SentWith: []string{a.ID, b.ID}, Entries: entries}
	code, reply, out = postBatch(t, h.url, next, never)
	require.Equal(t, http.StatusOK, code, out)
	assert.False(t, reply.Duplicate, "never applied: counted")
	code, reply, out = postBatch(t, h.url, next, never)
	require.Equal(t, http.StatusOK, code, out)
	assert.True(t, reply.Duplicate, "and once")
	v, _ = totalOf(reply, h.app, h.hits, "day")
	assert.EqualValues(t, 6, v)
}

// Naming another token in SentWith makes home look a batch id up in that
// token's space, never record it there: an instance of another service
// that sends a victim's next ids naming the victim's token claims nothing,
// and the victim's batches count. At worst the sender's own usage is left
// out, which it could do by not sending it.
func TestSentWithCannotClaimAnotherTokensIDs(t *testing.T) {
	h := newUsageHome(t)
	minute := time.Now().Unix() / 60
	victimTok := newsToken(t, h.url)
	victim := registerWith(t, h.url, victimTok.Token, "news", "news-v")
	attacker := registerWithJoinToken(t, h.url, "other", "other-x")

	for _, id := range []string{"news-v-1", "news-v-2"} {
		code, _, out := postBatch(t, h.url, attacker, registry.UsageBatch{ID: id, Instance: "other-x", ServiceID: h.other,
			SentWith: []string{victimTok.ID}, Entries: []registry.UsageEntry{{ApplicationID: h.otherServiceApp, MetricID: h.otherServiceHits, Minute: minute, Delta: 1}}})
		require.Equal(t, http.StatusOK, code, out)
	}
	code, reply, out := postBatch(t, h.url, victim, registry.UsageBatch{ID: "news-v-1", Instance: "news-v", ServiceID: h.service,
		SentWith: []string{victimTok.ID}, Entries: []registry.UsageEntry{{ApplicationID: h.app, MetricID: h.hits, Minute: minute, Delta: 4}}})
	require.Equal(t, http.StatusOK, code, out)
	assert.False(t, reply.Duplicate, "the attacker's batch was recorded in the victim's token's space")
	v, _ := totalOf(reply, h.app, h.hits, "day")
	assert.EqualValues(t, 4, v)

	// Naming the victim's token for an id the victim applied keeps only
	// the attacker's own usage out.
	code, reply, out = postBatch(t, h.url, attacker, registry.UsageBatch{ID: "news-v-1", Instance: "other-x", ServiceID: h.other,
		SentWith: []string{victimTok.ID}, Entries: []registry.UsageEntry{{ApplicationID: h.otherServiceApp, MetricID: h.otherServiceHits, Minute: minute, Delta: 50}}})
	require.Equal(t, http.StatusOK, code, out)
	assert.True(t, reply.Duplicate)
	v, _ = totalOf(reply, h.otherServiceApp, h.otherServiceHits, "day")
	assert.LessOrEqual(t, v, int64(2), "the attacker's 50 are not counted")
	_, reply, _ = postBatch(t, h.url, victim, registry.UsageBatch{ID: "news-v-2", Instance: "news-v", ServiceID: h.service,
		Entries: []registry.UsageEntry{{ApplicationID: h.app, MetricID: h.hits, Minute: minute, Delta: 1}}})
	assert.False(t, reply.Duplicate)
	v, _ = totalOf(reply, h.app, h.hits, "day")
	assert.EqualValues(t, 5, v, "the victim's usage is all counted")
}

// SentWith is a short list of join token ids: anything else is refused
// (422) before anything is looked up.
func TestSentWithIsBounded(t *testing.T) {
	h := newUsageHome(t)
	minute := time.Now().Unix() / 60
	tok := newsToken(t, h.url)
	cred := registerWith(t, h.url, tok.Token, "news", "news-b")
	entries := []registry.UsageEntry{{ApplicationID: h.app, MetricID: h.hits, Minute: minute, Delta: 1}}
	nine := make([]string, registry.MaxSentWith+1)
	for name, sent := range map[string][]string{
		"too many":      nine,
		"not an id":     {"ZZ"},
		"a control":     {"0123456\x00"},
		"a long string": {tok.ID + tok.ID},
	} {
		code, _, out := postBatch(t, h.url, cred, registry.UsageBatch{ID: "news-b-1", Instance: "news-b", ServiceID: h.service, SentWith: sent, Entries: entries})
		assert.Equal(t, http.StatusUnprocessableEntity, code, "%s: %s", name, out)
		assert.Contains(t, out, "sent_with", name)
	}
	code, reply, out := postBatch(t, h.url, cred, registry.UsageBatch{ID: "news-b-1", Instance: "news-b", ServiceID: h.service,
		SentWith: []string{"", tok.ID}, Entries: entries})
	require.Equal(t, http.StatusOK, code, out)
	assert.False(t, reply.Duplicate, "nothing of the refused ones was kept")
}
