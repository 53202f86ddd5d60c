package coordinator_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/portolan/portolan/composition"
	"github.com/portolan/portolan/internal/testenv"
	"github.com/portolan/portolan/manifest"
	"github.com/portolan/portolan/registry"
	"github.com/portolan/portolan/registry/client"
)

// bringAtOnce registers n instances of service news at each home and has
// them all bring docs at once; it returns the outcomes and the errors.
func bringAtOnce(t *testing.T, homes []*testenv.Coordinator, n int, docs func(i int) []manifest.Document) ([]composition.ManagedOutcome, []error) {
	t.Helper()
	var clients []*client.Client
	var ids []string
	var sets [][]manifest.Document
	for h, co := range homes {
		tok := scopedToken(t, co, "news")
		for i := range n {
			home, err := client.New(client.Config{Address: co.URL, Token: tok})
			require.NoError(t, err)
			id := fmt.Sprintf("news-%s-%d-%d", strings.ReplaceAll(t.Name(), "/", "_"), h, i)
			_, err = home.Register(context.Background(), id, &registry.Registration{Service: "news", Address: "10.0.0.1", Port: 8080})
			require.NoError(t, err)
			clients, ids, sets = append(clients, home), append(ids, id), append(sets, docs(len(sets)))
		}
	}
	outcomes := make([]composition.ManagedOutcome, len(clients))
	errs := make([]error, len(clients))
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i, home := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			reply, err := home.BringComposition(context.Background(), ids[i], sets[i])
			errs[i] = err
			if err == nil {
				outcomes[i] = reply.Outcome
			}
		}()
	}
	close(start)
	wg.Wait()
	return outcomes, errs
}

// count counts the outcomes equal to want.
func count(outcomes []composition.ManagedOutcome, want composition.ManagedOutcome) int {
	n := 0
	for _, o := range outcomes {
		if o == want {
			n++
		}
	}
	return n
}

// homesToRace are one home, and two on one Consul, whose writes are
// compare-and-set: a coordinator that lost a race retries its write.
var homesToRace = map[string]func(t *testing.T) []*testenv.Coordinator{
	"one home": func(t *testing.T) []*testenv.Coordinator { return []*testenv.Coordinator{testenv.StartCoordinator(t)} },
	"two homes on one Consul": func(t *testing.T) []*testenv.Coordinator {
		consul := testenv.StartConsul(t)
		args := []string{"--consul", consul.URL, "--consul-prefix", "image-race/"}
		return []*testenv.Coordinator{testenv.StartCoordinator(t, args...), testenv.StartCoordinator(t, args...)}
	},
}

// TestReplicasBringingTheSameDocumentsAtOnceApplyOnce: many instances of one
// image starting together make one revision holding one copy of each
// entity; every other replica is told home has them already (before homes
// retried a lost race, a replica was answered 422, which its agent takes
// for a refusal and does not retry).
func TestReplicasBringingTheSameDocumentsAtOnceApplyOnce(t *testing.T) {
	for name, homes := range homesToRace {
		t.Run(name, func(t *testing.T) {
			cos := homes(t)
			before := cos[0].Revision(t)
			outcomes, errs := bringAtOnce(t, cos, 6, func(int) []manifest.Document { return imageDocs(t, "news", 1, 100, "") })
			for _, err := range errs {
				require.NoError(t, err)
			}
			assert.Equal(t, 1, count(outcomes, composition.ManagedApply), "one replica applies: %v", outcomes)
			assert.Equal(t, len(outcomes)-1, count(outcomes, composition.ManagedUnchanged), "the others find it there: %v", outcomes)
			for _, co := range cos {
				assert.Eventually(t, func() bool { return co.Revision(t) == before+1 }, 5*time.Second, 20*time.Millisecond, "one revision, seen by every home")
			}
			doc := exported(t, cos[0])
			assert.Len(t, doc.Services, 1)
			assert.Len(t, doc.ApplicationPlans, 1)
			assert.Len(t, doc.UsageLimits, 1)
			assert.Len(t, doc.MappingRules, 1)
			assert.Len(t, doc.Metrics, 2, "hits and its method, once each")
		})
	}
}

