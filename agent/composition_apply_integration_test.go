package agent_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/portolan/portolan/composition"
	"github.com/portolan/portolan/internal/testenv"
	"github.com/portolan/portolan/registry"
	"github.com/portolan/portolan/registry/client"
)

// imageDir writes the documents an image of service news carries at
// version, its basic plan limited to limit hits a day, and returns their
// directory.
func imageDir(t *testing.T, version, limit int, extra string) string {
	t.Helper()
	dir := t.TempDir()
	src := fmt.Sprintf(`apiVersion: portolan.dev/v1
kind: Service
system_name: news
name: News
version: %d
metrics:
- system_name: hits
  methods:
  - {system_name: list_articles, friendly_name: List articles}
mapping_rules:
- {http_method: GET, pattern: /articles, metric: list_articles, delta: 1}
plans:
- system_name: basic
  name: Basic
  limits:
  - {metric: hits, period: day, value: %d}
%s`, version, limit, extra)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "news.yaml"), []byte(src), 0o644))
	return dir
}

// startImage starts an agent of service news bringing the documents of dir
// with token.
func startImage(t *testing.T, co *testenv.Coordinator, token, dir string) *testenv.Agent {
	t.Helper()
	return testenv.StartAgent(t, co, "--token", token, "--service", "news", "--composition", dir,
		"--heartbeat", "200ms", "--ttl", "1s", "--", "sleep", "30")
}

// logged waits until the agent's output says want.
func logged(t *testing.T, a *testenv.Agent, want string) {
	t.Helper()
	require.Eventually(t, func() bool { return strings.Contains(a.Output.String(), want) },
		10*time.Second, 20*time.Millisecond, "the agent logs %q:\n%s", want, a.Output.String())
}

// homeComposition is home's composition as export writes it.
func homeComposition(t *testing.T, co *testenv.Coordinator) *composition.Document {
	t.Helper()
	admin, err := client.New(client.Config{Address: co.URL, Token: co.Token})
	require.NoError(t, err)
	b, err := admin.ExportComposition(context.Background(), false)
	require.NoError(t, err)
	var doc composition.Document
	require.NoError(t, json.Unmarshal(b, &doc))
	return &doc
}

// dayLimit is the one limit of home's composition.
func dayLimit(t *testing.T, co *testenv.Coordinator) int64 {
	t.Helper()
	doc := homeComposition(t, co)
	require.Len(t, doc.UsageLimits, 1)
	return doc.UsageLimits[0].Value
}

// TestReplicasOfOneImageApplyOnceAndANewerImageConvergesOnce: two agents of
// one image make one revision with the image's plans, and the instances are
// placed in them; an agent of version 2 applies once; one of version 1
// started afterwards changes nothing.
func TestReplicasOfOneImageApplyOnceAndANewerImageConvergesOnce(t *testing.T) {
	co := testenv.StartCoordinator(t)
	tok := createJoinToken(t, co, registry.JoinTokenSpec{Service: "news"}).Token
	before := co.Revision(t)
	v1 := imageDir(t, 1, 100, "")

	a := startImage(t, co, tok, v1)
	logged(t, a, "home applied this image's composition")
	rev := co.Revision(t)
	assert.Equal(t, before+1, rev, "the image's documents are one revision")
	doc := homeComposition(t, co)
	require.Len(t, doc.ApplicationPlans, 1, "the image brought its plan")
	assert.Equal(t, "basic", doc.ApplicationPlans[0].SystemName)
	assert.EqualValues(t, 100, dayLimit(t, co))
	require.Eventually(t, func() bool {
		s, ok := a.Self()
		if !ok {
			return false
		}
		p, _ := s["placement"].(map[string]any)
		plans, _ := p["plans"].([]any)
		return p["service"] == "news" && len(plans) == 1
	}, 5*time.Second, 20*time.Millisecond, "the instance is placed in the plans its image brought")

	b := startImage(t, co, tok, v1)
	logged(t, b, "home already has this image's composition")
	assert.Equal(t, rev, co.Revision(t), "a second replica makes no revision")

	v2 := startImage(t, co, tok, imageDir(t, 2, 200, ""))
	logged(t, v2, "home applied this image's composition")
	assert.Equal(t, rev+1, co.Revision(t), "version 2 is one revision")
	assert.EqualValues(t, 200, dayLimit(t, co))

	late := startImage(t, co, tok, v1)
	logged(t, late, "home has a newer version of this service's composition: it stays")
	assert.Equal(t, rev+1, co.Revision(t), "an older image changes nothing")
	assert.EqualValues(t, 200, dayLimit(t, co))
}

