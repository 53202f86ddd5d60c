package gossip

import (
	"bytes"
	"log"
	"sync"
	"time"

	"github.com/rs/zerolog"
)

// Memberlist's errors are logged at most errorBurst in each errorWindow.
// Anyone who reaches the gossip port makes memberlist report one for each
// packet or connection it sends without the key or the cluster's label
// ("discarding packet with unacceptable label", "Decrypt packet failed"):
// a line each would let an outsider, with one UDP send per line from any
// source address, fill the node's disk through its log.
const (
	errorBurst  = 10
	errorWindow = time.Minute
)

// memberlistLog adapts memberlist's *log.Logger to zerolog: each line
// ("[DEBUG] memberlist: ...") becomes one event, at debug level, or at warn
// for memberlist's errors (a wrong key or label knocking, a failed send),
// those at most errorBurst in each errorWindow; the first logged after some
// were held back says how many ("suppressed").
type memberlistLog struct {
	log zerolog.Logger

	mu         sync.Mutex
	window     time.Time // start of the current errorWindow
	logged     int       // errors logged in it
	suppressed int       // errors held back since the last one logged
}

func newMemberlistLogger(l zerolog.Logger) *log.Logger {
	return log.New(&memberlistLog{log: l}, "", 0)
}

func (w *memberlistLog) Write(p []byte) (int, error) {
	line := bytes.TrimSpace(p)
	level, tag := zerolog.DebugLevel, "debug"
	if len(line) > 0 && line[0] == '[' {
		if end := bytes.IndexByte(line, ']'); end > 0 {
			switch string(line[1:end]) {
			case "ERR", "ERROR":
				level, tag = zerolog.WarnLevel, "error"
			case "WARN":
				tag = "warn"
			case "INFO":
				tag = "info"
			}
			line = bytes.TrimSpace(line[end+1:])
		}
	}
	suppressed := 0
	if level == zerolog.WarnLevel {
		var ok bool
		if suppressed, ok = w.admitError(); !ok {
			return len(p), nil
		}
	}
	line = bytes.TrimPrefix(line, []byte("memberlist: "))
	ev := w.log.WithLevel(level).Str("component", "memberlist").Str("memberlist_level", tag)
	if suppressed > 0 {
		ev = ev.Int("suppressed", suppressed)
	}
	ev.Msg(string(line))
	return len(p), nil
}

// admitError tells whether an error may be logged now, and how many were
// held back before it.
func (w *memberlistLog) admitError() (suppressed int, ok bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if now := time.Now(); now.Sub(w.window) >= errorWindow {
		w.window, w.logged = now, 0
	}
	if w.logged >= errorBurst {
		w.suppressed++
		return 0, false
	}
	w.logged++
	suppressed, w.suppressed = w.suppressed, 0
	return suppressed, true
}