// TestImagesOfTwoVersionsAtOnceEndAtTheHigher: during a rolling update old
// and new replicas bring their documents together; whatever the order,
// home ends at the higher version, with its content, and no replica sees a
// conflict or a refusal.
func TestImagesOfTwoVersionsAtOnceEndAtTheHigher(t *testing.T) {
	for name, homes := range homesToRace {
		t.Run(name, func(t *testing.T) {
			cos := homes(t)
			before := cos[0].Revision(t)
			v := func(i int) []manifest.Document {
				if i%2 == 0 {
					return imageDocs(t, "news", 1, 100, "")
				}
				return imageDocs(t, "news", 2, 200, "")
			}
			outcomes, errs := bringAtOnce(t, cos, 4, v)
			for _, err := range errs {
				require.NoError(t, err, "no conflict between versions")
			}
			applied := count(outcomes, composition.ManagedApply)
			assert.True(t, applied == 1 || applied == 2, "v2 applies once, v1 at most once before it: %v", outcomes)
			for _, co := range cos {
				assert.Eventually(t, func() bool { return co.Revision(t) == before+uint64(applied) }, 5*time.Second, 20*time.Millisecond, "a revision per apply")
			}
			doc := exported(t, cos[0])
			require.Len(t, doc.Services, 1)
			assert.EqualValues(t, 2, doc.Services[0].Managed.Version)
			require.Len(t, doc.UsageLimits, 1)
			assert.EqualValues(t, 200, doc.UsageLimits[0].Value)
		})
	}
}

// TestImageChangesOnlyItsOwnServicesPlans: plans are named within their
// service, so an image whose plan has the system_name of another service's
// plan creates its own, and dropping it later prunes only its own.
func TestImageChangesOnlyItsOwnServicesPlans(t *testing.T) {
	co := testenv.StartCoordinator(t)
	weather := co.Create(t, "/admin/api/services.json", "name=Weather&system_name=weather")
	plan := co.Create(t, "/admin/api/services/"+weather+"/application_plans.json", "name=Basic&system_name=basic")
	home, id := registeredWith(t, co, scopedToken(t, co, "news"), "news")
	ctx := context.Background()

	_, err := home.BringComposition(ctx, id, imageDocs(t, "news", 1, 100, ""))
	require.NoError(t, err)
	_, err = home.BringComposition(ctx, id, imageDocsFrom(t, strings.Replace(imageSource("news", 2, 100, ""), "plans:\n- system_name: basic\n  name: Basic\n  limits:\n  - {metric: hits, period: day, value: 100}\n", "", 1)))
	require.NoError(t, err)
	doc := exported(t, co)
	require.Len(t, doc.ApplicationPlans, 1, "news's basic is pruned, weather's stays")
	assert.Equal(t, plan, fmt.Sprint(doc.ApplicationPlans[0].ID))
	assert.Equal(t, "Basic", doc.ApplicationPlans[0].Name)
}

// TestImageDocumentsRefusedAtHomeWriteNothing: when home refuses one
// document of a set (here a plan's system_name 3scale would not take),
// nothing of the others is written either (the new backend), and the
// refusal names the document, its kind and name, and the field.
func TestImageDocumentsRefusedAtHomeWriteNothing(t *testing.T) {
	co := testenv.StartCoordinator(t)
	home, id := registeredWith(t, co, scopedToken(t, co, "news"), "news")
	rev := co.Revision(t)
	src := imageSource("news", 1, 100, "- {system_name: \"gold plan!\", name: Gold}\nbackend_usages:\n- {backend: store, path: /store}\n") +
		"---\napiVersion: portolan.dev/v1\nkind: Backend\nsystem_name: store\nname: Store\nprivate_endpoint: http://store:8080\n"
	_, err := home.BringComposition(context.Background(), id, imageDocsFrom(t, src))
	assert.Equal(t, http.StatusUnprocessableEntity, client.StatusCode(err), "%v", err)
	assert.ErrorContains(t, err, `document 1 (Service \"news\"): plans[gold plan!].system_name: invalid`)
	assert.Equal(t, rev, co.Revision(t), "nothing was written")
	doc := exported(t, co)
	assert.Empty(t, doc.Services)
	assert.Empty(t, doc.BackendAPIs, "the backend of the refused set is not written either")
}
