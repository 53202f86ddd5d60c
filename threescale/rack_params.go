package threescale

import (
	"net/url"
	"strings"
)

// How porta and apisonator read a repeated parameter, in one place for the
// three APIs. Both read their parameters with Rack (Rack::Request#params,
// query_parser.rb's normalize_params): a plain name repeated takes its last
// value ("x=0&x=1" is "1": a Rails form's hidden "0" before a ticked
// checkbox's "1"), only a name ending in "[]" collects every value, and a
// body's value wins over the query string's. That is apisonator's (Sinatra:
// Rack's GET.merge(POST)) and that of porta's controllers that wrap their
// parameters (services, metrics, plans: wrap_parameters builds the entity's
// hash from the body alone); porta's flat-params controllers (an account's
// update) merge the query over the body instead, which Portolan does not
// tell apart: a client sends a field in one place or the other.

// rackValue is the value Rack reads from a name's values: the last one.
func rackValue(vs []string) (string, bool) {
	if len(vs) == 0 {
		return "", false
	}
	return vs[len(vs)-1], true
}

// rackParams merges a call's query and form body as Rack reads them: a
// repeated name takes its last value (rackValue) and the body's value wins
// over the query's; only a name ending in "[]" is an array, every value
// kept. usage[hits]=1&usage[hits]=5 reports 5 and user_key=a&user_key=b
// names b, in apisonator as here; granularity=day&granularity=month asks
// porta's Analytics API for months.
func rackParams(query, body url.Values) url.Values {
	out := make(url.Values, len(query)+len(body))
	for _, vs := range []url.Values{query, body} {
		for k, v := range vs {
			last, ok := rackValue(v)
			if !ok {
				continue
			}
			if !strings.HasSuffix(k, "[]") {
				v = []string{last}
			}
			out[k] = v
		}
	}
	return out
}
