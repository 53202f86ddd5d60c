package threescale_test

import (
	"net/http"
	"net/url"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/portolan/portolan/internal/testenv"
)

// ruleOrder lists the ids and positions of the rules at base as the API
// lists them: a product's by position, the order the gateway takes them
// in, a backend's by id.
func ruleOrder(t *testing.T, co *testenv.Coordinator, base string) (ids, positions []int64) {
	t.Helper()
	var list struct {
		MappingRules []struct {
			MappingRule struct {
				ID       int64 `json:"id"`
				Position int64 `json:"position"`
			} `json:"mapping_rule"`
		} `json:"mapping_rules"`
	}
	decodeCall(t, co, http.MethodGet, base+".json", nil, http.StatusOK, &list)
	for _, r := range list.MappingRules {
		ids = append(ids, r.MappingRule.ID)
		positions = append(positions, r.MappingRule.Position)
	}
	return ids, positions
}

// Mapping rules keep a list, as porta's acts_as_list (add_new_at: :bottom)
// keeps proxy rules: a new rule without a position goes after the last one
// whatever positions the others have; a rule created at a position, or
// moved to one, moves the others down (or up, when it moves down the list),
// so the order asked for is the order the gateway matches in, never a tie
// broken by age.
func TestMappingRulePositionsKeepAList(t *testing.T) {
	co := testenv.StartCoordinator(t)
	svc := co.Create(t, "/admin/api/services.json", "name=Ruled&system_name=ruled")
	hits := s64(productHits(t, co.Client(t), mustID(t, svc)))
	base := "/admin/api/services/" + svc + "/proxy/mapping_rules"
	create := func(pattern, position string) int64 {
		form := url.Values{"http_method": {"GET"}, "pattern": {pattern}, "metric_id": {hits}}
		if position != "" {
			form.Set("position", position)
		}
		return mustID(t, co.Create(t, base+".json", form.Encode()))
	}
	a := create("/a", "")
	b := create("/b", "5")
	c := create("/c", "") // after b, not between a and b
	d := create("/d", "1")
	ids, positions := ruleOrder(t, co, base)
	assert.Equal(t, []int64{d, a, b, c}, ids)
	assert.Equal(t, []int64{1, 2, 6, 7}, positions)

	// Moved up: the rules it passes move down.
	status, body := formCall(t, co, http.MethodPut, base+"/"+s64(c)+".json", url.Values{"position": {"2"}})
	assert.Equal(t, http.StatusOK, status, "%s", body)
	ids, positions = ruleOrder(t, co, base)
	assert.Equal(t, []int64{d, c, a, b}, ids)
	assert.Equal(t, []int64{1, 2, 3, 7}, positions)

	// Moved down: the rules it passes move up.
	status, body = formCall(t, co, http.MethodPut, base+"/"+s64(d)+".json", url.Values{"position": {"3"}})
	assert.Equal(t, http.StatusOK, status, "%s", body)
	ids, positions = ruleOrder(t, co, base)
	assert.Equal(t, []int64{c, a, d, b}, ids)
	assert.Equal(t, []int64{1, 2, 3, 7}, positions)

	// Backend rules keep their own list (porta lists them by id).
	backend := co.Create(t, "/admin/api/backend_apis.json", "name=Store&private_endpoint=http://127.0.0.1:9")
	var metrics struct {
		Metrics []struct {
			Metric struct{ ID int64 } `json:"metric"`
		} `json:"metrics"`
	}
	decodeCall(t, co, http.MethodGet, "/admin/api/backend_apis/"+backend+"/metrics.json", nil, http.StatusOK, &metrics)
	bbase := "/admin/api/backend_apis/" + backend + "/mapping_rules"
	form := url.Values{"http_method": {"GET"}, "pattern": {"/x"}, "metric_id": {s64(metrics.Metrics[0].Metric.ID)}}
	x := mustID(t, co.Create(t, bbase+".json", form.Encode()))
	form.Set("pattern", "/y")
	form.Set("position", "1")
	y := mustID(t, co.Create(t, bbase+".json", form.Encode()))
	ids, positions = ruleOrder(t, co, bbase)
	assert.Equal(t, []int64{x, y}, ids)
	assert.Equal(t, []int64{2, 1}, positions)
	_, positions = ruleOrder(t, co, base)
	assert.Equal(t, []int64{1, 2, 3, 7}, positions, "the product's rules did not move")
}
