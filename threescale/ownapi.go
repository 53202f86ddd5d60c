package threescale

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
)

// Portolan's own admin additions to the 3scale model (placements) are served
// by the same collection machinery as 3scale's resources, with Portolan's
// wire: plain JSON without format suffixes or 3scale parameters (a
// collection's decode), on the caller's mux behind the caller's token check.
// They are not in Routes, so neither the 3scale router, the generated OpenAPI
// document nor 3scale's token middleware sees them.

// handleOwn registers routes of Portolan's own JSON API on mux, one
// "METHOD path" pattern each.
func (a *API) handleOwn(mux *http.ServeMux, routes []Route) {
	for i := range routes {
		rt := &routes[i]
		mux.Handle(rt.Method+" "+rt.Path, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			c := &call{api: a, route: rt, w: w, r: r, format: JSON}
			if err := rt.handle(c); err != nil {
				a.fail(w, r, rt, JSON, err) // a server error is logged, as the 3scale routes' are
			}
		}))
	}
}

// DecodeJSON reads a JSON request body of at most limit bytes into v,
// refusing unknown fields and anything after the document but space (a
// second document, a stray word: a body only partly read would be taken
// for all of it): a larger body is TooLarge, anything else that does not
// decode a 400 whose message starts with what, e.g. "malformed placement:
// unexpected EOF". Portolan's own admin APIs read bodies with it.
func DecodeJSON(w http.ResponseWriter, r *http.Request, v any, limit int64, what string) error {
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, limit))
	dec.DisallowUnknownFields()
	refused := func(err error, where string) error {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			return TooLarge(limit)
		}
		return BadRequest(fmt.Sprintf("%s: %s%v", what, where, err))
	}
	if err := dec.Decode(v); err != nil {
		return refused(err, "")
	}
	switch _, err := dec.Token(); {
	case errors.Is(err, io.EOF):
		return nil
	case err != nil:
		return refused(err, "after the document: ")
	default:
		return BadRequest(fmt.Sprintf("%s: more data after the document at byte %d: a body holds one JSON document", what, dec.InputOffset()))
	}
}
