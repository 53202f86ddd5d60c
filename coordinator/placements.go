package coordinator

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"

	"github.com/portolan/portolan/composition"
	"github.com/portolan/portolan/internal/httpjson"
	"github.com/portolan/portolan/threescale"
)

// maxPlacementBytes bounds a placement document.
const maxPlacementBytes = 64 << 10

// placementInput is what a client may set on a placement.
type placementInput struct {
	Name      string               `json:"name"`
	Selector  composition.Selector `json:"selector"`
	ServiceID int64                `json:"service_id"`
	PlanIDs   []int64              `json:"plan_ids"`
}

// placementRoutes serves placements, Portolan's own addition to the 3scale
// model, as plain JSON under /admin/portolan/placements.
func (c *Coordinator) placementRoutes(mux *http.ServeMux) {
	mux.HandleFunc("GET /admin/portolan/placements", func(w http.ResponseWriter, r *http.Request) {
		httpjson.Write(w, http.StatusOK, map[string]any{"placements": c.store.Snapshot().Placements.All()})
	})
	mux.HandleFunc("GET /admin/portolan/placements/{id}", func(w http.ResponseWriter, r *http.Request) {
		id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
		p, ok := c.store.Snapshot().Placements.Get(id)
		if err != nil || !ok {
			threescale.WriteError(w, threescale.JSON, threescale.ErrNotFound)
			return
		}
		httpjson.Write(w, http.StatusOK, map[string]any{"placement": p})
	})
	mux.HandleFunc("POST /admin/portolan/placements", func(w http.ResponseWriter, r *http.Request) {
		in, err := readPlacement(w, r)
		if err != nil {
			threescale.WriteError(w, threescale.JSON, err)
			return
		}
		p := &composition.Placement{Name: in.Name, Selector: in.Selector, ServiceID: in.ServiceID, PlanIDs: in.PlanIDs}
		if _, err := c.store.Update(r.Context(), func(tx *composition.Tx) error { return tx.Create(p) }); err != nil {
			threescale.WriteError(w, threescale.JSON, err)
			return
		}
		httpjson.Write(w, http.StatusCreated, map[string]any{"placement": p})
	})
	mux.HandleFunc("PUT /admin/portolan/placements/{id}", func(w http.ResponseWriter, r *http.Request) {
		id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
		if err != nil {
			threescale.WriteError(w, threescale.JSON, threescale.ErrNotFound)
			return
		}
		in, err := readPlacement(w, r)
		if err != nil {
			threescale.WriteError(w, threescale.JSON, err)
			return
		}
		p := &composition.Placement{ID: id, Name: in.Name, Selector: in.Selector, ServiceID: in.ServiceID, PlanIDs: in.PlanIDs}
		if _, err := c.store.Update(r.Context(), func(tx *composition.Tx) error { return tx.Update(p) }); err != nil {
			threescale.WriteError(w, threescale.JSON, err)
			return
		}
		httpjson.Write(w, http.StatusOK, map[string]any{"placement": p})
	})
	mux.HandleFunc("DELETE /admin/portolan/placements/{id}", func(w http.ResponseWriter, r *http.Request) {
		id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
		if err != nil {
			threescale.WriteError(w, threescale.JSON, threescale.ErrNotFound)
			return
		}
		if _, err := c.store.Update(r.Context(), func(tx *composition.Tx) error {
			return tx.Delete(composition.KindPlacement, id)
		}); err != nil {
			threescale.WriteError(w, threescale.JSON, err)
			return
		}
		w.WriteHeader(http.StatusOK)
	})
}

func readPlacement(w http.ResponseWriter, r *http.Request) (*placementInput, error) {
	var in placementInput
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxPlacementBytes))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&in); err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			return nil, threescale.TooLarge(maxPlacementBytes)
		}
		return nil, threescale.BadRequest(fmt.Sprintf("malformed placement: %v", err))
	}
	return &in, nil
}
