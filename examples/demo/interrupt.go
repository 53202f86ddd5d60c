package main

// How the demo ends early: a signal cancels the run's context (main), every
// wait returns with it, and run's deferred calls stop the processes it
// started and remove its data dir.

import (
	"context"
	"os/exec"
	"time"
)

// agentStopTimeout bounds how long the demo waits for an agent it stopped
// before killing it.
const agentStopTimeout = 15 * time.Second

// pause waits d, or less when ctx ends first, and returns ctx's error then.
func pause(ctx context.Context, d time.Duration) error {
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(d):
		return nil
	}
}

// stopAgent waits for agent a, signalled, to exit, and kills it when it
// takes longer than agentStopTimeout.
func stopAgent(a *exec.Cmd) {
	exited := make(chan struct{})
	go func() { _ = a.Wait(); close(exited) }()
	select {
	case <-exited:
	case <-time.After(agentStopTimeout):
		_ = a.Process.Kill()
		<-exited
	}
}
