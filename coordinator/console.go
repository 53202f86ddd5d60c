package coordinator

import (
	"fmt"
	"net/http"

	"github.com/portolan/portolan/console"
)

// newConsole returns the web console over this coordinator's composition,
// instance registry and usage, logging in with its access tokens. Its
// session cookie is Secure when the API is served over TLS.
func (c *Coordinator) newConsole() (http.Handler, error) {
	ui, err := console.New(console.Config{
		Snapshot: c.store.Snapshot,
		Map:      c.instances,
		Usage:    c.usage,
		Tokens:   c.tokens,
		Secure:   c.tls.config != nil,
		Version:  c.cfg.Version,
		Logger:   c.cfg.Logger.With().Str("component", "console").Logger(),
	})
	if err != nil {
		return nil, fmt.Errorf("coordinator: the web console: %w", err)
	}
	return ui, nil
}
