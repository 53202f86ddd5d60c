// Package openapischema checks Swagger 2.0 and OpenAPI 3.0/3.1 documents
// against the OpenAPI schema of their version and resolves their local
// references, with github.com/pb33f/libopenapi and its validator: Check is
// a swagger.SchemaCheck.
//
// It is a package of its own so that what links libopenapi, its validator
// and their JSON Schema compiler (package init alone allocates 1.7 MB)
// stays out of the agent build, whose management proxy reads a spec's
// structure only (README "Two builds"). It must not import other Portolan
// packages.
package openapischema

import (
	"errors"
	"fmt"
	"log/slog"
	"strings"

	"github.com/pb33f/libopenapi"
	validator "github.com/pb33f/libopenapi-validator/schema_validation"
	"github.com/pb33f/libopenapi/datamodel"
	"github.com/pb33f/libopenapi/index"
)

// maxReportedProblems is how many problems an error lists.
const maxReportedProblems = 5

// errNonStringKey is validate's error for a document with a mapping key
// that is not a string.
var errNonStringKey = errors.New("a mapping key is not a string")

// Check checks data, a Swagger 2.0 document when swagger2 and an OpenAPI 3
// one otherwise, against the OpenAPI schema of its version and resolves its
// references; remote and file references are not followed. Problems name
// their line. jsonForm gives data as JSON: YAML keys such as unquoted status
// codes (200:) are not strings, which the validator rejects, and JSON has
// string keys only, so such a document is checked in its JSON form, without
// line numbers that would point into it rather than into the YAML.
func Check(data []byte, swagger2 bool, jsonForm func() []byte) error {
	err := validate(data, swagger2, true)
	if errors.Is(err, errNonStringKey) && jsonForm != nil {
		err = validate(jsonForm(), swagger2, false)
	}
	return err
}

// validate checks data against the OpenAPI schema of its version and
// resolves its references with libopenapi; problems name their line if
// lines is set. Remote and file references are not followed.
func validate(data []byte, swagger2, lines bool) error {
	cfg := datamodel.NewDocumentConfiguration()
	cfg.Logger = slog.New(slog.DiscardHandler)
	doc, err := libopenapi.NewDocumentWithConfiguration(data, cfg)
	if err != nil {
		return err
	}
	defer doc.Release()
	if ok, problems := validator.ValidateOpenAPIDocument(doc); !ok {
		if len(problems) == 1 && isNonStringKey(problems[0].Reason) {
			return fmt.Errorf("%w: %s", errNonStringKey, problems[0].Reason)
		}
		line := func(n int) int {
			if lines {
				return n
			}
			return 0
		}
		var b strings.Builder
		n := 0
		for _, p := range problems {
			if len(p.SchemaValidationErrors) == 0 {
				n++
				if n <= maxReportedProblems {
					fmt.Fprintf(&b, "\n  - %s", problemText(p.Reason, "", line(p.SpecLine)))
				}
			}
			for _, f := range p.SchemaValidationErrors {
				n++
				if n <= maxReportedProblems {
					fmt.Fprintf(&b, "\n  - %s", problemText(f.Reason, unescapeFieldPath(f.FieldPath), line(f.Line)))
				}
			}
		}
		if n > maxReportedProblems {
			fmt.Fprintf(&b, "\n  - and %d more", n-maxReportedProblems)
		}
		return fmt.Errorf("it does not match the OpenAPI schema:%s", b.String())
	}
	if swagger2 {
		_, err = doc.BuildV2Model()
	} else {
		_, err = doc.BuildV3Model()
	}
	if err = withoutCircularRefs(err); err != nil {
		return fmt.Errorf("resolve references: %w", err)
	}
	return nil
}

// isNonStringKey reports whether a validator's problem is a YAML mapping key
// that is not a string (libopenapi-validator's two wordings).
func isNonStringKey(reason string) bool {
	return strings.Contains(reason, "keys must be strings") || strings.Contains(reason, "require string mapping keys")
}

func problemText(reason, where string, line int) string {
	var b strings.Builder
	b.WriteString(reason)
	if where != "" {
		fmt.Fprintf(&b, " at %s", where)
	}
	if line > 0 {
		fmt.Fprintf(&b, " (line %d)", line)
	}
	return b.String()
}

// withoutCircularRefs drops circular-reference reports from err: recursive
// schemas are valid OpenAPI.
func withoutCircularRefs(err error) error {
	if err == nil {
		return nil
	}
	var keep []error
	for _, e := range unwrapAll(err) {
		var rerr *index.ResolvingError
		if errors.As(e, &rerr) && rerr.CircularReference != nil {
			continue
		}
		keep = append(keep, e)
	}
	return errors.Join(keep...)
}

func unwrapAll(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		var out []error
		for _, e := range j.Unwrap() {
			out = append(out, unwrapAll(e)...)
		}
		return out
	}
	return []error{err}
}

// unescapeFieldPath makes the JSON pointer escapes in a validator's field
// path ($.paths['~1a']) readable ($.paths['/a']).
func unescapeFieldPath(p string) string {
	return strings.ReplaceAll(strings.ReplaceAll(p, "~1", "/"), "~0", "~")
}