// TestImageOfTheSameVersionWithOtherContentIsAConflict: home refuses it and
// writes nothing; the agent logs it and keeps running.
func TestImageOfTheSameVersionWithOtherContentIsAConflict(t *testing.T) {
	co := testenv.StartCoordinator(t)
	tok := createJoinToken(t, co, registry.JoinTokenSpec{Service: "news"}).Token
	a := startImage(t, co, tok, imageDir(t, 1, 100, ""))
	logged(t, a, "home applied this image's composition")
	rev := co.Revision(t)

	b := startImage(t, co, tok, imageDir(t, 1, 999, ""))
	logged(t, b, "same version with other content")
	assert.Equal(t, rev, co.Revision(t), "a conflict writes nothing")
	assert.EqualValues(t, 100, dayLimit(t, co))
	s, ok := b.Self()
	require.True(t, ok, "the agent keeps running")
	assert.Equal(t, true, s["registered"])
}

// TestImageWithAnUnscopedTokenIsRefused: an agent registered with the
// bootstrap token may not bring documents; it keeps running.
func TestImageWithAnUnscopedTokenIsRefused(t *testing.T) {
	co := testenv.StartCoordinator(t)
	rev := co.Revision(t)
	a := startImage(t, co, testenv.AgentToken, imageDir(t, 1, 100, ""))
	logged(t, a, "a join token scoped to the service")
	assert.Equal(t, rev, co.Revision(t))
	assert.Empty(t, homeComposition(t, co).Services)
	_, ok := a.Self()
	assert.True(t, ok, "the agent keeps running")
}

// TestImageDocumentsCheckedAtStart: documents of another service than
// --service, or of a kind an image may not bring, or not valid, stop the
// agent at start with an error naming the document.
func TestImageDocumentsCheckedAtStart(t *testing.T) {
	co := testenv.StartCoordinator(t)
	for name, c := range map[string]struct{ dir, want string }{
		"account": {imageDir(t, 1, 100, "---\napiVersion: portolan.dev/v1\nkind: Account\norg_name: ACME\n"),
			`document 2 (Account "ACME"): an image brings Service and Backend documents only`},
		"invalid": {imageDir(t, 1, 100, "---\napiVersion: portolan.dev/v1\nkind: Backend\nsystem_name: store\n"),
			`document 2 (Backend "store"): name`},
	} {
		t.Run(name, func(t *testing.T) {
			a := startImage(t, co, testenv.AgentToken, c.dir)
			code, exited := a.Wait(10 * time.Second)
			require.True(t, exited, "the agent stops at start:\n%s", a.Output.String())
			assert.Equal(t, 2, code)
			assert.Contains(t, a.Output.String(), c.want)
		})
	}
	t.Run("another service", func(t *testing.T) {
		a := testenv.StartAgent(t, co, "--service", "other", "--composition", imageDir(t, 1, 100, ""), "--", "sleep", "30")
		code, exited := a.Wait(10 * time.Second)
		require.True(t, exited, "the agent stops at start:\n%s", a.Output.String())
		assert.Equal(t, 2, code)
		assert.Contains(t, a.Output.String(), `Service "news" is not --service "other"`)
	})
}

// TestImageDocumentsBroughtWhenHomeComesBack: with home down the agent runs
// its command and retries; once home is back it brings its documents.
func TestImageDocumentsBroughtWhenHomeComesBack(t *testing.T) {
	co := testenv.StartCoordinator(t)
	tok := createJoinToken(t, co, registry.JoinTokenSpec{Service: "news"}).Token
	co.Stop()
	a := startImage(t, co, tok, imageDir(t, 1, 100, ""))
	a.ID() // the agent serves without home
	co.Start()
	logged(t, a, "home applied this image's composition")
	assert.EqualValues(t, 100, dayLimit(t, co))
}
