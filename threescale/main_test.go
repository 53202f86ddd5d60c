package threescale_test

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/portolan/portolan/internal/testenv"
)

// TestMain records every request the coordinators answer with a 2xx and,
// when the whole package ran (no -run or -skip, not -short), fails the run
// if an operation of 3scale's Account Management API was never answered
// with a 2xx: each operation has a round trip through the HTTP API.
func TestMain(m *testing.M) {
	rec := testenv.RecordOperations()
	code := m.Run()
	if wholePackageRan() {
		if err := checkOperationsAnswered(rec.Answered()); err != nil {
			fmt.Fprintln(os.Stderr, "FAIL:", err)
			code = 1
		}
	}
	os.Exit(code)
}

// wholePackageRan reports whether every test of the package was meant to
// run: the check would be noise under a filter, -short, -list or fuzzing.
func wholePackageRan() bool {
	if testing.Short() {
		return false
	}
	for _, name := range []string{"test.run", "test.skip", "test.list", "test.fuzz"} {
		if f := flag.Lookup(name); f != nil && f.Value.String() != "" {
			return false
		}
	}
	f := flag.Lookup("test.fuzzworker")
	return f == nil || f.Value.String() != "true"
}

// checkOperationsAnswered names the operations of account_management_api.json
// that no answered request (as "METHOD /path") maps to.
func checkOperationsAnswered(answered []string) error {
	spec, err := testenv.ReadThreescaleFile("account_management_api.json")
	if errors.Is(err, fs.ErrNotExist) && os.Getenv("CI") != "true" {
		fmt.Fprintln(os.Stderr, "operation coverage not checked:", err)
		return nil // the tests that need the file have said so
	}
	if err != nil {
		return err
	}
	templates, err := amTemplates(spec)
	if err != nil {
		return err
	}
	covered := map[string]bool{}
	for _, a := range answered {
		method, path, _ := strings.Cut(a, " ")
		if op, ok := amMatch(templates, method, path); ok {
			covered[op] = true
		}
	}
	var missing []string
	for _, tp := range templates {
		if !covered[tp.op] {
			missing = append(missing, tp.op)
		}
	}
	if len(missing) == 0 {
		return nil
	}
	sort.Strings(missing)
	return fmt.Errorf("%d of the %d operations of account_management_api.json were never answered with a 2xx:\n\t%s",
		len(missing), len(templates), strings.Join(missing, "\n\t"))
}

// amTemplate is one operation of the spec with a pattern for its paths.
type amTemplate struct {
	op     string // amOperation's name
	method string
	re     *regexp.Regexp // the path without .json/.xml
	params int
}

// amTemplates lists the operations of an OpenAPI document's paths.
func amTemplates(doc []byte) ([]amTemplate, error) {
	var d struct {
		Paths map[string]map[string]json.RawMessage `json:"paths"`
	}
	if err := json.Unmarshal(doc, &d); err != nil {
		return nil, fmt.Errorf("parse account_management_api.json: %w", err)
	}
	var out []amTemplate
	for path, ops := range d.Paths {
		bare := strings.TrimSuffix(strings.TrimSuffix(path, ".json"), ".xml")
		literals := amParam.Split(bare, -1)
		for i := range literals {
			literals[i] = regexp.QuoteMeta(literals[i])
		}
		re := regexp.MustCompile("^" + strings.Join(literals, "[^/]+") + "$")
		for method := range ops {
			switch m := strings.ToUpper(method); m {
			case "GET", "PUT", "POST", "DELETE", "PATCH":
				out = append(out, amTemplate{op: amOperation(m, path), method: m, re: re, params: len(literals) - 1})
			}
		}
	}
	return out, nil
}

// amMatch maps a request to its operation: of the templates its path
// matches, the most literal (GET /admin/api/accounts/find is not
// GET /admin/api/accounts/{id}).
func amMatch(templates []amTemplate, method, path string) (string, bool) {
	bare := strings.TrimSuffix(strings.TrimSuffix(path, ".json"), ".xml")
	best := -1
	for i, tp := range templates {
		if tp.method == method && tp.re.MatchString(bare) && (best < 0 || tp.params < templates[best].params) {
			best = i
		}
	}
	if best < 0 {
		return "", false
	}
	return templates[best].op, true
}

func TestAMMatchPrefersTheMostLiteralPath(t *testing.T) {
	templates, err := amTemplates([]byte(`{"paths":{
		"/admin/api/accounts/{id}.json":{"get":{},"put":{}},
		"/admin/api/accounts/find.json":{"get":{}}}}`))
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ method, path, want string }{
		{"GET", "/admin/api/accounts/find.json", "GET /admin/api/accounts/find"},
		{"GET", "/admin/api/accounts/7.xml", "GET /admin/api/accounts/{}"},
		{"PUT", "/admin/api/accounts/find.json", "PUT /admin/api/accounts/{}"},
		{"DELETE", "/admin/api/accounts/7.json", ""},
		{"GET", "/admin/api/accounts/7/users.json", ""},
	} {
		if got, _ := amMatch(templates, c.method, c.path); got != c.want {
			t.Errorf("%s %s: got %q, want %q", c.method, c.path, got, c.want)
		}
	}
}
