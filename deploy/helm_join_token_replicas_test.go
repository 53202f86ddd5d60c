package deploy_test

import (
	"strings"
	"testing"
)

// TestHelmChartRefusesJoinTokenWithSeveralCoordinators: values.yaml says
// of the bootstrap agent token that it is "Needed with several
// coordinators, since a join token made by `portolan token create` is kept
// in the data dir of the coordinator that made it" (another coordinator,
// on the same Consul, answers it 401). The news example given a join token
// with several coordinators would leave every pod that reaches another
// coordinator unregistered, so the chart refuses to render it, saying what
// to set instead.
func TestHelmChartRefusesJoinTokenWithSeveralCoordinators(t *testing.T) {
	bin := helmBinary(t)
	out, stderr, err := helm(t, bin, "template", "portolan", chart, "--values", chart+"/ci/consul-values.yaml",
		"--set", "newsExample.joinToken=news", "--set-string", "joinTokens.news=ptj1.example-join-token")
	if err == nil {
		t.Fatalf("rendered:\n%s", out)
	}
	for _, says := range []string{"replicas is 3 but newsExample.joinToken is \"news\"", "tokens.agentToken.enabled"} {
		if !strings.Contains(stderr, says) {
			t.Errorf("stderr %q does not say %q", stderr, says)
		}
	}
}
