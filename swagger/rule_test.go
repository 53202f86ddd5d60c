package swagger

import (
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParseRule(t *testing.T) {
	tests := []struct{ in, want string }{
		{"tag:Services", "tag:Services"},
		{"  tag:Services  ", "tag:Services"},
		{"tag:Application Plans", "tag:Application Plans"},
		{`tag:"Application Plans"`, "tag:Application Plans"},
		{`tag:" padded "`, `tag:" padded "`},
		{`tag:""quoted""`, `tag:""quoted""`},
		{`tag:"half`, `tag:"half`},
		{"op:listPets", "op:listPets"},
		{"op: listPets", "op:listPets"},
		{"GET /admin/api/services/*", "GET /admin/api/services/*"},
		{"get /admin/api/services/**", "GET /admin/api/services/**"},
		{"*\t/admin/api/accounts/**/", "* /admin/api/accounts/**"},
		{"DELETE **", "DELETE **"},
		{"patch **/{id}.json", "PATCH **/{id}.json"},
		{"POST /", "POST /"},
		{"HEAD /a/{id}.xml", "HEAD /a/{id}.xml"},
	}
	for _, tt := range tests {
		r, err := ParseRule(tt.in)
		require.NoError(t, err, tt.in)
		assert.Equal(t, tt.want, r.String(), tt.in)
		again, err := ParseRule(r.String())
		require.NoError(t, err)
		assert.Equal(t, r, again, "String() reads back as the same rule")
	}
}

func TestParseRuleErrors(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", "empty"},
		{"   ", "empty"},
		{"tag:", "no tag name"},
		{`tag:""`, "no tag name"},
		{"op:", "no operationId name"},
		{"tag:a\x00b", "control character"},
		{"Services", "want tag:NAME, op:OPERATION_ID or METHOD PATH_GLOB"},
		{"FETCH /a", `unknown method "FETCH"`},
		{"GET admin/api", "does not start with /"},
		{"GET /a/**b", "** inside a segment"},
		{"GET /a//b", "empty segment"},
		{"GET /a?x=1", "not queries"},
		{"GET /a b", "space"},
		{"GET /a/{id", "unbalanced"},
		{"GET /a/{}", "needs a name"},
		{"GET /a/id}", "unbalanced"},
		{"GET /\xff", "UTF-8"},
		{"GET /" + strings.Repeat("a", maxRuleLen), "longer than"},
	}
	for _, tt := range tests {
		_, err := ParseRule(tt.in)
		require.Error(t, err, tt.in)
		assert.Contains(t, err.Error(), tt.want, tt.in)
		if len(tt.in) < 100 {
			assert.Contains(t, err.Error(), fmt.Sprintf("%q", tt.in), "the error names the rule")
		}
	}
}

func TestRuleMatches(t *testing.T) {
	services := Operation{Method: "GET", Path: "/admin/api/services/{id}.xml", Tags: []string{"Services"}}
	list := Operation{Method: "GET", Path: "/admin/api/services.xml", Tags: []string{"Services"}}
	metric := Operation{Method: "DELETE", Path: "/admin/api/services/{service_id}/metrics/{id}.xml", Tags: []string{"Services", "Metrics"}}
	pet := Operation{Method: "POST", Path: "/pets", ID: "createPet"}
	root := Operation{Method: "GET", Path: "/"}
	tests := []struct {
		rule string
		op   Operation
		want bool
	}{
		{"tag:Services", services, true},
		{"tag:Metrics", metric, true},
		{"tag:services", services, false},
		{"tag:Services", pet, false},
		{"op:createPet", pet, true},
		{"op:createpet", pet, false},
		{"op:x", services, false},
		{"GET /admin/api/services/*", services, true},
		{"GET /admin/api/services/*", list, false},
		{"GET /admin/api/services/*", metric, false},
		{"* /admin/api/services/**", metric, true},
		{"GET /admin/api/services/**", metric, false},
		{"* /admin/api/services/**", list, false},
		{"* /admin/api/*", list, true},
		{"* /admin/api/services*", list, true},
		{"GET /admin/api/services/*.xml", services, true},
		{"GET /admin/api/services/*.json", services, false},
		{"GET /admin/api/services/{id}.xml", services, true},
		{"GET /admin/api/services/{service}.xml", services, true},
		{"* /admin/api/services/{x}/metrics/{y}.xml", metric, true},
		{"* /admin/api/services/{x}", services, false},
		{"GET /admin/api/services/{id}*", services, true},
		{"* **", metric, true},
		{"* /**", root, true},
		{"GET /", root, true},
		{"GET /", pet, false},
		{"* /**/metrics/*", metric, true},
		{"* /admin/**/**/{id}.xml", metric, true},
		{"* /admin/**/services/**/{id}.xml", services, true},
		{"POST /pets", pet, true},
		{"GET /pets", pet, false},
		{"* /pets/**", pet, true},
		{"* /pets/*", pet, false},
	}
	for _, tt := range tests {
		r, err := ParseRule(tt.rule)
		require.NoError(t, err)
		assert.Equal(t, tt.want, r.Matches(tt.op), "%s matches %s", tt.rule, tt.op)
	}
	assert.False(t, Rule{}.Matches(services), "the zero rule matches nothing")
}

func FuzzParseRule(f *testing.F) {
	for _, s := range []string{"tag:Services", `tag:"A B"`, "op:x", "GET /a/*", "* /a/**/{id}.json", "DELETE **"} {
		f.Add(s)
	}
	ops := []Operation{
		{Method: "GET", Path: "/admin/api/services/{id}.xml", Tags: []string{"Services"}},
		{Method: "POST", Path: "/a/b/c", ID: "op"},
		{Method: "DELETE", Path: "/"},
	}
	f.Fuzz(func(t *testing.T, s string) {
		r, err := ParseRule(s)
		if err != nil {
			if r.String() != "" {
				t.Fatalf("ParseRule(%q) failed but returned a rule %q", s, r.String())
			}
			return
		}
		again, err := ParseRule(r.String())
		if err != nil {
			t.Fatalf("ParseRule(%q).String() = %q does not parse: %v", s, r.String(), err)
		}
		if again.String() != r.String() {
			t.Fatalf("round trip of %q: %q then %q", s, r.String(), again.String())
		}
		for _, op := range ops {
			if r.Matches(op) != again.Matches(op) {
				t.Fatalf("%q and its round trip %q disagree on %s", s, r.String(), op)
			}
		}
	})
}
