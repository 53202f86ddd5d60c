package gossip

import (
	"bytes"
	"log"

	"github.com/rs/zerolog"
)

// memberlistLog adapts memberlist's *log.Logger to zerolog: each line
// ("[DEBUG] memberlist: ...") becomes one event, at debug level, or at warn
// for memberlist's errors (a wrong key or label knocking, a failed send).
type memberlistLog struct{ log zerolog.Logger }

func newMemberlistLogger(l zerolog.Logger) *log.Logger {
	return log.New(memberlistLog{log: l}, "", 0)
}

func (w memberlistLog) Write(p []byte) (int, error) {
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
	line = bytes.TrimPrefix(line, []byte("memberlist: "))
	w.log.WithLevel(level).Str("component", "memberlist").Str("memberlist_level", tag).Msg(string(line))
	return len(p), nil
}
