package coordinator_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/portolan/portolan/composition"
	"github.com/portolan/portolan/internal/testenv"
	"github.com/portolan/portolan/manifest"
	"github.com/portolan/portolan/registry"
	"github.com/portolan/portolan/registry/client"
)

// imageDocs is the documents of an image of service news at version, its
// basic plan limited to limit hits a day, plus extra documents.
func imageDocs(t *testing.T, service string, version, limit int, extra string) []manifest.Document {
	t.Helper()
	return imageDocsFrom(t, imageSource(service, version, limit, extra))
}

// imageSource is the YAML of imageDocs.
func imageSource(service string, version, limit int, extra string) string {
	return fmt.Sprintf(`apiVersion: portolan.dev/v1
kind: Service
system_name: %s
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
%s`, service, version, limit, extra)
}

// imageDocsFrom decodes an image's documents.
func imageDocsFrom(t *testing.T, src string) []manifest.Document {
	t.Helper()
	docs, err := manifest.Decode(strings.NewReader(src), "image.yaml")
	require.NoError(t, err)
	return docs
}

// registeredWith registers an instance of service with token and returns
// the client speaking as it.
func registeredWith(t *testing.T, co *testenv.Coordinator, token, service string) (*client.Client, string) {
	t.Helper()
	home, err := client.New(client.Config{Address: co.URL, Token: token})
	require.NoError(t, err)
	id := service + "-" + strings.ReplaceAll(t.Name(), "/", "_")
	_, err = home.Register(context.Background(), id, &registry.Registration{Service: service, Address: "10.0.0.1", Port: 8080})
	require.NoError(t, err)
	return home, id
}

func scopedToken(t *testing.T, co *testenv.Coordinator, service string) string {
	t.Helper()
	admin, err := client.New(client.Config{Address: co.URL, Token: co.Token})
	require.NoError(t, err)
	created, err := admin.CreateJoinToken(context.Background(), &registry.JoinTokenSpec{Service: service})
	require.NoError(t, err)
	return created.Token
}

// exported is home's composition, as export writes it.
func exported(t *testing.T, co *testenv.Coordinator) *composition.Document {
	t.Helper()
	admin, err := client.New(client.Config{Address: co.URL, Token: co.Token})
	require.NoError(t, err)
	b, err := admin.ExportComposition(context.Background(), false)
	require.NoError(t, err)
	var doc composition.Document
	require.NoError(t, json.Unmarshal(b, &doc))
	return &doc
}

// TestImageDocumentsApplyUnderTheVersionRule: the first apply creates the
// service with its plans and records version 1; the same documents again
// are a no-op without a revision; the same version with other content is a
// 409 that writes nothing; a higher version applies once; a lower one is a
// no-op.
func TestImageDocumentsApplyUnderTheVersionRule(t *testing.T) {
	co := testenv.StartCoordinator(t)
	home, id := registeredWith(t, co, scopedToken(t, co, "news"), "news")
	ctx := context.Background()

	reply, err := home.BringComposition(ctx, id, imageDocs(t, "news", 1, 100, ""))
	require.NoError(t, err)
	assert.Equal(t, composition.ManagedApply, reply.Outcome)
	assert.NotEmpty(t, reply.Changes, "the first apply creates the service")
	rev := co.Revision(t)
	assert.Equal(t, rev, reply.Revision)
	doc := exported(t, co)
	require.Len(t, doc.Services, 1)
	require.NotNil(t, doc.Services[0].Managed, "the service records its owner")
	assert.Equal(t, composition.Managed{By: "image", Version: 1, Digest: doc.Services[0].Managed.Digest}, *doc.Services[0].Managed)
	require.Len(t, doc.ApplicationPlans, 1)
	require.Len(t, doc.UsageLimits, 1)
	assert.EqualValues(t, 100, doc.UsageLimits[0].Value)

	reply, err = home.BringComposition(ctx, id, imageDocs(t, "news", 1, 100, ""))
	require.NoError(t, err)
	assert.Equal(t, composition.ManagedUnchanged, reply.Outcome)
	assert.Equal(t, rev, co.Revision(t), "the same documents again make no revision")

	_, err = home.BringComposition(ctx, id, imageDocs(t, "news", 1, 999, ""))
	assert.Equal(t, http.StatusConflict, client.StatusCode(err), "same version, other content: %v", err)
	assert.Equal(t, rev, co.Revision(t), "a conflict writes nothing")
	co.Output.Contains(t, "image documents conflict") // home logs the conflict

	reply, err = home.BringComposition(ctx, id, imageDocs(t, "news", 2, 200, ""))
	require.NoError(t, err)
	assert.Equal(t, composition.ManagedApply, reply.Outcome)
	assert.Equal(t, rev+1, co.Revision(t), "v2 is one revision")
	doc = exported(t, co)
	assert.EqualValues(t, 2, doc.Services[0].Managed.Version)
	require.Len(t, doc.UsageLimits, 1)
	assert.EqualValues(t, 200, doc.UsageLimits[0].Value)

	reply, err = home.BringComposition(ctx, id, imageDocs(t, "news", 1, 100, ""))
	require.NoError(t, err)
	assert.Equal(t, composition.ManagedOlder, reply.Outcome)
	assert.EqualValues(t, 2, reply.StoredVersion)
	assert.Equal(t, rev+1, co.Revision(t), "an older version changes nothing")

	// Drift: a change made at home through the API stays through the same
	// version's re-apply, and only a newer version overwrites it.
	lim := doc.UsageLimits[0]
	code, body := status(t, http.MethodPut, fmt.Sprintf("%s/admin/api/application_plans/%d/metrics/%d/limits/%d.json",
		co.URL, lim.PlanID, lim.MetricID, lim.ID), co.Token, url.Values{"value": {"300"}})
	require.Equal(t, http.StatusOK, code, body)
	reply, err = home.BringComposition(ctx, id, imageDocs(t, "news", 2, 200, ""))
	require.NoError(t, err)
	assert.Equal(t, composition.ManagedUnchanged, reply.Outcome)
	doc = exported(t, co)
	assert.EqualValues(t, 300, doc.UsageLimits[0].Value, "the same version keeps home's change")
	assert.EqualValues(t, 2, doc.Services[0].Managed.Version, "an API change keeps the service's owner")
	reply, err = home.BringComposition(ctx, id, imageDocs(t, "news", 3, 200, ""))
	require.NoError(t, err)
	assert.Equal(t, composition.ManagedApply, reply.Outcome)
	assert.EqualValues(t, 200, exported(t, co).UsageLimits[0].Value, "a newer version overwrites the drift")
}

