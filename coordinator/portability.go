package coordinator

import (
	"net/http"
	"time"

	"github.com/portolan/portolan/composition"
	"github.com/portolan/portolan/internal/httpjson"
	"github.com/portolan/portolan/registry"
	"github.com/portolan/portolan/threescale"
)

// DefaultMaxImportBytes bounds an imported composition document unless
// Config.MaxImportBytes says otherwise. Nothing bounds what a home holds in
// all (each ActiveDoc may be up to a request's size), so an export may be
// larger: the operator raises the bound of the home it goes to.
const DefaultMaxImportBytes = 64 << 20

// portability serves Portolan's own admin API: GET /admin/portolan/composition
// (export), POST /admin/portolan/composition (import) and placements. The token
// comes as for the 3scale API (query or Basic auth), never in the body.
func (c *Coordinator) portability() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET "+registry.PathAdminComposition, func(w http.ResponseWriter, r *http.Request) {
		// A value it cannot read is refused, not taken for false: an
		// export meant to carry the keys that silently has none makes an
		// import give every application new ones.
		secrets, err := parseFlag(r.URL.Query(), "include_secrets")
		if err != nil {
			threescale.WriteError(w, threescale.JSON, threescale.BadRequest(err.Error()))
			return
		}
		doc := composition.Export(c.store.Snapshot(), secrets, time.Now())
		if !secrets {
			hidePolicySecrets(doc)
		}
		// Personal data, and with include_secrets every key: kept by no
		// cache on the way, as the agents' views are not.
		w.Header().Set("Cache-Control", "no-store")
		httpjson.Write(w, http.StatusOK, doc)
	})
	mux.HandleFunc("POST "+registry.PathAdminComposition, func(w http.ResponseWriter, r *http.Request) {
		var doc composition.Document
		if err := threescale.DecodeJSON(w, r, &doc, c.cfg.MaxImportBytes, "malformed composition document"); err != nil {
			threescale.WriteError(w, threescale.JSON, err)
			return
		}
		// Plaintext passwords of an older export are hashed before the
		// store's writer lock is taken, in the slots applies hash in
		// (argon2id, 19 MiB each: a bounded number at once).
		if err := c.decodeSlots.passwords.hashDocument(r.Context(), &doc); err != nil {
			threescale.WriteError(w, threescale.JSON, err)
			return
		}
		// By name: what home already holds is updated, not refused as
		// taken, and a document imported twice makes no second revision.
		var stats *composition.ImportStats
		snap, err := c.store.Update(r.Context(), c.api.CheckWrite(func(tx *composition.Tx) error {
			// Policy secrets an export without secrets hid are home's,
			// read under the writer: the values it will keep.
			restored, err := restorePolicySecrets(tx.View(), &doc)
			if err != nil {
				return err
			}
			stats, err = composition.ImportByName(tx, restored)
			return err
		}))
		if err != nil {
			threescale.WriteError(w, threescale.JSON, importError(err))
			return
		}
		c.cfg.Logger.Info().Int("entities", stats.Entities).Uint64("revision", snap.Revision).Msg("composition imported")
		httpjson.Write(w, http.StatusCreated, map[string]any{"imported": stats.Entities, "revision": snap.Revision})
	})
	c.api.HandlePlacements(mux)
	c.handleGossipRotate(mux)
	c.handleJoinTokens(mux)
	public := http.NewServeMux()
	public.HandleFunc("GET "+registry.PathAdminFeatures, func(w http.ResponseWriter, _ *http.Request) {
		httpjson.Write(w, http.StatusOK, registry.AdminFeatures{Features: []string{registry.FeatureRestoresHiddenSecrets}})
	})
	public.Handle("/", c.adminOnly(mux))
	return public
}

// adminOnly serves next to the callers that may use Portolan's admin API
// (refuseAdmin), and refuses the others before their body is read.
func (c *Coordinator) adminOnly(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := c.refuseAdmin(r); err != nil {
			// Refused before its body was read: close rather than let
			// net/http wait for the body first, so a caller without the
			// token holds nothing.
			w.Header().Set("Connection", "close")
			threescale.WriteError(w, threescale.JSON, err)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// errAdminPermission is porta's answer to a valid token that falls short
// (threescale's, for the same case on the 3scale API).
const errAdminPermission = "Your access token does not have the correct permissions"

// refuseAdmin is nil when r may use Portolan's admin API (TokenChecker.Check:
// account_management, rw, not a provider member's token), else its 403:
// "Access denied" without a valid token, porta's permission message with
// one that falls short, as README promises.
func (c *Coordinator) refuseAdmin(r *http.Request) error {
	if c.tokens.Check(r) {
		return nil
	}
	if _, ok := c.tokens.Authenticate(r); ok {
		return threescale.Forbidden(errAdminPermission)
	}
	return threescale.Forbidden("")
}
