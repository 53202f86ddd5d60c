package coordinator

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"time"

	consul "github.com/hashicorp/consul/api"

	"github.com/portolan/portolan/registry/consulcatalog"
)

// client returns a Consul API client for the configuration.
func (cc *ConsulConfig) client() (*consul.Client, error) {
	return cc.newClient(consul.DefaultNonPooledConfig())
}

func (cc *ConsulConfig) newClient(ccfg *consul.Config) (*consul.Client, error) {
	ccfg.Address, ccfg.Token, ccfg.Datacenter = cc.Address, cc.Token, cc.Datacenter
	client, err := consul.NewClient(ccfg)
	if err != nil {
		return nil, fmt.Errorf("--consul %s: %w", cc.Address, err)
	}
	return client, nil
}

// consulCallTimeout bounds a Consul call that is not a blocking query: the
// local agent answers those at once, or within its RPC hold time (7 s) when
// it lost its servers.
const consulCallTimeout = 10 * time.Second

// clientUntil returns a Consul API client whose blocking queries end when
// stop does and whose other calls end after consulCallTimeout. It is for
// consul/api's Lock, which takes no context: without it a coordinator
// waiting for a lock would make Stop wait out a whole blocking query, and a
// release to an unreachable Consul would hang. The release itself still goes
// out after stop has ended.
func (cc *ConsulConfig) clientUntil(stop context.Context) (*consul.Client, error) {
	ccfg := consul.DefaultNonPooledConfig()
	hc, err := consul.NewHttpClient(ccfg.Transport, ccfg.TLSConfig)
	if err != nil {
		return nil, fmt.Errorf("--consul %s: %w", cc.Address, err)
	}
	hc.Transport = boundedCalls{base: hc.Transport, stop: stop}
	ccfg.HttpClient = hc
	return cc.newClient(ccfg)
}

// boundedCalls is clientUntil's transport.
type boundedCalls struct {
	base http.RoundTripper
	stop context.Context
}

// RoundTrip implements http.RoundTripper.
func (b boundedCalls) RoundTrip(req *http.Request) (*http.Response, error) {
	var ctx context.Context
	var cancel context.CancelFunc
	if req.URL.Query().Has("index") { // a blocking query
		ctx, cancel = context.WithCancel(req.Context())
		unhook := context.AfterFunc(b.stop, cancel)
		cancelCtx := cancel
		cancel = func() { unhook(); cancelCtx() }
	} else {
		ctx, cancel = context.WithTimeout(req.Context(), consulCallTimeout)
	}
	resp, err := b.base.RoundTrip(req.WithContext(ctx))
	if err != nil {
		cancel()
		return nil, err
	}
	resp.Body = cancelOnClose{ReadCloser: resp.Body, cancel: cancel}
	return resp, nil
}

// cancelOnClose ends a response's context once its body is closed.
type cancelOnClose struct {
	io.ReadCloser
	cancel context.CancelFunc
}

func (c cancelOnClose) Close() error {
	err := c.ReadCloser.Close()
	c.cancel()
	return err
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
