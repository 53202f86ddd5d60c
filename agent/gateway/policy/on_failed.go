package policy

import (
	"encoding/json"
	"net/http"

	"github.com/portolan/portolan/composition"
)

// onFailedPolicy is APIcast's "on_failed" policy: "When a policy fails,
// this policy allows to set an error message back to the user and stop
// processing the request to the upstream API" (manifest); its README:
// "When any policy fails, this policy block the request and send back a
// given status code to the user". error_status_code, "Status code that will
// send to the user if any policy fails", is an integer from 100 to 699
// (exclusiveMaximum 700), 503 when not set.
//
// APIcast calls it when a policy of the chain fails to load (an invalid
// configuration) or raises an error in a phase. A Portolan policy fails in
// one place only, when the chain is built: an unknown policy or a
// configuration it refuses. The service then fails closed (Build's
// *Unsupported: logged at each revision, counted as policy_chain_failed and
// fail_closed), and FailedStatus gives the status of that answer: on_failed's
// error_status_code instead of 503. Its phases have no failure of their own
// to catch (a panic is a programming error: the connection is closed, as
// net/http closes it). A chain that builds makes the policy inert.
//
// An error_status_code from 100 to 199 is refused: an interim (1xx) answer
// ends no request. Refused, or invalid otherwise, on_failed itself is the
// policy that failed, and the service answers 503.
type onFailedPolicy struct{ status int }

func newOnFailed(conf json.RawMessage, _ *Env) (Policy, error) {
	var cfg struct {
		Status *int64 `json:"error_status_code"`
	}
	if err := Decode(conf, &cfg); err != nil {
		return nil, err
	}
	p := &onFailedPolicy{status: http.StatusServiceUnavailable}
	if cfg.Status != nil {
		s := *cfg.Status
		if s < 100 || s >= 700 {
			return nil, Invalid("error_status_code", "must be an HTTP status code from 100 to 699, not %d", s)
		}
		if s < 200 {
			return nil, Invalid("error_status_code", "must be a final status (200 to 699), not %d: an interim (1xx) answer ends no request", s)
		}
		p.status = int(s)
	}
	return p, nil
}

func (p *onFailedPolicy) Name() string { return "on_failed" }

// FailedStatus is the status of the answer of a service whose chain,
// configs, cannot be built: the error_status_code of its first enabled
// on_failed element, when that one is valid, else 503.
func FailedStatus(configs []composition.PolicyConfig) int {
	for _, pc := range configs {
		if !pc.Enabled || pc.Name != "on_failed" {
			continue
		}
		conf := pc.Configuration
		if len(conf) == 0 {
			conf = json.RawMessage(`{}`)
		}
		p, err := newOnFailed(conf, nil)
		if err != nil {
			break
		}
		return p.(*onFailedPolicy).status
	}
	return http.StatusServiceUnavailable
}
