package threescale

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/portolan/portolan/composition"
)

// appFilter applies Application List (all services)'s search: porta's
// ThreeScale::Search over Cinstance's allowed_search_scopes (service_id,
// plan_id, plan_type, state, account, name, user_key, active_since,
// inactive_since), each "by_<scope>", a blank value leaving its scope out.
// account_query, a Sphinx full-text search over the buyer accounts, is not
// applied.
func appFilter(c *call, s *composition.Composition) (func(*composition.Application) bool, func(*composition.Application), error) {
	var keep []func(*composition.Application) bool
	add := func(f func(*composition.Application) bool) { keep = append(keep, f) }
	// The controller narrows by service_id before the search, with
	// "if (service_id = params[:service_id])": present, even blank, it is a
	// condition, and a blank one (cast to NULL) matches no application.
	if v, ok := exactParam(c, "service_id"); ok {
		id := rubyInt(v)
		add(func(app *composition.Application) bool { return app.ServiceID == id })
	}
	if id, ok := searchID(c, "plan_id"); ok {
		add(func(app *composition.Application) bool { return app.PlanID == id })
	}
	if id, ok := searchID(c, "account"); ok {
		add(func(app *composition.Application) bool { return app.AccountID == id })
	}
	if state := appStateParam(c); state != "" {
		add(func(app *composition.Application) bool { return inAppState(app, state) })
	}
	if v, ok := searchParam(c, "user_key"); ok {
		add(func(app *composition.Application) bool { return app.UserKey == v })
	}
	if v, ok := searchParam(c, "name"); ok {
		add(appNameSearch(v))
	}
	// by_active_since and by_inactive_since compare first_daily_traffic_at,
	// which no application has (Portolan shows it null): SQL's NULL
	// satisfies neither ">=" nor "<=", whatever the date.
	for _, k := range []string{"active_since", "inactive_since"} {
		if _, ok := searchParam(c, k); ok {
			add(func(*composition.Application) bool { return false })
		}
	}
	if v, _ := searchParam(c, "plan_type"); v == "free" || v == "paid" {
		paid := paidPlans(s)
		want := v == "paid"
		add(func(app *composition.Application) bool { return paid(app.PlanID) == want })
	}
	return func(app *composition.Application) bool {
		for _, f := range keep {
			if !f(app) {
				return false
			}
		}
		return true
	}, func(*composition.Application) {}, nil
}

// paidPlans says whether a plan is paid, as Contract.by_plan_type has it:
// a monthly cost, a setup fee or any pricing rule; otherwise it is free.
func paidPlans(s *composition.Composition) func(planID int64) bool {
	priced := map[int64]bool{}
	for _, r := range s.PricingRules.All() {
		priced[r.PlanID] = true
	}
	return func(planID int64) bool {
		if priced[planID] {
			return true
		}
		p, ok := s.ApplicationPlans.Get(planID)
		return ok && (!p.CostPerMonth.IsZero() || !p.SetupFee.IsZero())
	}
}

// appNameSearch is Cinstance.by_name: "user_key:" and a key (spaces
// around allowed) finds by user key; anything else is Contract.by_name's
// LIKE on the name.
func appNameSearch(query string) func(*composition.Application) bool {
	q := strings.Trim(query, rubyWhitespace)
	if rest, ok := strings.CutPrefix(q, "user_key:"); ok {
		if key := strings.TrimLeft(rest, " \t\n\v\f\r"); validUserKey(key) {
			return func(app *composition.Application) bool { return app.UserKey == key }
		}
	}
	pattern := compileLike(likeContains(query))
	return func(app *composition.Application) bool { return pattern.match(app.Name) }
}

// likeContains is Contract.by_name's pattern: text.sub(/(^[^%])/, '%\1')
// then .sub(/([^%]$)/, '\1%'), Ruby's ^ and $ being line bounds: "%" before
// the first line start that is no "%", and after the first character,
// no "%", that ends a line.
func likeContains(text string) string {
	for i := 0; i < len(text); i++ {
		if (i == 0 || text[i-1] == '\n') && text[i] != '%' {
			text = text[:i] + "%" + text[i:]
			break
		}
	}
	for i := 0; i < len(text); i++ {
		if text[i] != '%' && (i+1 == len(text) || text[i+1] == '\n') {
			// i is a character's last byte: a line ends after it.
			text = text[:i+1] + "%" + text[i+1:]
			break
		}
	}
	return text
}

// likeToken is one element of a LIKE pattern: a literal rune, "_" (any
// one character) or "%" (any run of characters).
type likeToken struct {
	r        rune
	one, any bool
}

// likePattern is an SQL LIKE pattern read into its tokens.
type likePattern []likeToken

// compileLike reads pattern as MySQL reads it: "%" any run, "_" any one
// character, a backslash escaping the next character.
func compileLike(pattern string) likePattern {
	var p likePattern
	for i := 0; i < len(pattern); {
		r, n := utf8.DecodeRuneInString(pattern[i:])
		i += n
		switch {
		case r == '\\' && i < len(pattern):
			r, n = utf8.DecodeRuneInString(pattern[i:])
			i += n
			p = append(p, likeToken{r: r})
		case r == '%':
			p = append(p, likeToken{any: true})
		case r == '_':
			p = append(p, likeToken{one: true})
		default:
			p = append(p, likeToken{r: r})
		}
	}
	return p
}

// match reports whether s matches the pattern as MySQL matches it under
// porta's case-insensitive collation: letters compared without case.
func (p likePattern) match(s string) bool {
	t := []rune(s)
	// Greedy matching with backtracking to the last "%".
	pi, ti, star, mark := 0, 0, -1, 0
	for ti < len(t) {
		switch {
		case pi < len(p) && p[pi].any:
			star, mark = pi, ti
			pi++
		case pi < len(p) && (p[pi].one || foldEqual(p[pi].r, t[ti])):
			pi++
			ti++
		case star >= 0:
			pi, mark = star+1, mark+1
			ti = mark
		default:
			return false
		}
	}
	for pi < len(p) && p[pi].any {
		pi++
	}
	return pi == len(p)
}

// foldEqual compares two runes without case.
func foldEqual(a, b rune) bool {
	return a == b || unicode.ToLower(a) == unicode.ToLower(b) || unicode.ToUpper(a) == unicode.ToUpper(b)
}
