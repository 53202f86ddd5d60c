package coordinator

import (
	"errors"
	"net/http"

	"github.com/portolan/portolan/internal/httpjson"
	"github.com/portolan/portolan/registry"
	"github.com/portolan/portolan/threescale"
)

// handleGossipRotate serves POST /admin/portolan/gossip/rotate-key on mux,
// behind the admin access token as the rest of /admin/portolan: it starts a
// rotation of the gossip keyring and answers when its steps fall due. The
// keys themselves never leave home through this route: agents get them over
// the agent API.
func (c *Coordinator) handleGossipRotate(mux *http.ServeMux) {
	mux.HandleFunc("POST "+registry.PathAdminGossipRotateKey, func(w http.ResponseWriter, r *http.Request) {
		if c.keyring == nil {
			threescale.WriteError(w, threescale.JSON, threescale.Conflict("gossip runs without a keyring (--gossip-insecure): there is no key to rotate"))
			return
		}
		rot, err := c.keyring.Rotate()
		switch {
		case errors.Is(err, errKeyringFixed), errors.Is(err, errRotating):
			threescale.WriteError(w, threescale.JSON, threescale.Conflict(err.Error()))
			return
		case err != nil:
			c.cfg.Logger.Error().Err(err).Msg("gossip key rotation")
			threescale.WriteError(w, threescale.JSON, err)
			return
		}
		c.cfg.Logger.Info().Uint64("version", rot.Version).Time("primary_at", rot.PrimaryAt).Time("drop_old_at", rot.DropOldAt).
			Msg("gossip key rotation started")
		httpjson.Write(w, http.StatusAccepted, rot)
	})
}
