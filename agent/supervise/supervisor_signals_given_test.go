//go:build linux

package supervise_test

import (
	"context"
	"os"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/portolan/portolan/agent/supervise"
)

// A SIGTERM that came while the agent started, on the channel it registered
// before anything else (Config.Signals), is Run's to handle: CMD is stopped
// at once, not left to run until the runtime's SIGKILL.
func TestSignalsGivenBeforeRunAreHandled(t *testing.T) {
	sigs := make(chan os.Signal, 1)
	sigs <- syscall.SIGTERM
	s, err := supervise.New(supervise.Config{Command: []string{"sleep", "30"}, Signals: sigs, StopTimeout: 5 * time.Second})
	require.NoError(t, err)
	start := time.Now()
	code, err := s.Run(context.Background())
	require.NoError(t, err)
	assert.Equal(t, 128+int(syscall.SIGTERM), code, "CMD died of the forwarded SIGTERM")
	assert.Less(t, time.Since(start), 10*time.Second)
}
