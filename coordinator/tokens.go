package coordinator

import (
	"errors"
	"net/http"

	"github.com/portolan/portolan/composition"
	"github.com/portolan/portolan/internal/httpjson"
	"github.com/portolan/portolan/registry"
	"github.com/portolan/portolan/threescale"
)

// IdentityConfig bounds what agents may register and says what join tokens
// carry.
type IdentityConfig struct {
	// MaxInstances bounds the live instances (registry.DefaultMaxInstances
	// when 0); MaxJoinTokens the join tokens kept (DefaultMaxJoinTokens);
	// MaxInstancesPerToken is the cap of live instances a join token gets
	// when it is created without one (DefaultMaxInstancesPerToken).
	MaxInstances         int
	MaxJoinTokens        int
	MaxInstancesPerToken int
}

// maxJoinTokenBody bounds a POST /admin/portolan/tokens body.
const maxJoinTokenBody = 64 << 10

// handleJoinTokens adds the join token admin API to mux, behind the admin
// access token check of Portolan's admin API:
//
//	GET    /admin/portolan/tokens        → registry.JoinTokenList
//	POST   /admin/portolan/tokens        registry.JoinTokenSpec → 201 registry.JoinTokenCreated
//	PATCH  /admin/portolan/tokens/{id}   registry.JoinTokenUpdate → registry.JoinTokenInfo
//	DELETE /admin/portolan/tokens/{id}   → {"id","revoked":true,"instances":N}
func (c *Coordinator) handleJoinTokens(mux *http.ServeMux) {
	mux.HandleFunc("GET "+registry.PathAdminTokens, func(w http.ResponseWriter, _ *http.Request) {
		httpjson.Write(w, http.StatusOK, registry.JoinTokenList{Tokens: c.instances.JoinTokens()})
	})
	mux.HandleFunc("POST "+registry.PathAdminTokens, func(w http.ResponseWriter, r *http.Request) {
		var spec registry.JoinTokenSpec
		if err := threescale.DecodeJSON(w, r, &spec, maxJoinTokenBody, "malformed join token request"); err != nil {
			threescale.WriteError(w, threescale.JSON, err)
			return
		}
		created, err := c.instances.CreateJoinToken(spec, c.CAPin())
		if err != nil {
			writeJoinTokenError(w, err)
			return
		}
		w.Header().Set("Cache-Control", "no-store")
		httpjson.Write(w, http.StatusCreated, created)
	})
	mux.HandleFunc("PATCH "+registry.PathAdminTokens+"/{id}", func(w http.ResponseWriter, r *http.Request) {
		var u registry.JoinTokenUpdate
		if err := threescale.DecodeJSON(w, r, &u, maxJoinTokenBody, "malformed join token update"); err != nil {
			threescale.WriteError(w, threescale.JSON, err)
			return
		}
		info, err := c.instances.UpdateJoinToken(r.PathValue("id"), u)
		if err != nil {
			writeJoinTokenError(w, err)
			return
		}
		httpjson.Write(w, http.StatusOK, info)
	})
	mux.HandleFunc("DELETE "+registry.PathAdminTokens+"/{id}", func(w http.ResponseWriter, r *http.Request) {
		id := r.PathValue("id")
		n, err := c.instances.RevokeJoinToken(id)
		if err != nil {
			writeJoinTokenError(w, err)
			return
		}
		httpjson.Write(w, http.StatusOK, map[string]any{"id": id, "revoked": true, "instances": n})
	})
}

func writeJoinTokenError(w http.ResponseWriter, err error) {
	var fe *composition.FieldError
	switch {
	case errors.As(err, &fe):
		httpjson.Error(w, http.StatusBadRequest, fe.Error())
	case errors.Is(err, registry.ErrUnknownJoinToken):
		httpjson.Error(w, http.StatusNotFound, err.Error())
	case errors.Is(err, registry.ErrTooManyJoinTokens):
		httpjson.Error(w, http.StatusTooManyRequests, err.Error())
	default:
		httpjson.Error(w, http.StatusInternalServerError, "join tokens: "+err.Error())
	}
}

// readsMap tells whether r carries an admin access token that may read
// (account_management, ro or rw): in the query, Basic auth, or as a Bearer
// token (as `portolan map --token` sends it). The map is a read: a
// read-only token suffices. A provider member's token is refused however it
// comes, as the console refuses it: the map spans every service's
// instances, and a member may be limited to some services.
func (c *Coordinator) readsMap(r *http.Request) bool {
	if mapGrant(c.tokens.Authenticate(r)) {
		return true
	}
	tok, ok := bearer(r)
	return ok && mapGrant(c.tokens.AuthenticateToken(tok))
}

// mapGrant tells whether an authenticated grant may read the map: an
// admin's token with account_management, of either permission.
func mapGrant(g threescale.Grant, ok bool) bool {
	return ok && g.Allows(composition.ScopeAccountManagement, false) && !g.Member()
}
