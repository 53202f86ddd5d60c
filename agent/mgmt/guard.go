package mgmt

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/url"
	"slices"
	"strings"
)

// Where else a transform's parameter can be set. The upstream merges the
// query string's parameters with the body's (home's threescale.ReadParams
// lets the body win a name both hold), and reads a JSON body's fields at
// the top level and inside the object they are wrapped in
// ({"backend_api":{...}}: home's parseJSONBody unwraps a body's only
// member; Rails' wrap_parameters wraps a flat body's fields, and its
// controllers read params[:backend_api]). So a transform on one place holds
// for the others: a request body op applies at the top level and inside
// every top-level value, and its field is refused in the query; a name a
// query transform sets or removes is refused in the body. Refused (400),
// not stripped: the app learns at once that the call would not do what it
// asks.

// guard fills the plan's refusals from its transforms.
func (plan *callPlan) guard() {
	plan.refuseInQuery, plan.refuseInBody = map[string]bool{}, map[string]bool{}
	for _, op := range plan.reqBody {
		plan.refuseInQuery[op.path[0]] = true
		if len(op.path) > 1 { // backend_api.description, flat
			plan.refuseInQuery[op.path[1]] = true
		}
	}
	for _, t := range plan.ts {
		for _, k := range t.delQ {
			plan.refuseInBody[k] = true
		}
		for _, kv := range t.setQ {
			plan.refuseInBody[kv[0]] = true
		}
		for _, kv := range t.renameQ { // a name renamed into a guarded one
			if plan.refuseInQuery[rackKey(kv[1])] {
				plan.refuseInQuery[kv[0]] = true
			}
		}
	}
}

// checkQuery refuses a query parameter the request body transforms guard,
// under any name Rack reads it as or nests it in (backend_api[description]
// is description inside the wrapper), and one that nests a name the query
// transforms set or remove: Rails reads backend_api[private_endpoint] as
// the wrapped field the controller takes, which removing the flat
// private_endpoint does not touch.
func (plan *callPlan) checkQuery(query url.Values) error {
	for k := range query {
		segs := rackSegments(k)
		if slices.ContainsFunc(append(segs, k, rackKey(k)), func(n string) bool { return plan.refuseInQuery[n] }) {
			return fmt.Errorf("query parameter %.60q is refused: this operation's request body transforms remove or rename that field, and the upstream reads it from the query too", k)
		}
		if slices.ContainsFunc(segs[1:], func(n string) bool { return plan.refuseInBody[n] }) {
			return fmt.Errorf("query parameter %.60q is refused: this operation's query transforms set or remove that name, and the upstream reads it inside the wrapper too", k)
		}
	}
	return nil
}

// checkJSONKeys refuses a JSON body key in Rack's bracket spelling
// (proxy[api_backend], description[]), at the top level or inside a
// top-level object, that names a field the request body transforms guard:
// home keeps such a key as the flat param it spells (threescale.Params),
// and reads proxy[api_backend] as the wrapped api_backend (updateProxy),
// which the ops, matching field names, leave in place.
func (plan *callPlan) checkJSONKeys(body []byte) error {
	names, err := bodyNames("application/json", nil, body)
	if err != nil {
		return nil // transformRequestJSON names what is wrong with it
	}
	for _, k := range names {
		if !strings.ContainsAny(k, "[]") {
			continue
		}
		if slices.ContainsFunc(append(rackSegments(k), rackKey(k)), func(n string) bool { return plan.refuseInQuery[n] }) {
			return fmt.Errorf("JSON body key %.60q is refused: this operation's request body transforms remove or rename that field, and the upstream reads the bracket spelling as it", k)
		}
	}
	return nil
}

// rackSegments are the names in a Rack key, the first and those it nests
// (backend_api[private_endpoint][] is backend_api, private_endpoint);
// never empty.
func rackSegments(k string) []string {
	segs := strings.FieldsFunc(k, func(r rune) bool { return r == '[' || r == ']' })
	if len(segs) == 0 {
		return []string{k}
	}
	return segs
}

// checkBody refuses a body parameter the query transforms set or remove,
// in a body of media type mt as the upstream gets it (multipart re-encoded,
// credentials stripped); it returns the answer's status with the error.
func (plan *callPlan) checkBody(mt string, header http.Header, body []byte) (int, error) {
	if len(plan.refuseInBody) == 0 || len(bytes.TrimSpace(body)) == 0 {
		return 0, nil
	}
	names, err := bodyNames(mt, header, body)
	if err != nil {
		return http.StatusBadRequest, fmt.Errorf("%v: this operation's query transforms need to read the body", err)
	}
	if names == nil {
		return http.StatusUnsupportedMediaType, errors.New("this operation's query transforms read form, multipart and JSON bodies only: send one of those")
	}
	for _, k := range names {
		if slices.ContainsFunc(rackSegments(k), func(n string) bool { return plan.refuseInBody[n] }) { // wrapped too: backend_api[private_endpoint]
			return http.StatusBadRequest, fmt.Errorf("body parameter %.60q is refused: this operation's query transforms set or remove it", k)
		}
	}
	return 0, nil
}

// bodyNames lists the parameter names of a form, multipart or JSON body
// (JSON: the top-level fields and those of every top-level object); nil
// for a body of another type.
func bodyNames(mt string, header http.Header, body []byte) ([]string, error) {
	names := []string{}
	switch {
	case mt == "" || mt == "application/x-www-form-urlencoded":
		form, err := url.ParseQuery(string(body))
		if err != nil {
			return nil, fmt.Errorf("malformed form body: %w", err)
		}
		for k := range form {
			names = append(names, k)
		}
	case mt == "multipart/form-data":
		_, params, err := mime.ParseMediaType(header.Get("Content-Type"))
		if err != nil {
			return nil, fmt.Errorf("malformed multipart Content-Type: %w", err)
		}
		mr := multipart.NewReader(bytes.NewReader(body), params["boundary"])
		for {
			part, err := mr.NextRawPart()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				return nil, fmt.Errorf("malformed multipart body: %w", err)
			}
			names = append(names, part.FormName())
		}
	case isJSON(mt):
		var doc map[string]json.RawMessage
		if err := json.Unmarshal(body, &doc); err != nil {
			var arr []json.RawMessage
			if json.Unmarshal(body, &arr) == nil {
				return names, nil // no names: Rails files it under _json
			}
			return nil, fmt.Errorf("the JSON body is not an object the proxy can read (%v)", err)
		}
		for k, v := range doc {
			names = append(names, k)
			var inner map[string]json.RawMessage
			if json.Unmarshal(v, &inner) == nil {
				for k2 := range inner {
					names = append(names, k2)
				}
			}
		}
	default:
		return nil, nil
	}
	return names, nil
}

// transformRequestJSON applies request body ops to a JSON body wherever the
// upstream reads the fields they name: each op at the top level and inside
// every top-level value, by its path and, for a path of two fields or more
// (backend_api.internal_note), by the path under its first field
// (internal_note), the flat spelling of a wrapped field.
func transformRequestJSON(body []byte, ops []bodyOp) ([]byte, error) {
	return editJSON(body, func(doc any) bool {
		targets := []any{doc}
		if m, ok := doc.(map[string]any); ok {
			for _, v := range m {
				targets = append(targets, v)
			}
		}
		changed := false
		for _, op := range ops {
			for _, v := range targets {
				changed = applyBodyOp(v, op.path, op.rename) || changed
				if len(op.path) > 1 {
					changed = applyBodyOp(v, op.path[1:], op.rename) || changed
				}
			}
		}
		return changed
	})
}
