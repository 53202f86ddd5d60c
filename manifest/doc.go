// Package manifest is declarative composition documents: the format,
// decoding from YAML/JSON and the 3scale toolbox's Product/Backend CRDs, the
// JSON Schema, and export from a composition; it imports composition and
// nothing else of Portolan.
//
// A document is one entity with everything that belongs to it, named by
// system_name and referring to others by name, never by numeric id:
//
//	apiVersion: portolan.dev/v1
//	kind: Service            # or Backend, AccountPlan, Account, Placement
//	system_name: news
//	name: News
//	metrics:
//	- system_name: hits
//	  methods:
//	  - system_name: list_articles
//	mapping_rules:
//	- {http_method: GET, pattern: /articles, metric: list_articles, delta: 1}
//	plans:
//	- system_name: basic
//	  limits:
//	  - {metric: hits, period: day, value: 1000}
//
// Several documents make a file (YAML "---" separators, or a JSON object or
// array), and several files a directory. Decode and Load read them strictly:
// an unknown field, a value out of its set, a dangling reference inside a
// document or a duplicate name is an *Error naming the source, the document,
// the entity and the field path. Export writes a composition in this format
// and Encode writes documents as YAML or JSON; Schema is the JSON Schema of
// one document. FORMAT.md in this folder describes every field.
//
// What a document leaves out is what 3scale derives or generates: ids,
// timestamps, states driven by events (an application's or account's
// state), lock versions, and secrets (application keys, user passwords,
// proxy secret tokens) unless exported on request.
package manifest
