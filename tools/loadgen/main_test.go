package main

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/portolan/portolan/internal/testenv"
)

// A small fleet against a real coordinator process: every instance
// registers, heartbeats flow without errors, and the figures are printed.
func TestLoadgenAgainstACoordinator(t *testing.T) {
	co := testenv.StartCoordinator(t, "--heartbeat", "1s", "--ttl", "5s")
	var out bytes.Buffer
	err := run(context.Background(), config{
		url: co.URL, token: testenv.AgentToken, instances: 200, interval: 200 * time.Millisecond,
		duration: 500 * time.Millisecond, conns: 8, service: "news",
	}, &out)
	require.NoError(t, err)
	t.Log(out.String())
	assert.Contains(t, out.String(), "registered 200 instances")
	assert.Regexp(t, `heartbeats: 1000/s asked, \d+/s achieved \([1-9]\d* in .*\), 0 errors\n`, out.String())
	assert.Contains(t, out.String(), "latency: p50 ")
}

func TestLoadgenRefusesAMissingToken(t *testing.T) {
	err := run(context.Background(), config{url: "http://127.0.0.1:1", instances: 1, interval: time.Second, duration: time.Second, conns: 1}, &bytes.Buffer{})
	assert.ErrorContains(t, err, "--token is required")
}
