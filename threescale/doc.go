// Package threescale makes Portolan speak 3scale's wire protocol: the
// Account Management API under /admin/api/ and the Service Management API.
//
// The codec part of the package (format.go, request.go, encode.go,
// errors.go, auth.go) is generic over the composition's entity structs and
// driven by their tags:
//
//   - `json:"name"` gives the 3scale wire name, in and out, JSON and XML.
//   - `wire:"..."` adds comma-separated options: "ro" (never bound from
//     request params), "secret" (only rendered by an Encoder with Secrets),
//     "-" (never on the wire), "omitempty", "attr" (an XML attribute instead
//     of a child element), "string" (a number rendered as a JSON string) and
//     "item=NAME" (the XML element name of a slice's items, by default the
//     singular of the field name).
//
// Requests are read with ReadParams and bound with Bind; responses are
// written with Write and an Encoder; errors with WriteError, which maps error
// types (composition.FieldError and ValidationError, ErrNotFound, anything
// with HTTPStatus() or FieldErrors()) to 3scale's status codes and bodies.
// TokenChecker authenticates requests the way 3scale does (access_token,
// provider_key, HTTP Basic).
package threescale
