package coordinator_test

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/portolan/portolan/internal/testenv"
)

// TestImageVersionThatIsNoPositiveIntegerIsRefusedByName: a version: that
// is not an integer of 1 or more, as YAML or as JSON, is a 422 that names
// the version field and writes nothing; none of them is read as some other
// version (a string "3" as 3, 3.5 as 3, a huge number as the largest).
func TestImageVersionThatIsNoPositiveIntegerIsRefusedByName(t *testing.T) {
	co := testenv.StartCoordinator(t)
	home, id := registeredWith(t, co, scopedToken(t, co, "news"), "news")
	rev := co.Revision(t)
	yamlDoc := func(v string) string {
		return "apiVersion: portolan.dev/v1\nkind: Service\nsystem_name: news\nname: News\n" + v + "\n"
	}
	jsonDoc := func(v string) string {
		return `{"apiVersion":"portolan.dev/v1","kind":"Service","system_name":"news","name":"News"` + v + `}`
	}
	for name, body := range map[string]string{
		"absent":                    yamlDoc(""),
		"null":                      yamlDoc("version: null"),
		"0":                         yamlDoc("version: 0"),
		"negative":                  yamlDoc("version: -4"),
		"a quoted number":           yamlDoc(`version: "4"`),
		"a word":                    yamlDoc("version: four"),
		"a fraction":                yamlDoc("version: 3.5"),
		"a float that is whole":     yamlDoc("version: 4.0"),
		"an exponent":               yamlDoc("version: 1e3"),
		"beyond int64":              yamlDoc("version: 9223372036854775808"),
		"far beyond int64":          yamlDoc("version: 99999999999999999999999999999999"),
		"the most negative int64":   yamlDoc("version: -9223372036854775808"),
		"infinity":                  yamlDoc("version: .inf"),
		"a boolean":                 yamlDoc("version: true"),
		"a list":                    yamlDoc("version: [4]"),
		"a mapping":                 yamlDoc("version: {v: 4}"),
		"twice":                     yamlDoc("version: 4\nversion: 5"),
		"JSON: a string":            jsonDoc(`,"version":"4"`),
		"JSON: a fraction":          jsonDoc(`,"version":4.5`),
		"JSON: beyond int64":        jsonDoc(`,"version":18446744073709551616`),
		"JSON: negative":            jsonDoc(`,"version":-1`),
		"JSON: 0":                   jsonDoc(`,"version":0`),
		"JSON: null":                jsonDoc(`,"version":null`),
		"JSON: an exponent integer": jsonDoc(`,"version":4e0`),
	} {
		t.Run(name, func(t *testing.T) {
			code, answer, _ := putImageBody(t, co, home.Credential(), id, body)
			assert.Equal(t, http.StatusUnprocessableEntity, code, answer)
			assert.Contains(t, answer, "version", "the answer names the field")
		})
	}
	require.Equal(t, rev, co.Revision(t), "nothing was written")
	assert.Empty(t, exported(t, co).Services)
}
