package coordinator

import (
	"context"
	"fmt"
	"strings"
	"time"

	consul "github.com/hashicorp/consul/api"
)

// consulPrefixProbeTimeout bounds CheckPrefixMoved's two reads.
const consulPrefixProbeTimeout = 10 * time.Second

// CheckPrefixMoved, given --consul-prefix as typed (cc.Prefix is it as a
// folder), refuses to start beside a composition where a Portolan
// before the prefix named a folder kept it: it glued --consul-prefix to the
// key names ("portolan" kept portolancomposition/meta), where the same flag
// now names portolan/. Starting would begin an empty composition beside the
// old one, and beside older coordinators still writing it in a rolling
// upgrade. Only the two meta keys are read; a Consul that does not answer
// them is left to the store's own errors.
func (cc *ConsulConfig) CheckPrefixMoved(ctx context.Context, raw string) error {
	prefix := cc.Prefix
	old := strings.TrimPrefix(raw, "/")
	if old == prefix {
		return nil
	}
	client, err := cc.client()
	if err != nil {
		return nil // the store reports it, naming --consul
	}
	ctx, cancel := context.WithTimeout(ctx, consulPrefixProbeTimeout)
	defer cancel()
	has := func(key string) (bool, error) {
		p, _, err := client.KV().Get(key, (&consul.QueryOptions{}).WithContext(ctx))
		return p != nil, err
	}
	if inOld, err := has(old + "composition/meta"); err != nil || !inOld {
		return nil
	}
	if inNew, err := has(prefix + "composition/meta"); err != nil || inNew {
		return nil
	}
	return fmt.Errorf("--consul-prefix %q names the Consul KV folder %s, but the composition is under %scomposition/, "+
		"where Portolan kept it before the prefix named a folder, and %scomposition/ holds none: stop every older coordinator, "+
		"then move the keys beginning %q to begin %q (consul kv export %s, rename, consul kv import) and start again",
		raw, prefix, old, prefix, old, prefix, old)
}
