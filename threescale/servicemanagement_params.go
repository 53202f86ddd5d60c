package threescale

import (
	"net/http"
	"net/url"
	"strings"
)

// What apisonator's listener does to the parameters of authorize, authrep
// and their OAuth variants before any validator runs (do_api_method in
// lib/3scale/backend/listener.rb): it strips the keys, and refuses a usage
// that is not a hash. POST /transactions.xml does neither: a reported
// transaction's keys are looked up as sent, and its usage's shape is
// checked by serveReport (reportUsageShapeError).

// strippedKeyParams are the parameters the listener strips
// (AUTH_AUTHREP_COMMON_PARAMS); service_token is not one of them.
var strippedKeyParams = [...]string{"service_id", "app_id", "app_key", "user_key", "provider_key"}

// normalizeKeyParams strips the keys of params as the listener's
// normalize_non_empty_keys! does, with Ruby's String#strip (leading and
// trailing whitespace and NUL only), so that a key pasted with a stray space
// or newline names what it names in 3scale. A value blank once stripped is
// dropped, as if not given, but for app_key: an empty app_key is kept,
// because an OAuth call checks a key whenever one is given
// (servicemanagement_oauth.go).
func normalizeKeyParams(params url.Values) {
	for _, name := range strippedKeyParams {
		vs, ok := params[name]
		if !ok {
			continue
		}
		out := make([]string, 0, len(vs))
		for _, v := range vs {
			if v = strings.Trim(v, rubyWhitespace); v != "" || name == "app_key" {
				out = append(out, v)
			}
		}
		if len(out) == 0 {
			delete(params, name)
			continue
		}
		params[name] = out
	}
}

// usageShape is how Rack reads the usage parameter.
type usageShape int

const (
	usageHash       usageShape = iota // usage[metric]=n, or no usage at all
	usageNotHash                      // usage=hits, usage= (a string) or usage[]=1 (an array)
	usageUnparsable                   // a hash mixed with another form: usage[]=1&usage[hits]=1
)

// usageShapeOf classifies params' usage the way Rack's nested query parser
// reads it.
func usageShapeOf(params url.Values) usageShape { return usageShapeAt(params, "usage") }

// usageShapeAt classifies the parameter name (usage, or a reported
// transaction's transactions[i][usage]) the way Rack's nested query parser
// reads it.
func usageShapeAt(params url.Values, name string) usageShape {
	hash, other := false, false
	for k := range params {
		rest, ok := strings.CutPrefix(k, name)
		if !ok {
			continue
		}
		switch {
		case rest == "", strings.HasPrefix(rest, "[]"):
			other = true
		case strings.HasPrefix(rest, "[") && len(rest) > 1:
			hash = true
		}
	}
	switch {
	case other && hash:
		return usageUnparsable
	case other:
		return usageNotHash
	}
	return usageHash
}

// refuseUsageShape answers, as apisonator, an authorization call whose usage
// is not a hash and reports whether it did. The listener halts such a call
// with a bare 403, no body (valid_usage_params?); a usage Rack cannot parse
// at all, a hash mixed with an array, is its ExceptionCatcher's 400
// bad_request. Either way nothing is authorized or counted.
func refuseUsageShape(w http.ResponseWriter, params url.Values) bool {
	switch usageShapeOf(params) {
	case usageNotHash:
		writeSM(w, http.StatusForbidden, nil)
		return true
	case usageUnparsable:
		writeSMError(w, &smError{http.StatusBadRequest, "bad_request",
			"request contains syntax errors, should not be repeated without modification"})
		return true
	}
	return false
}
