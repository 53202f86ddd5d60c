// Package swagger reads Swagger 2.0 and OpenAPI 3.0/3.1 documents and cuts
// them down to the operations a user wants.
//
// Load and Parse accept JSON or YAML from a file, an http(s) URL or memory
// and check the document with a SchemaCheck: openapischema.Check validates
// it against the OpenAPI schema of its version and resolves its local
// references (github.com/pb33f/libopenapi and its validator), and no check
// reads only what this package uses. Remote and file references are never
// followed, and every input is size-bounded. A Spec lists its operations,
// security schemes and base path.
//
// A Selection of include and omit rules (see Rule: tag:NAME,
// op:OPERATION_ID or METHOD PATH_GLOB) decides which operations are kept:
// includes apply first, no include meaning all, then omits. Spec.Select
// returns the decision for every operation with the rule that made it, the
// filtered document (valid, with the components nothing kept uses dropped),
// and a Routes table that maps a request's method and normalised path to
// its operation in constant allocations, so a proxy can answer 404 for a
// route the spec does not have and 403, naming the rule, for an omitted one.
//
// Importing a spec into a composition lives in this package too
// (import*.go).
//
// It must not import libopenapi (that is openapischema's, so that the
// agent build can leave it out), nor agent, coordinator or registry.
package swagger
