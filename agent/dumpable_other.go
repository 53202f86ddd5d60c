//go:build !linux

package agent

import "github.com/rs/zerolog"

// makeNonDumpable does nothing outside Linux, which has no prctl: see
// dumpable_linux.go.
func makeNonDumpable(zerolog.Logger) {}
