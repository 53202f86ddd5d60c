package agent

import (
	"strings"
	"unicode/utf8"

	"github.com/portolan/portolan/registry"
)

// boundOutput makes a check's output one home takes: valid UTF-8, at most
// registry.MaxOutputLen bytes, cut at a character boundary. Home measures
// the output as it decodes it from JSON, where each invalid byte would have
// become U+FFFD (three bytes), and a character cut in half would be one:
// an output cut by bytes alone can come out longer than the bound, and home
// then refuses every heartbeat and the registration that carry it.
func boundOutput(s string) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	if len(s) <= registry.MaxOutputLen {
		return s
	}
	n := registry.MaxOutputLen
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}
