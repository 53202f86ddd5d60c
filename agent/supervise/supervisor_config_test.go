//go:build linux

package supervise_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/portolan/portolan/agent/supervise"
)

// The in-process tests below start nothing: the command is not found, or
// the configuration is refused.

func TestNewSupervisorRefusesBadConfig(t *testing.T) {
	for name, cfg := range map[string]supervise.Config{
		"no command":     {},
		"empty command":  {Command: []string{""}},
		"negative drain": {Command: []string{"true"}, Drain: -time.Second},
		"negative stop":  {Command: []string{"true"}, StopTimeout: -time.Second},
	} {
		_, err := supervise.New(cfg)
		assert.Error(t, err, name)
	}
}

func TestRunCommandThatCannotStart(t *testing.T) {
	notExec := filepath.Join(t.TempDir(), "not-executable")
	require.NoError(t, os.WriteFile(notExec, []byte("#!/bin/sh\n"), 0o644))
	for _, tc := range []struct {
		command string
		want    int
	}{
		{"portolan-no-such-command", supervise.ExitNotFound},
		{filepath.Join(t.TempDir(), "missing"), supervise.ExitNotFound},
		{notExec, supervise.ExitCannotExecute},
	} {
		s, err := supervise.New(supervise.Config{Command: []string{tc.command}})
		require.NoError(t, err)
		code, err := s.Run(context.Background())
		assert.Error(t, err, tc.command)
		assert.Equal(t, tc.want, code, tc.command)
		assert.Zero(t, s.PID())
		_, err = s.Wait(context.Background())
		assert.Error(t, err, "Wait without a started CMD")
	}
}
