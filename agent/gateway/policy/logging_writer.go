package policy

import (
	"sync"
	"unicode/utf8"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"
)

// Bounds of the access log: one value of a line, and the lines waiting to
// be written.
const (
	maxAccessValue  = 8 << 10
	maxAccessQueued = 1 << 20 // the lines being written included
)

// accessLog writes the access lines of a gateway's chains to its log, in
// the order they come. The log phase only queues a line; a goroutine,
// started when lines wait and ending when none do, writes them to the
// agent's log (a pipe that may stall). A request never waits for the log; a
// stalled log holds one goroutine and maxAccessQueued bytes of lines, those
// past it dropped ("dropped" event); a value is cut at maxAccessValue bytes.
//
// The lines go through the gateway's logger without its sampling (a burst
// a second suits its warnings, not an access log), at info level whatever
// the agent's --log-level: as APIcast's access log does not follow its
// error log's level, the policy's configuration decides.
type accessLog struct {
	mu      sync.Mutex
	queue   []accessEntry
	bytes   int
	running bool

	log     zerolog.Logger
	dropped prometheus.Counter
}

type accessEntry struct {
	service, message string
	json             bool
	pairs            []string // key, value, ... with json
	size             int      // its bytes, as the queue counts them
}

// sharedAccessLog is the gateway's access log, kept across chains so that
// a new composition revision neither reorders lines nor lifts the bound.
func sharedAccessLog(env *Env) *accessLog {
	mk := func() any {
		l := &accessLog{log: env.Log.Sample(nil).Level(zerolog.InfoLevel)}
		if env.Metrics != nil {
			l.dropped = env.Metrics.Policy.WithLabelValues("logging", "dropped")
		}
		return l
	}
	if env.Shared == nil {
		return mk().(*accessLog)
	}
	return env.Shared.Get("logging.access", mk).(*accessLog)
}

// add queues e, or drops it when the queue is full; it reports which.
func (l *accessLog) add(e accessEntry) bool {
	e.size = len(e.service) + len(e.message)
	for _, s := range e.pairs {
		e.size += len(s)
	}
	l.mu.Lock()
	if l.bytes > 0 && l.bytes+e.size > maxAccessQueued {
		l.mu.Unlock()
		inc(l.dropped)
		return false
	}
	l.queue = append(l.queue, e)
	l.bytes += e.size
	start := !l.running
	l.running = true
	l.mu.Unlock()
	if start {
		go l.drain()
	}
	return true
}

// drain writes the queued lines until none wait.
func (l *accessLog) drain() {
	for {
		l.mu.Lock()
		batch := l.queue
		if len(batch) == 0 {
			l.queue, l.running = l.queue[:0], false
			l.mu.Unlock()
			return
		}
		l.queue = nil
		l.mu.Unlock()
		n := 0
		for i := range batch {
			l.write(&batch[i])
			n += batch[i].size
		}
		l.mu.Lock()
		l.bytes -= n
		l.mu.Unlock()
	}
}

func (l *accessLog) write(e *accessEntry) {
	ev := l.log.Info().Str("kind", "access").Str("service", e.service)
	if !e.json {
		ev.Msg(e.message)
		return
	}
	d := zerolog.Dict()
	for i := 0; i+1 < len(e.pairs); i += 2 {
		d.Str(e.pairs[i], e.pairs[i+1])
	}
	ev.Dict("access", d).Send()
}

// clip cuts s to maxAccessValue bytes, at a character's start.
func clip(s string) string {
	if len(s) <= maxAccessValue {
		return s
	}
	i := maxAccessValue
	for i > 0 && !utf8.RuneStart(s[i]) {
		i--
	}
	return s[:i]
}
