package deploy_test

import (
	"regexp"
	"testing"
)

// checksumTokens finds the coordinators' checksum/tokens annotation.
var checksumTokens = regexp.MustCompile(`checksum/tokens: ([0-9a-f]{64})`)

// TestHelmJoinTokenRestartsNoCoordinator: the coordinators' pod template
// carries a checksum of the token Secret "so that a changed token Secret
// rolls the coordinators". Join tokens are read by agents
// (--token-file), never by a coordinator: adding one must leave the
// checksum, and so the coordinators, alone.
func TestHelmJoinTokenRestartsNoCoordinator(t *testing.T) {
	bin := helmBinary(t)
	render := func(joinToken string) string {
		t.Helper()
		args := []string{"template", "portolan", chart, "--values", chart + "/ci/tls-existing-secret-values.yaml"}
		if joinToken != "" {
			args = append(args, "--set-string", "joinTokens.news="+joinToken)
		}
		out, stderr, err := helm(t, bin, args...)
		if err != nil {
			t.Fatalf("helm template: %v\n%s", err, stderr)
		}
		m := checksumTokens.FindStringSubmatch(out)
		if m == nil {
			t.Fatalf("no checksum/tokens annotation in:\n%s", out)
		}
		return m[1]
	}
	none, one, other := render(""), render("ptj1.first-join-token"), render("ptj1.second-join-token")
	if one != none || other != none {
		t.Errorf("checksum/tokens moved with the join tokens: %s without, %s and %s with", none, one, other)
	}
}
