package coordinator

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/portolan/portolan/composition/consulstore"
)

// ConsulPrefixMax bounds a Consul prefix (--consul-prefix): a KV folder's
// name, not data. Its leading and trailing "/" are not counted, so that the
// folder ConsulPrefix makes of a prefix (a "/" added) reads as itself again,
// as New reads the one the CLI gives it.
const ConsulPrefixMax = 256

// ConsulPrefix reads a Consul KV prefix (--consul-prefix) as the folder it
// names. Keys are the prefix and a name put together, so "portolan" and
// "portolan/" must both be the folder portolan/ (not keys
// "portolancomposition/..."); a leading "/" is dropped, as Consul's own
// client drops it when it reads. Consul's HTTP API cleans a key's path
// (Go's ServeMux redirects "//", "." and ".." away), so a prefix with those
// would read and write other keys than it names, and it refuses a key with
// a rune that is not printable: either is refused here, naming the flag,
// as is an empty prefix (the KV root).
func ConsulPrefix(raw string) (string, error) {
	bad := func(why string) error {
		return fmt.Errorf("--consul-prefix %q: %s; give a Consul KV folder such as portolan/ or team-a/portolan/", raw, why)
	}
	switch {
	case len(strings.TrimSuffix(strings.TrimPrefix(raw, "/"), "/")) > ConsulPrefixMax:
		return "", bad(fmt.Sprintf("longer than %d bytes", ConsulPrefixMax))
	case !utf8.ValidString(raw):
		return "", bad("not valid UTF-8")
	}
	// Consul answers 400 to a key path holding any rune Go does not call
	// printable: control characters, but also no-break, zero-width and
	// other non-ASCII spaces.
	if i := strings.IndexFunc(raw, func(r rune) bool { return !unicode.IsPrint(r) }); i >= 0 {
		r, _ := utf8.DecodeRuneInString(raw[i:])
		return "", bad(fmt.Sprintf("holds %U, a control character or another that is not printable, which Consul refuses in a key", r))
	}
	p := strings.TrimPrefix(raw, "/")
	if p == "" {
		// The KV root would mix Portolan's keys with everything else in Consul.
		return "", bad("empty: the composition needs a folder of its own")
	}
	for _, seg := range strings.Split(strings.TrimSuffix(p, "/"), "/") {
		switch seg {
		case "":
			return "", bad(`an empty segment ("//"), which Consul's HTTP API would clean away`)
		case ".", "..":
			return "", bad(fmt.Sprintf("a %q segment, which Consul's HTTP API would resolve to another folder", seg))
		}
	}
	if !strings.HasSuffix(p, "/") {
		p += "/"
	}
	return p, nil
}

// resolved is cc with Prefix read as the folder it names (ConsulPrefix),
// the default folder when it is empty: New takes it so that every entry
// point, the CLI or a program embedding the coordinator, keeps its keys
// where the prefix says. A copy: the caller's config is left as given.
func (cc *ConsulConfig) resolved() (*ConsulConfig, error) {
	out := *cc
	if out.Prefix == "" {
		out.Prefix = consulstore.DefaultPrefix
	}
	p, err := ConsulPrefix(out.Prefix)
	if err != nil {
		return nil, err
	}
	out.Prefix = p
	return &out, nil
}
