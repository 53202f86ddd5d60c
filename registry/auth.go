package registry

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"net/http"
	"strings"

	"github.com/portolan/portolan/internal/httpjson"
	"github.com/portolan/portolan/registry/jointoken"
)

// Who may call what on the agent API, least privilege first:
//
//	join token (or the bootstrap token)  PUT /v1/instances/{id} (register), nothing else
//	instance credential                  heartbeat, drain, deregister of its own id (403 for
//	                                     another), GET /v1/composition, GET /v1/map, POST /v1/usage;
//	                                     PUT /v1/instances/{id}/composition only when its join
//	                                     token is scoped to a service, and only for that service
//	admin access token                   GET /v1/map
//
// Every token is checked before any body is read, in constant time, and
// never logged.

// Access says who, besides instances with their credential, may call the
// agent API.
type Access struct {
	// BootstrapToken (the coordinator's --agent-token) registers any
	// instance: an unscoped join token that never expires, held to
	// Config.MaxInstancesPerToken live instances. "" for none.
	BootstrapToken string
	// Admin tells whether a request carries an admin access token; such a
	// request may read the map and nothing else. nil for none.
	Admin func(*http.Request) bool
}

// role is what a caller authenticated as.
type role uint8

const (
	roleJoin     role = 1 << iota // a join token or the bootstrap token
	roleInstance                  // an instance credential
	roleAdmin                     // an admin access token
)

// caller is who made a request; role 0 is nobody home knows.
type caller struct {
	role     role
	instance string    // roleInstance: whose credential
	holder   *instance // roleInstance: the instance the credential was issued to
	grant    grant     // roleJoin: the token's scope
	expired  bool      // roleJoin: the token's lifetime is over
	present  bool      // a token came, known or not
	revoked  bool      // the credential of an instance whose join token was revoked
}

type callerKey struct{}

// InstanceOf returns the instance whose credential authenticated the request
// of ctx (within a handler Handler or RequireInstance guards).
func InstanceOf(ctx context.Context) (string, bool) {
	c, ok := ctx.Value(callerKey{}).(caller)
	if !ok || c.role != roleInstance {
		return "", false
	}
	return c.instance, true
}

func callerOf(ctx context.Context) caller {
	c, _ := ctx.Value(callerKey{}).(caller)
	return c
}

// identify finds who the request is from; ok is false when its token is
// none of those a.
func (r *Registry) identify(req *http.Request, a Access, bootstrap *[sha256.Size]byte) (caller, bool) {
	tok, present := bearerToken(req)
	if present {
		if in, revoked := r.credentialInstance(tok); in != nil {
			if revoked {
				return caller{present: true, revoked: true}, false
			}
			return caller{role: roleInstance, instance: in.id, holder: in}, true
		}
		if jointoken.IsJoinToken(tok) {
			return r.identifyJoinToken(tok)
		}
		if bootstrap != nil {
			got := sha256.Sum256([]byte(tok))
			if subtle.ConstantTimeCompare(got[:], bootstrap[:]) == 1 {
				return caller{role: roleJoin, grant: grant{bootstrap: true}}, true
			}
		}
	}
	if a.Admin != nil && a.Admin(req) {
		return caller{role: roleAdmin}, true
	}
	return caller{present: present}, false
}

// identifyJoinToken looks a join token up by its id and checks its secret.
func (r *Registry) identifyJoinToken(s string) (caller, bool) {
	tok, err := jointoken.Parse(s)
	if err != nil || r.tokens == nil {
		return caller{present: true}, false
	}
	rec, ok := r.tokens.Get(tok.ID)
	if !ok || !tok.Matches(rec.Hash) {
		return caller{present: true}, false
	}
	return caller{role: roleJoin, grant: grant{tokenID: rec.ID, token: &rec}, expired: rec.expired(r.now())}, true
}

// authenticator identifies callers with Access a.
type authenticator struct {
	r         *Registry
	a         Access
	bootstrap *[sha256.Size]byte // of a.BootstrapToken; nil for none
}

func (r *Registry) authenticator(a Access) authenticator {
	au := authenticator{r: r, a: a}
	if a.BootstrapToken != "" {
		h := sha256.Sum256([]byte(a.BootstrapToken))
		au.bootstrap = &h
	}
	return au
}

// caller finds who req is from.
func (au authenticator) caller(req *http.Request) caller {
	c, _ := au.r.identify(req, au.a, au.bootstrap)
	return c
}

// authenticate finds who the request is from and hands it on with its
// caller in the context; allow refuses or admits it. (The heartbeat, on
// the path every instance takes, is handed its caller directly: see
// Handler.)
func (au authenticator) authenticate(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		next.ServeHTTP(w, req.WithContext(context.WithValue(req.Context(), callerKey{}, au.caller(req))))
	})
}

