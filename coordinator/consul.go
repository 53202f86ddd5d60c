package coordinator

import (
	"context"
	"fmt"

	consul "github.com/hashicorp/consul/api"

	"github.com/portolan/portolan/registry/consulcatalog"
)

// client returns a Consul API client for the configuration.
func (cc *ConsulConfig) client() (*consul.Client, error) {
	ccfg := consul.DefaultNonPooledConfig()
	ccfg.Address, ccfg.Token, ccfg.Datacenter = cc.Address, cc.Token, cc.Datacenter
	client, err := consul.NewClient(ccfg)
	if err != nil {
		return nil, fmt.Errorf("--consul %s: %w", cc.Address, err)
	}
	return client, nil
}

// followCatalog puts every instance registered in the datacenter's Consul
// catalog on the map, following it with blocking queries until stop.
func (c *Coordinator) followCatalog() (stop func(), err error) {
	client, err := c.cfg.Consul.client()
	if err != nil {
		return nil, err
	}
	reader := consulcatalog.New(client)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		log := c.cfg.Logger.With().Str("component", "consulcatalog").Logger()
		reader.Watch(ctx, c.cfg.Consul.Datacenter, c.instances.SetCatalog, func(err error) {
			log.Warn().Err(err).Msg("reading the Consul catalog; the map keeps the instances it last read")
		})
	}()
	return func() { cancel(); <-done }, nil
}
