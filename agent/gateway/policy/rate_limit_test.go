package policy

import (
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/portolan/portolan/composition"
)

func rateLimitForTest(t *testing.T, conf string) (*Chain, *Env) {
	t.Helper()
	env := &Env{ServiceID: 7, Log: zerolog.Nop(), Metrics: NewMetrics(prometheus.NewRegistry()), Shared: &Shared{}}
	c, err := Build([]composition.PolicyConfig{{Name: "rate_limit", Enabled: true, Configuration: json.RawMessage(conf)}}, nil, env)
	require.NoError(t, err)
	return c, env
}

// "`{{ jwt.sub }}` to limit by the `sub` claim of a jwt": each subject has
// its own count.
func TestRateLimitKeyByJWTClaim(t *testing.T) {
	c, _ := rateLimitForTest(t, `{"fixed_window_limiters":[{"key":{"name":"{{ jwt.sub }}","name_type":"liquid"},"count":1,"window":60}]}`)
	serve := func(sub string) int {
		w := httptest.NewRecorder()
		var ctx Context
		c.Acquire(&ctx, w, httptest.NewRequest("GET", "/", nil))
		ctx.JWT = map[string]any{"sub": sub}
		c.Serve(&ctx, ForwarderFunc(func(ctx *Context) { ctx.W.WriteHeader(200) }))
		return w.Code
	}
	assert.Equal(t, 200, serve("abc"))
	assert.Equal(t, 429, serve("abc"), "abc's second request in the window")
	assert.Equal(t, 200, serve("xyz"), "another subject counts apart")
}

// The schema's constraints, each error naming its field.
func TestRateLimitConfigErrorsNameTheField(t *testing.T) {
	for conf, field := range map[string]string{
		`{"fixed_window_limiters":[{"count":1,"window":1}]}`:                                                                                           "fixed_window_limiters[0].key",
		`{"fixed_window_limiters":[{"key":{"name":"a"},"window":1}]}`:                                                                                  "fixed_window_limiters[0].count",
		`{"fixed_window_limiters":[{"key":{"name":"a"},"count":1,"window":-1}]}`:                                                                       "fixed_window_limiters[0].window",
		`{"fixed_window_limiters":[{"key":{"name":"a","scope":"cluster"},"count":1,"window":1}]}`:                                                      "fixed_window_limiters[0].key.scope",
		`{"fixed_window_limiters":[{"key":{"name":"a","name_type":"lua"},"count":1,"window":1}]}`:                                                      "fixed_window_limiters[0].key.name_type",
		`{"leaky_bucket_limiters":[{"key":{"name":"a"},"rate":0}]}`:                                                                                    "leaky_bucket_limiters[0].rate",
		`{"leaky_bucket_limiters":[{"key":{"name":"a"},"rate":1,"burst":-1}]}`:                                                                         "leaky_bucket_limiters[0].burst",
		`{"connection_limiters":[{"key":{"name":"a"},"conn":1,"delay":0}]}`:                                                                            "connection_limiters[0].delay",
		`{"connection_limiters":[{"key":{"name":"a"},"delay":1}]}`:                                                                                     "connection_limiters[0].conn",
		`{"limits_exceeded_error":{"error_handling":"drop"}}`:                                                                                          "limits_exceeded_error.error_handling",
		`{"configuration_error":{"status_code":0}}`:                                                                                                    "configuration_error.status_code",
		`{"fixed_window_limiters":[{"key":{"name":"a"},"count":1,"window":1,"condition":{"combine_op":"xor"}}]}`:                                       "fixed_window_limiters[0].condition.combine_op",
		`{"fixed_window_limiters":[{"key":{"name":"a"},"count":1,"window":1,"condition":{"operations":[{"left":"a","op":"<","right":"b"}]}}]}`:         "fixed_window_limiters[0].condition.operations[0].op",
		`{"fixed_window_limiters":[{"key":{"name":"a"},"count":1,"window":1,"condition":{"operations":[{"left":"a","op":"matches","right":"(?<"}]}}]}`: "fixed_window_limiters[0].condition.operations[0].right",
		`{"fixed_window_limiters":[{"key":{"name":"a"},"count":"1","window":1}]}`:                                                                      "count",
		// home counts a cluster-wide window for 366 days at most
		`{"fixed_window_limiters":[{"key":{"name":"a","scope":"global"},"count":1,"window":31622401}]}`: "fixed_window_limiters[0].window",
	} {
		_, err := newRateLimit(json.RawMessage(conf), &Env{Log: zerolog.Nop()})
		var fe *FieldError
		if assert.ErrorAs(t, err, &fe, conf) {
			assert.Contains(t, fe.Field, field, conf)
		}
	}
}

// A cluster-wide window (scope global, or redis_url) is counted at home,
// which keeps one for 366 days at most: a longer one is refused rather than
// counted by each gateway alone; one as long is taken, and a gateway's own
// window may be longer still.
func TestRateLimitWindowsCountedAtHomeLastAYearAtMost(t *testing.T) {
	build := func(scope string, window int64) error {
		_, err := newRateLimit(json.RawMessage(fmt.Sprintf(`{"fixed_window_limiters":[{"key":{"name":"a","scope":%q},"count":1,"window":%d}]}`,
			scope, window)), &Env{Log: zerolog.Nop()})
		return err
	}
	assert.ErrorContains(t, build("global", MaxHomeWindow+1), "at most 366 days")
	assert.NoError(t, build("global", MaxHomeWindow))
	assert.NoError(t, build("service", 20_000_000_000))
}
