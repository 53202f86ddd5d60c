package policy

import (
	"encoding/json"
	"time"
)

// upstreamConnection is APIcast's upstream_connection policy (the issue's
// "timeouts"): "Allows to configure several options for the connections to
// the upstream" (manifest): connect_timeout, "Timeout for establishing a
// connection (in seconds)"; send_timeout, "Timeout between two successive
// write operations (in seconds)"; read_timeout, "Timeout between two
// successive read operations (in seconds)"; numbers, the last two
// exclusiveMinimum 0. As nginx, an upstream that times out is answered 504.
// For a WebSocket the timeouts bound the handshake only; the switched
// connection is closed once nothing has passed either way for read_timeout,
// as nginx closes an upgraded connection idle for proxy_read_timeout.
type upstreamConnection struct{ t Timeouts }

func newUpstreamConnection(conf json.RawMessage, _ *Env) (Policy, error) {
	var cfg struct {
		Connect *float64 `json:"connect_timeout"`
		Send    *float64 `json:"send_timeout"`
		Read    *float64 `json:"read_timeout"`
	}
	if err := Decode(conf, &cfg); err != nil {
		return nil, err
	}
	var t Timeouts
	for _, f := range []struct {
		name string
		v    *float64
		dst  *time.Duration
	}{{"connect_timeout", cfg.Connect, &t.Connect}, {"send_timeout", cfg.Send, &t.Send}, {"read_timeout", cfg.Read, &t.Read}} {
		if f.v == nil {
			continue
		}
		// The schema lets connect_timeout be 0 or less; nginx refuses a zero
		// or negative timeout, so the gateway does too.
		if *f.v <= 0 {
			return nil, Invalid(f.name, "must be a number of seconds greater than 0, not %v", *f.v)
		}
		if *f.v > 24*3600 {
			return nil, Invalid(f.name, "must be at most a day (86400 seconds), not %v", *f.v)
		}
		*f.dst = time.Duration(*f.v * float64(time.Second))
		if *f.dst < time.Millisecond {
			return nil, Invalid(f.name, "must be at least 0.001 seconds (nginx's resolution), not %v", *f.v)
		}
	}
	return &upstreamConnection{t: t}, nil
}

func (p *upstreamConnection) Name() string { return "upstream_connection" }

// Rewrite sets the timeouts for the content phase.
func (p *upstreamConnection) Rewrite(c *Context) { c.Timeouts = p.t }
