package gateway

import (
	"cmp"

	"github.com/rs/zerolog"

	"github.com/portolan/portolan/internal/fdbudget"
)

// boundedConns is the gateway's connection bound lowered so that its clients and their upstream
// connections leave the agent descriptors of its own (its health probe,
// heartbeat, usage journal) however many clients come. A configured bound
// lowered is warned of, as nginx warns of worker_connections that "exceed
// open file resource limit"; DefaultMaxConns lowered is only said, at info:
// on a host whose limit is a few thousand it is what the limit allows.
func boundedConns(want int, log zerolog.Logger) int {
	want = cmp.Or(want, DefaultMaxConns)
	nofile := fdbudget.Limit()
	got, lowered := fdbudget.Bound(want, fdbudget.ProxyConns(nofile))
	if !lowered {
		return got
	}
	ev := log.Info()
	if want != DefaultMaxConns {
		ev = log.Warn()
	}
	ev.Int("max_connections", want).Uint64("open_file_limit", nofile).Int("bounded_to", got).
		Msg("gateway: max connections exceed the open file limit; bounded so the agent keeps descriptors of its own")
	return got
}
