package swagger

import (
	"fmt"
	"strings"
)

// externalRef returns the first reference of v, in document order, to
// another document ("$ref" not starting with "#": a URL, a file path, a
// relative name), and where it is ($.paths['/a'].get...); "" if none.
// Portolan follows references within the document only (refs.pointer, and
// openapischema.Check with libopenapi's remote and file references off): a
// spec from an image or a URL must not make home or an agent fetch a URL or
// read a file. Parse names such a reference when the schema check fails,
// for libopenapi names only its fragment ("component `#/Foo` does not
// exist"), as if the document itself lacked it.
func externalRef(v any, at string) (ref, where string) {
	switch v := v.(type) {
	case *object:
		if r, ok := v.get("$ref"); ok {
			if s, ok := r.(string); ok && !strings.HasPrefix(s, "#") {
				return s, at
			}
		}
		for _, k := range v.keys {
			if ref, where = externalRef(v.vals[k], at+pathStep(k)); ref != "" {
				return ref, where
			}
		}
	case []any:
		for i, e := range v {
			if ref, where = externalRef(e, fmt.Sprintf("%s[%d]", at, i)); ref != "" {
				return ref, where
			}
		}
	}
	return "", ""
}

// pathStep is key as a step of a JSON path: .key for a plain name,
// ['key'] otherwise, as libopenapi-validator's field paths write them.
func pathStep(key string) string {
	plain := key != "" && (key[0] < '0' || key[0] > '9')
	for _, c := range key {
		if !(c == '_' || c == '-' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9') {
			plain = false
			break
		}
	}
	if plain {
		return "." + key
	}
	return "['" + strings.ReplaceAll(key, "'", `\'`) + "']"
}

// externalRefError adds to err, a failed schema check, the first reference
// of root to another document, if there is one: the likely cause.
func externalRefError(root *object, err error) error {
	ref, where := externalRef(root, "$")
	if ref == "" {
		return err
	}
	return fmt.Errorf("$ref %q at %s refers to another document, and Portolan follows references within the document only "+
		"(it fetches no URL and reads no file a spec names): bundle the spec into one document first: %w", ref, where, err)
}
