package threescale

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"io"
	"net/http"
)

// Calls the official client makes that Portolan refuses on purpose: the
// Master API (tenants: Portolan has one provider) and end-user plans (removed
// from 3scale). They answer 404 with a message saying so, in the format asked.

const (
	masterUnsupported      = "the Master API (tenants) is not supported by Portolan"
	endUserPlanUnsupported = "end user plans are not supported by Portolan (3scale removed them)"
)

func (a *API) unsupportedRoutes() []Route {
	both := []Format{JSON, XML}
	const tenants = "/master/api/providers"
	const eup = "/admin/api/end_user_plans/{end_user_plan_id}/metrics/{metric_id}/limits"
	route := func(method, path, tag, summary, msg string) Route {
		return Route{Method: method, Path: path, Tag: tag, Summary: summary + " (not supported)", Formats: both,
			Status: http.StatusNotFound, handle: refuseUnsupported(msg)}
	}
	return []Route{
		route(http.MethodPost, tenants, "Master API", "Tenant Create", masterUnsupported),
		route(http.MethodGet, tenants+"/{id}", "Master API", "Tenant Read", masterUnsupported),
		route(http.MethodPut, tenants+"/{id}", "Master API", "Tenant Update", masterUnsupported),
		route(http.MethodDelete, tenants+"/{id}", "Master API", "Tenant Delete", masterUnsupported),
		route(http.MethodPost, tenants+"/{provider_id}/billing_jobs", "Master API", "Billing Job Create", masterUnsupported),
		route(http.MethodPost, tenants+"/{provider_id}/accounts/{account_id}/billing_jobs", "Master API",
			"Account Billing Job Create", masterUnsupported),
		route(http.MethodGet, eup, "End User Plans", "End User Plan Limit List", endUserPlanUnsupported),
		route(http.MethodPost, eup, "End User Plans", "End User Plan Limit Create", endUserPlanUnsupported),
		route(http.MethodPut, eup+"/{id}", "End User Plans", "End User Plan Limit Update", endUserPlanUnsupported),
		route(http.MethodDelete, eup+"/{id}", "End User Plans", "End User Plan Limit Delete", endUserPlanUnsupported),
	}
}

// refuseUnsupported answers 404 with 3scale's "Not found" status and the
// reason: {"status":"Not found","error":msg} or <error>msg</error>.
func refuseUnsupported(msg string) func(*call) error {
	return func(c *call) error {
		Write(c.w, c.format, http.StatusNotFound, func(w io.Writer) error {
			var buf bytes.Buffer
			if c.format == XML {
				buf.WriteString(xml.Header[:len(xml.Header)-1] + "<error>")
				if err := xml.EscapeText(&buf, []byte(msg)); err != nil {
					return err
				}
				buf.WriteString("</error>")
			} else {
				b, err := json.Marshal(map[string]string{"status": "Not found", "error": msg})
				if err != nil {
					return err
				}
				buf.Write(b)
			}
			_, err := w.Write(buf.Bytes())
			return err
		})
		return nil
	}
}
