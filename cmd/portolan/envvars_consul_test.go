package main

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/portolan/portolan/internal/testenv"
)

// An agent given no --consul registers with the Consul agent that
// CONSUL_HTTP_ADDR names, as the consul CLI would talk to it.
func TestAgentHonoursConsulHTTPAddr(t *testing.T) {
	cs := testenv.StartConsul(t)
	client := cs.Client(t)
	t.Setenv("CONSUL_HTTP_ADDR", cs.HTTPAddr) // no scheme, as Consul's docs write it
	a := testenv.StartAgentAt(t, "", "--service", "consul-env-probe", "--address", "127.0.0.1", "--port", "4000", "--", "sleep", "60")
	require.Eventually(t, func() bool {
		entries, _, err := client.Catalog().Service("consul-env-probe", "", nil)
		return err == nil && len(entries) == 1
	}, 10*time.Second, 20*time.Millisecond, "registered through CONSUL_HTTP_ADDR:\n%s", a.Output)
}
