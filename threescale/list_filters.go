package threescale

import (
	"strings"
	"unicode"

	"github.com/portolan/portolan/composition"
)

// The list filters 3scale reads from query parameters come in two kinds:
// porta's search scopes (ThreeScale::Search, "params[...].presence",
// Contract.by_state) leave a blank value out, while a controller's
// "where(params.slice(...))" compares even a blank one.

// searchID reads the search id key, present when not blank. The column
// is an integer: porta casts the value as Ruby's String#to_i ("12abc" is
// 12) and one with no digits matches no record (Contract.by_plan_id's
// "plan_id.to_i", ActiveModel's Integer type for "where"), rather than
// failing the request.
func searchID(c *call, key string) (int64, bool) {
	v, ok := searchParam(c, key)
	if !ok {
		return 0, false
	}
	return rubyInt(v), true
}

// searchParam is the search value key, unless blank as Rails has it
// (blank? and presence: empty or only white space), which porta's
// ThreeScale::Search and "params[...].presence" leave out.
func searchParam(c *call, key string) (string, bool) {
	v, _ := c.params.Get(key)
	if strings.TrimFunc(v, unicode.IsSpace) == "" {
		return "", false
	}
	return v, true
}

// exactParam is key as "where(params.slice(key))" filters by it: present,
// even blank, it must equal the column (a blank one matches no record that
// has a value).
func exactParam(c *call, key string) (string, bool) {
	return c.params.Get(key)
}

// userListFilter is User List's "where(params.slice(:state, :role))";
// unfiltered (a member lookup), every user passes.
func userListFilter(c *call, filtered bool) func(*composition.User) bool {
	if !filtered {
		return func(*composition.User) bool { return true }
	}
	state, byState := exactParam(c, "state")
	role, byRole := exactParam(c, "role")
	return func(u *composition.User) bool {
		return (!byState || u.State == state) && (!byRole || u.Role == role)
	}
}
