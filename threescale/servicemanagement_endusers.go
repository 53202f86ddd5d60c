package threescale

import (
	"net/http"
	"net/url"
	"strings"
)

// apisonator dropped end users (user_id, end-user plans); today's listener
// refuses a call that still names one rather than ignore it: a user_id
// parameter on authorize, authrep and their OAuth variants, or in a
// reported transaction, is a 400 end_users_no_longer_supported, whatever its
// value (even empty: the listener tests the parameter's presence).

// errEndUsers is apisonator's EndUsersNoLongerSupported.
var errEndUsers = &smError{http.StatusBadRequest, "end_users_no_longer_supported",
	"End-users are no longer supported, do not specify the user_id parameter"}

// endUsersError refuses an authorization call with a user_id parameter.
func endUsersError(params url.Values) *smError {
	if hasParam(params, "user_id") {
		return errEndUsers
	}
	return nil
}

// reportEndUsersError refuses a report one of whose transactions has a
// user_id (transactions[i][user_id], or an array or hash under it).
func reportEndUsersError(params url.Values) *smError {
	for k := range params {
		rest, ok := strings.CutPrefix(k, "transactions[")
		if !ok {
			continue
		}
		if _, field, ok := strings.Cut(rest, "]"); ok && (field == "[user_id]" || strings.HasPrefix(field, "[user_id][")) {
			return errEndUsers
		}
	}
	return nil
}

// hasParam reports whether params hold name, as a value or, as Rack reads
// name[...]=, as an array or a hash.
func hasParam(params url.Values, name string) bool {
	if _, ok := params[name]; ok {
		return true
	}
	for k := range params {
		if strings.HasPrefix(k, name+"[") {
			return true
		}
	}
	return false
}