// TestImageDocumentsRefusedOutsideTheTokensScope: an instance may bring
// only its own service's Service and Backend documents, and only with a
// join token scoped to that service; refusals are 403 and write nothing.
func TestImageDocumentsRefusedOutsideTheTokensScope(t *testing.T) {
	co := testenv.StartCoordinator(t)
	ctx := context.Background()
	rev := co.Revision(t)

	t.Run("token of another service", func(t *testing.T) {
		home, id := registeredWith(t, co, scopedToken(t, co, "other"), "other")
		_, err := home.BringComposition(ctx, id, imageDocs(t, "news", 1, 100, ""))
		assert.Equal(t, http.StatusForbidden, client.StatusCode(err), "%v", err)
		assert.ErrorContains(t, err, `scoped to service \"other\"`)
	})
	t.Run("bootstrap token", func(t *testing.T) {
		home, id := registeredWith(t, co, testenv.AgentToken, "news")
		_, err := home.BringComposition(ctx, id, imageDocs(t, "news", 1, 100, ""))
		assert.Equal(t, http.StatusForbidden, client.StatusCode(err), "%v", err)
		assert.ErrorContains(t, err, "join token scoped to the service")
	})
	t.Run("account document", func(t *testing.T) {
		home, id := registeredWith(t, co, scopedToken(t, co, "news"), "news")
		_, err := home.BringComposition(ctx, id, imageDocs(t, "news", 1, 100, "---\napiVersion: portolan.dev/v1\nkind: Account\norg_name: ACME\n"))
		assert.Equal(t, http.StatusForbidden, client.StatusCode(err), "%v", err)
		assert.ErrorContains(t, err, "Accounts are managed at home")
	})
	t.Run("backend the service does not use", func(t *testing.T) {
		home, id := registeredWith(t, co, scopedToken(t, co, "news"), "news")
		_, err := home.BringComposition(ctx, id, imageDocs(t, "news", 1, 100,
			"---\napiVersion: portolan.dev/v1\nkind: Backend\nsystem_name: store\nname: Store\nprivate_endpoint: http://store:8080\n"))
		assert.Equal(t, http.StatusForbidden, client.StatusCode(err), "%v", err)
		assert.ErrorContains(t, err, "does not use this backend")
	})
	t.Run("no version", func(t *testing.T) {
		home, id := registeredWith(t, co, scopedToken(t, co, "news"), "news")
		_, err := home.BringComposition(ctx, id, imageDocs(t, "news", 0, 100, ""))
		assert.Equal(t, http.StatusUnprocessableEntity, client.StatusCode(err), "%v", err)
		assert.ErrorContains(t, err, "version: an image's Service document needs a version of 1 or more")
	})
	t.Run("the path of another instance", func(t *testing.T) {
		home, _ := registeredWith(t, co, scopedToken(t, co, "news"), "news")
		_, err := home.BringComposition(ctx, "someone-else", imageDocs(t, "news", 1, 100, ""))
		assert.Equal(t, http.StatusForbidden, client.StatusCode(err), "%v", err)
	})
	assert.Equal(t, rev, co.Revision(t), "nothing was written")
	assert.Empty(t, exported(t, co).Services)
}

