package policy

import (
	"encoding/json"
	"errors"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"

	"github.com/portolan/portolan/composition"
)

// Validate checks the configuration of each enabled policy of configs that
// the gateway implements, by building it as Build would: the check the
// coordinator makes when a chain is saved and it has no APIcast manifests,
// so a chain is refused with the same words at home as the gateway would
// fail closed with. Policies the gateway does not implement are not
// checked here (3scale stores any policy by name and version; the gateway
// refuses them when it loads the chain). The error joins one *Unsupported
// per element at fault, in chain order; nil when none is.
func Validate(configs []composition.PolicyConfig) error {
	env := &Env{Log: zerolog.Nop(), Metrics: NewMetrics(prometheus.NewRegistry()), Shared: &Shared{}, Saving: true}
	var errs []error
	for i, pc := range configs {
		if !pc.Enabled || pc.Name == "apicast" {
			continue
		}
		mk, ok := builtin(pc.Name)
		if !ok {
			continue
		}
		conf := pc.Configuration
		if len(conf) == 0 || string(conf) == "null" {
			conf = json.RawMessage(`{}`)
		}
		if _, err := mk(conf, env); err != nil {
			errs = append(errs, &Unsupported{Policy: pc.Name, Index: i, Err: err})
		}
	}
	return errors.Join(errs...)
}