// allow admits a caller in roles and refuses others (see refused).
func (r *Registry) allow(roles role, ownID bool, next http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		var id string
		if ownID {
			id = req.PathValue("id")
		}
		c := callerOf(req.Context())
		if c.role == roleJoin && c.expired && r.rejoins(req, c.grant.tokenID) {
			c.expired, c.grant.rejoin = false, true // rejoin.go
			req = req.WithContext(context.WithValue(req.Context(), callerKey{}, c))
		}
		if !r.refused(w, c, roles, ownID, id) {
			next(w, req)
		}
	})
}

// refused answers a caller not in roles and reports whether it did: 401
// for a caller home does not know, 403 for one it knows who may not make
// this call. With ownID the call acts on the instance id of the path: an
// instance may act on its own id only (403), and a caller home does not
// know, on an id home does not know either, hears 404, "register again":
// what an agent hears after home restarted and forgot both its instance
// and its credential.
func (r *Registry) refused(w http.ResponseWriter, c caller, roles role, ownID bool, id string) bool {
	switch {
	case c.role == 0 && c.present && ownID && !c.revoked && !r.known(id):
		httpjson.Error(w, http.StatusNotFound, ErrUnknown.Error())
	case c.role == 0:
		refuseUnknown(w, c)
	case c.role&roles == 0:
		forbidden(w, refusal(c.role))
	case c.role == roleJoin && c.expired:
		unauthorized(w, "invalid_token", "the join token has expired: create a new one (portolan token create)")
	case ownID && c.role == roleInstance && subtle.ConstantTimeCompare([]byte(c.instance), []byte(id)) != 1:
		forbidden(w, "this credential is instance "+c.instance+"'s: an instance acts on itself alone")
	default:
		return false
	}
	return true
}

// refuseUnknown answers 401 to a caller home does not know.
func refuseUnknown(w http.ResponseWriter, c caller) {
	switch {
	case c.revoked:
		unauthorized(w, "invalid_token", "this instance's join token was revoked: it is registered no more")
	case !c.present:
		unauthorized(w, "", "missing token: send Authorization: Bearer <join token> to register, then the instance credential it returned")
	default:
		unauthorized(w, "invalid_token", "invalid token: not a join token, instance credential or access token this home knows")
	}
}

// refusal says why a caller of role may not make a call.
func refusal(r role) string {
	switch r {
	case roleJoin:
		return "a join token can only register an instance: present the instance credential its registration returned"
	case roleInstance:
		return "an instance credential cannot register: register with a join token"
	case roleAdmin:
		return "an admin access token only reads the map here"
	}
	return "forbidden"
}

// RequireInstance lets through only requests with an instance credential
// (401 or 403 otherwise); InstanceOf gives the instance. The coordinator
// guards POST /v1/usage with it.
func (r *Registry) RequireInstance(a Access, next http.Handler) http.Handler {
	return r.authenticator(a).authenticate(r.allow(roleInstance, false, next.ServeHTTP))
}

func bearerToken(req *http.Request) (string, bool) {
	scheme, tok, ok := strings.Cut(req.Header.Get("Authorization"), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	tok = strings.TrimSpace(tok)
	return tok, tok != ""
}

func unauthorized(w http.ResponseWriter, code, msg string) {
	challenge := `Bearer realm="portolan"`
	if code != "" {
		challenge += `, error="` + code + `"`
	}
	w.Header().Set("WWW-Authenticate", challenge)
	// Refused before its body was read: close rather than let net/http
	// read the body first, so a caller without the token holds nothing.
	w.Header().Set("Connection", "close")
	httpjson.Error(w, http.StatusUnauthorized, msg)
}

func forbidden(w http.ResponseWriter, msg string) {
	w.Header().Set("Connection", "close")
	httpjson.Error(w, http.StatusForbidden, msg)
}

// scopeStatus is the status of a registration refused by its token or caps.
func scopeStatus(err error) (int, bool) {
	switch {
	case errors.Is(err, ErrScope):
		return http.StatusForbidden, true
	case errors.Is(err, ErrIDTaken):
		// Not a refusal of the token: the same token registers under
		// another id. 409 tells the agent to draw a new id at once
		// rather than wait for someone to change its token.
		return http.StatusConflict, true
	case errors.Is(err, ErrTooManyInstances), errors.Is(err, ErrTooManyJoinTokens):
		return http.StatusTooManyRequests, true
	case errors.Is(err, ErrUnknownJoinToken), errors.Is(err, errExpiredMeanwhile):
		return http.StatusUnauthorized, true
	}
	return 0, false
}