// An image may use a backend another service uses, as home has it, but not
// bring a Backend document for it: that would let an image scoped to one
// service change where another service's traffic goes.
func TestImageMayNotChangeABackendAnotherServiceUses(t *testing.T) {
	co := testenv.StartCoordinator(t)
	ctx := context.Background()
	backend := co.Create(t, "/admin/api/backend_apis.json", "name=Payments&system_name=payments&private_endpoint=http://payments.internal:8080")
	weather := co.Create(t, "/admin/api/services.json", "name=Weather&system_name=weather")
	co.Create(t, "/admin/api/services/"+weather+"/backend_usages.json", "backend_api_id="+backend+"&path=/pay")
	rev := co.Revision(t)

	home, id := registeredWith(t, co, scopedToken(t, co, "news"), "news")
	usage := "backend_usages:\n- {backend: payments, path: /pay}\n"
	_, err := home.BringComposition(ctx, id, imageDocs(t, "news", 1, 100, usage+
		"---\napiVersion: portolan.dev/v1\nkind: Backend\nsystem_name: payments\nname: Payments\nprivate_endpoint: http://attacker.example:8080\n"))
	assert.Equal(t, http.StatusForbidden, client.StatusCode(err), "%v", err)
	assert.ErrorContains(t, err, `backend \"payments\" is used by service \"weather\" too`)
	assert.Equal(t, rev, co.Revision(t), "nothing was written")

	// Using it as home has it is fine.
	reply, err := home.BringComposition(ctx, id, imageDocs(t, "news", 1, 100, usage))
	require.NoError(t, err)
	assert.Equal(t, composition.ManagedApply, reply.Outcome)
	for _, b := range exported(t, co).BackendAPIs {
		assert.Equal(t, "http://payments.internal:8080", b.PrivateEndpoint, "the shared backend is as home had it")
	}
}

// TestImageNeverPrunesHomesPlacements: placements are home's (an image may
// not bring them), so a newer version's prune leaves those onto its service;
// a plan the image drops leaves them as deleting it through the API would
// (a placement of that plan alone goes with it).
func TestImageNeverPrunesHomesPlacements(t *testing.T) {
	co := testenv.StartCoordinator(t)
	home, id := registeredWith(t, co, scopedToken(t, co, "news"), "news")
	ctx := context.Background()
	premium := "- system_name: premium\n  name: Premium\n"
	_, err := home.BringComposition(ctx, id, imageDocs(t, "news", 1, 100, premium))
	require.NoError(t, err)
	doc := exported(t, co)
	require.Len(t, doc.ApplicationPlans, 2)
	plans := map[string]int64{}
	for _, p := range doc.ApplicationPlans {
		plans[p.SystemName] = p.ID
	}
	for _, pool := range []string{"basic", "premium"} {
		body := fmt.Sprintf(`{"name":"%s-pool","selector":{"service":"newsapi","labels":{"pool":"%s"}},"service_id":%d,"plan_ids":[%d]}`,
			pool, pool, doc.Services[0].ID, plans[pool])
		created := send(t, co, http.MethodPost, "/admin/portolan/placements", "application/json", body)
		require.Equal(t, http.StatusCreated, created.status, created.body)
	}

	_, err = home.BringComposition(ctx, id, imageDocs(t, "news", 2, 200, premium))
	require.NoError(t, err)
	var names []string
	for _, p := range exported(t, co).Placements {
		names = append(names, p.Name)
	}
	assert.ElementsMatch(t, []string{"basic-pool", "premium-pool"}, names, "a newer version keeps home's placements")

	_, err = home.BringComposition(ctx, id, imageDocs(t, "news", 3, 200, ""))
	require.NoError(t, err)
	doc = exported(t, co)
	require.Len(t, doc.Placements, 1, "the dropped plan's only placement goes with it")
	assert.Equal(t, "basic-pool", doc.Placements[0].Name)
	assert.Equal(t, []int64{plans["basic"]}, doc.Placements[0].PlanIDs)
}
