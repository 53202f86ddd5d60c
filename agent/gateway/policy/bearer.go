package policy

import "strings"

// BearerToken is the token of a Bearer authorization header h, as APIcast's
// resty.http_authorization reads it ("Bearer" alone: given, empty). The
// scheme is matched case-insensitively (RFC 7235 section 2.1); given is
// false for another scheme.
func BearerToken(h string) (tok string, given bool) { return schemeToken(h, "bearer") }

// schemeToken is the token of an authorization header h under scheme
// (lower case), matched case-insensitively; given is false for another
// scheme. Bearer's and DPoP's (RFC 9449 section 7.1) are read alike.
func schemeToken(h, scheme string) (tok string, given bool) {
	h = strings.TrimLeft(h, " \t")
	if len(h) < len(scheme) || !strings.EqualFold(h[:len(scheme)], scheme) {
		return "", false
	}
	rest := h[len(scheme):]
	if rest != "" && rest[0] != ' ' && rest[0] != '\t' {
		return "", false // another scheme: "Bearerx", "DPoPx"
	}
	return strings.TrimSpace(rest), true
}
