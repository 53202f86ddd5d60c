package threescale

import (
	"net/http"

	"github.com/portolan/portolan/composition"
)

// The OAuth flows of an OIDC service, kept inside its proxy.

func (a *API) oidcRoutes() []Route {
	const path = "/admin/api/services/{service_id}/proxy/oidc_configuration"
	both := []Format{JSON, XML}
	return []Route{
		{Method: http.MethodGet, Path: path, Tag: "Gateway", Summary: "OIDC Configuration Show", Formats: both, handle: showOIDC},
		{Method: http.MethodPatch, Path: path, Tag: "Gateway", Summary: "OIDC Configuration Update", Formats: both, handle: updateOIDC},
		{Method: http.MethodPut, Path: path, Tag: "Gateway", Summary: "OIDC Configuration Update", Formats: both, handle: updateOIDC},
	}
}

func showOIDC(c *call) error {
	id, err := c.id("service_id")
	if err != nil {
		return err
	}
	p, _, err := proxyOf(c.snapshot(), id)
	if err != nil {
		return err
	}
	return c.one("oidc_configuration", p.OIDC)
}

func updateOIDC(c *call) error {
	id, err := c.id("service_id")
	if err != nil {
		return err
	}
	params := c.params
	if params.hasPrefix("oidc_configuration[") {
		params = params.sub("oidc_configuration")
	}
	var out composition.OIDCConfiguration
	_, err = c.update(func(tx *composition.Tx) error {
		old, exists, err := proxyOf(tx.View(), id)
		if err != nil {
			return err
		}
		n := *old
		if err := Bind(params, &n.OIDC, false); err != nil {
			return err
		}
		out = n.OIDC
		return storeProxy(tx, &n, exists)
	})
	if err != nil {
		return err
	}
	return c.one("oidc_configuration", out)
}
