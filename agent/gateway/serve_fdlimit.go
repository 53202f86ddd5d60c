package gateway

import (
	"github.com/rs/zerolog"

	"github.com/portolan/portolan/internal/fdbudget"
)

// boundedConns is want lowered so that the gateway's clients and their
// upstream connections leave the agent descriptors of its own (its health
// probe, heartbeat, usage journal) however many clients come, with a
// warning as nginx warns of worker_connections that "exceed open file
// resource limit".
func boundedConns(want int, log zerolog.Logger) int {
	nofile := fdbudget.Limit()
	got, lowered := fdbudget.Bound(want, fdbudget.ProxyConns(nofile))
	if lowered {
		log.Warn().Int("max_connections", want).Uint64("open_file_limit", nofile).Int("bounded_to", got).
			Msg("gateway: max connections exceed the open file limit; bounded so the agent keeps descriptors of its own")
	}
	return got
}
