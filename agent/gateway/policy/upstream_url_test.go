package policy

import (
	"encoding/json"
	"strconv"
	"testing"

	"github.com/stretchr/testify/assert"
)

// An upstream or routing URL that is refused is never repeated with the
// credentials it may hold (user info, query): the error goes to home's
// answer and to the agent's log.
func TestUpstreamURLErrorsHideCredentials(t *testing.T) {
	for _, s := range []string{"ftp://u:s3cret@h", "https://u:s3cret@", "https://u:s3cret@/?key=s3cret",
		"http://u:s3cret@h:bad/", "http://u:s3cret@h/%zz", "ftp://h/?token=s3cret"} {
		for _, policy := range []string{"upstream", "routing"} {
			mk, _ := builtin(policy)
			_, err := mk(json.RawMessage(`{"rules":[{"regex":"/","url":`+strconv.Quote(s)+`}]}`), edgeTestEnv())
			if assert.Error(t, err, s) {
				assert.NotContains(t, err.Error(), "s3cret", s)
				assert.Contains(t, err.Error(), "rules[0].url", s)
			}
		}
	}
}
