package agent

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/portolan/portolan/internal/testenv"
	"github.com/portolan/portolan/registry"
)

// --check-exec is one string: its arguments are split as a shell splits
// them, quotes and backslashes included, so that a check can be a shell
// command (sh -c '…', Docker's --health-cmd habit) or take an argument
// with a space, as Consul's args list and Docker's exec form can.
func TestExecCheckTakesQuotedArguments(t *testing.T) {
	command := `sh -c 'printf "%s|" "$@"' check 'two words' "double \"quoted\" \$HOME" back\ slash '' end`
	a := testenv.StartAgentAt(t, "", "--check-exec", command, "--check-interval", "100ms", "--", "sleep", "60")
	a.ID()
	var self map[string]any
	require.Eventually(t, func() bool {
		self, _ = a.Self()
		return self["status"] == registry.StatusPassing
	}, 10*time.Second, 20*time.Millisecond, "the check runs as written: %v", self)
	assert.Equal(t, `two words|double "quoted" $HOME|back slash||end|`, self["output"])
	assert.Equal(t, "exec sh …", CheckConfig{Exec: command}.describe(), "shown by its program alone")
	assert.Equal(t, "exec my app …", CheckConfig{Exec: `'my app' --password 's3 cret'`}.describe())
}

// A command whose quotes do not close is refused at start, naming the
// flag, rather than run as a check that can never pass.
func TestExecCheckUnterminatedQuoteRefused(t *testing.T) {
	for _, command := range []string{`sh -c 'exit 0`, `sh -c "exit 0`, `sh -c exit\`} {
		_, err := CheckConfig{Exec: command}.build()
		assert.ErrorContains(t, err, "--check-exec", command)
	}
	_, err := CheckConfig{Exec: `  ''  `}.build()
	assert.ErrorContains(t, err, "--check-exec", "no program")
}
