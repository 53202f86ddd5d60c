package client_test

import (
	"context"
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/portolan/portolan/composition"
	"github.com/portolan/portolan/coordinator"
	"github.com/portolan/portolan/registry"
	"github.com/portolan/portolan/registry/client"
)

// The usage and admin calls are served by the coordinator, not by the
// registry's handler: these tests run a real one in-process.

const adminToken = "admin-token"

func startCoordinator(t *testing.T) string {
	t.Helper()
	co, err := coordinator.New(coordinator.Config{
		Listen: "127.0.0.1:0", DataDir: t.TempDir(), AccessToken: adminToken, AgentToken: token, Logger: zerolog.Nop(),
	})
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- co.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		<-done
	})
	return "http://" + co.Addr()
}

// newsDocument is a composition document with one service, news.
func newsDocument(t *testing.T) []byte {
	t.Helper()
	c := composition.New()
	nop := func(context.Context, []composition.Change, *composition.Composition) error { return nil }
	head := composition.NewHead(c, nop, nil)
	defer head.Close()
	snap, err := head.Update(context.Background(), func(tx *composition.Tx) error {
		return tx.Create(&composition.Service{Name: "News", SystemName: "news"})
	})
	require.NoError(t, err)
	b, err := json.Marshal(composition.Export(snap, true, time.Now()))
	require.NoError(t, err)
	return b
}

// TestExportImportAndUsage: a document imported through the admin API is
// exported back, and usage batches for its service are counted once.
func TestExportImportAndUsage(t *testing.T) {
	base := startCoordinator(t)
	admin := newClient(t, client.Config{Address: base, Token: adminToken})
	ctx := context.Background()

	answer, err := admin.ImportComposition(ctx, newsDocument(t))
	require.NoError(t, err)
	var imported struct {
		Imported int    `json:"imported"`
		Revision uint64 `json:"revision"`
	}
	require.NoError(t, json.Unmarshal(answer, &imported), string(answer))
	assert.Positive(t, imported.Imported)

	out, err := admin.ExportComposition(ctx, true)
	require.NoError(t, err)
	var doc composition.Document
	require.NoError(t, json.Unmarshal(out, &doc))
	assert.True(t, doc.Secrets)
	require.Len(t, doc.Services, 1)
	news := doc.Services[0]
	assert.Equal(t, "news", news.SystemName)

	agent := newClient(t, client.Config{Address: base, Token: token, Timeout: 5 * time.Second})
	_, err = agent.Register(ctx, "news-1", &registry.Registration{Service: "news", Address: "127.0.0.1", Port: 8080})
	require.NoError(t, err)
	// A batch with something to count (a poll, with nothing, leaves no id at home).
	now := time.Now().Unix()
	window := registry.LimiterCount{Key: "global", Start: now, Window: 3600, Value: 1} // not ending mid-test
	batch := &registry.UsageBatch{ID: "news-1-1", Instance: "news-1", ServiceID: news.ID, Entries: []registry.UsageEntry{},
		Limiters: []registry.LimiterCount{window}}
	reply, err := agent.PostUsage(ctx, batch)
	require.NoError(t, err)
	assert.False(t, reply.Duplicate)
	assert.NotNil(t, reply.Totals)
	reply, err = agent.PostUsage(ctx, batch)
	require.NoError(t, err)
	assert.True(t, reply.Duplicate, "a batch id is counted once")
	assert.Equal(t, []registry.LimiterCount{window}, reply.Limiters, "and what it carries too")

	_, err = agent.PostUsage(ctx, &registry.UsageBatch{ID: "news-1-2", ServiceID: news.ID + 1000, Entries: []registry.UsageEntry{}})
	require.Error(t, err)
	assert.Equal(t, http.StatusUnprocessableEntity, client.StatusCode(err), "a batch refused for good")
	assert.Contains(t, err.Error(), "usage batch news-1-2: home answered 422 Unprocessable Entity: ")
	assert.Contains(t, err.Error(), "unknown service")
}

// TestAdminCallsTakeTheAccessToken: the admin API refuses the agent token
// (403, as 3scale does), and the agent API the access token but for the map
// (403): both are ErrUnauthorized.
func TestAdminCallsTakeTheAccessToken(t *testing.T) {
	base := startCoordinator(t)
	ctx := context.Background()

	asAgent := newClient(t, client.Config{Address: base, Token: token})
	_, err := asAgent.ExportComposition(ctx, false)
	require.ErrorIs(t, err, client.ErrUnauthorized)
	assert.Equal(t, http.StatusForbidden, client.StatusCode(err))
	var se *client.StatusError
	require.ErrorAs(t, err, &se)
	assert.Equal(t, "GET", se.Method)
	assert.Equal(t, registry.PathAdminComposition, se.Path)

	asAdmin := newClient(t, client.Config{Address: base, Token: adminToken})
	_, err = asAdmin.PostUsage(ctx, &registry.UsageBatch{ID: "x"})
	require.ErrorIs(t, err, client.ErrUnauthorized)
	assert.Equal(t, http.StatusForbidden, client.StatusCode(err))

	_, err = asAdmin.ImportComposition(ctx, []byte(`{"format":"nope"}`))
	require.Error(t, err)
	assert.NotErrorIs(t, err, client.ErrUnauthorized)
	require.ErrorAs(t, err, &se)
	assert.Equal(t, http.MethodPost, se.Method)
	assert.GreaterOrEqual(t, se.Code, 400)
}
