package policy

import "encoding/json"

// threescaleReferrer is APIcast's 3scale_referrer: "Sends the 'Referer' to
// 3scale backend for validation." In the rewrite phase it takes the
// request's Referer header (the first, as nginx's $http_referer) as the
// referrer of the request's authorization, which the apicast element then
// checks as apisonator's referrer validator does: on a service with
// referrer_filters_required, an application with referrer filters is
// authorized only for a referrer matching one of them (or "*").
//
// Without this policy APIcast sends apisonator no referrer at all, and
// apisonator refuses an application with filters for a missing one
// ("referrer is missing"), whatever the request's Referer: so on such a
// service, without the policy, only applications without filters pass.
// The gateway does the same, the referrer being in Context.Referrer only
// when this policy's rewrite phase ran. Like APIcast's, the policy reads
// the header at its place in the chain: a headers policy before it that
// sets Referer changes what it sends, one after it does not.
//
// Difference: APIcast's 3scale_batcher authorizes without the referrer
// this policy leaves for the apicast policy's authrep, so with both in
// APIcast's chain filtered applications are refused as if the policy were
// absent; in Portolan the batcher changes nothing in authorization (see
// 3scale_batcher.go) and the referrer is checked.
type threescaleReferrer struct{}

func newThreescaleReferrer(conf json.RawMessage, env *Env) (Policy, error) {
	var cfg struct{} // the manifest's configuration has no properties
	if err := Decode(conf, &cfg); err != nil {
		return nil, err
	}
	return threescaleReferrer{}, nil
}

func (threescaleReferrer) Name() string { return "3scale_referrer" }

func (threescaleReferrer) Rewrite(c *Context) {
	if v := c.R.Header["Referer"]; len(v) > 0 {
		c.Referrer, c.ReferrerGiven = v[0], true
	}
}
