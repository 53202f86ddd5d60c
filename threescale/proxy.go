package threescale

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"reflect"
	"slices"
	"sort"
	"strconv"

	"github.com/portolan/portolan/composition"
)

// Proxy (gateway settings) and its deployed, versioned configs.

func (a *API) proxyRoutes() []Route {
	const base = "/admin/api/services/{service_id}/proxy"
	const configs = base + "/configs/{environment}"
	both := []Format{JSON, XML}
	return []Route{
		{Method: http.MethodGet, Path: base, Tag: "Gateway", Summary: "Proxy Read", Formats: both, handle: readProxy},
		{Method: http.MethodPut, Path: base, Tag: "Gateway", Summary: "Proxy Update", Formats: both, handle: updateProxy},
		{Method: http.MethodPatch, Path: base, Tag: "Gateway", Summary: "Proxy Update", Formats: both, handle: updateProxy},
		{Method: http.MethodPost, Path: base + "/deploy", Tag: "Gateway", Summary: "Proxy Deploy", Formats: both,
			Status: http.StatusCreated, handle: deployProxy},
		{Method: http.MethodGet, Path: configs, Tag: "Gateway", Summary: "Proxy Configs List (Service)", handle: listServiceProxyConfigs},
		{Method: http.MethodGet, Path: configs + "/latest", Tag: "Gateway", Summary: "Proxy Config Show Latest", handle: latestServiceProxyConfig},
		{Method: http.MethodGet, Path: configs + "/{version}", Tag: "Gateway", Summary: "Proxy Config Show", handle: showServiceProxyConfig},
		{Method: http.MethodPost, Path: configs + "/{version}/promote", Tag: "Gateway", Summary: "Proxy Config Promote",
			Status: http.StatusCreated, handle: promoteProxyConfig},
		{Method: http.MethodGet, Path: "/admin/api/account/proxy_configs/{environment}", Tag: "Proxy Configs for Provider",
			Summary: "Proxy Configs List (Provider)", handle: listAccountProxyConfigs},
	}
}

// writeProxy renders a proxy with its secret token and its policy chain, as
// 3scale does (policies_config is JSON text in XML).
func (c *call) writeProxy(p *composition.Proxy) error {
	chain, err := json.Marshal(composition.NormalizePolicyChain(p.PolicyChain))
	if err != nil {
		return err
	}
	enc := Encoder{Format: c.format, Secrets: true}
	extra := map[string]any{"policies_config": json.RawMessage(chain)}
	Write(c.w, c.format, c.status(), func(w io.Writer) error { return enc.OneWith(w, "proxy", p, extra) })
	return nil
}

func readProxy(c *call) error {
	id, err := c.id("service_id")
	if err != nil {
		return err
	}
	s := c.snapshot()
	p, _, err := proxyOf(s, id)
	if err != nil {
		return err
	}
	return c.writeProxy(proxyView(s, p))
}

// storeProxy writes n, creating the proxy when the service had none stored.
func storeProxy(tx *composition.Tx, n *composition.Proxy, exists bool) error {
	if exists {
		return tx.Update(n)
	}
	return tx.Create(n)
}

// storeProxyChange stores n, the edited copy of old, unless nothing
// changed: as porta saves nothing then, the proxy's updated_at stays, the
// config a deploy renders does not differ from the newest one, and a
// client that sends the same settings again adds no new sandbox version.
func storeProxyChange(tx *composition.Tx, n, old *composition.Proxy, exists bool) error {
	if exists && reflect.DeepEqual(n, old) {
		return nil
	}
	return storeProxy(tx, n, exists)
}

// updateProxy changes the proxy and, as 3scale, deploys the result to the
// sandbox when it differs from the newest sandbox config. As 3scale (porta's
// proxy_params), it takes only the proxy's own fields and ignores the rest of
// what a client sends: the toolbox copies a proxy by sending all of another
// proxy's JSON, lock_version, id and links included.
func updateProxy(c *call) error {
	id, err := c.id("service_id")
	if err != nil {
		return err
	}
	params := c.params
	if params.hasPrefix("proxy[") {
		params = params.sub("proxy")
	}
	setBackend := params.Has("api_backend")
	var out *composition.Proxy
	_, err = c.update(func(tx *composition.Tx) error {
		old, exists, err := proxyOf(tx.View(), id)
		if err != nil {
			return err
		}
		n := *old
		if err := Bind(params, &n, false); err != nil {
			return err
		}
		if setBackend {
			if err := setProxyAPIBackend(tx, &n); err != nil {
				return err
			}
		}
		if err := storeProxyChange(tx, &n, old, exists); err != nil {
			return err
		}
		out = proxyView(tx.View(), &n)
		_, err = deployProxyConfig(tx, id, proxyBackendOf(c), true)
		return err
	})
	if err != nil {
		return err
	}
	return c.writeProxy(out)
}

// setProxyAPIBackend makes p's api_backend the private endpoint of its
// product's first backend API, as in 3scale, where api_backend is that
// backend's private endpoint: the backend is changed, or, when the product
// has none, created with a usage at "/" (3scale's default backend: named
// after the product, with its system name). The proxy then stores no
// api_backend of its own. An empty api_backend changes nothing on a product
// without backends and is refused ("can't be blank") on one with a backend.
func setProxyAPIBackend(tx *composition.Tx, p *composition.Proxy) error {
	endpoint := p.APIBackend
	s := tx.View()
	if b := firstBackendAPI(s, p.ServiceID); b != nil {
		if b.PrivateEndpoint == endpoint {
			p.APIBackend = ""
			return nil
		}
		n := *b
		n.PrivateEndpoint = endpoint
		if err := tx.Update(&n); err != nil {
			return asAPIBackendError(err)
		}
		p.APIBackend = ""
		return nil
	}
	if endpoint == "" {
		return nil
	}
	svc, ok := s.Services.Get(p.ServiceID)
	if !ok {
		return ErrNotFound
	}
	b := &composition.BackendAPI{
		Name:            svc.Name + " Backend API",
		SystemName:      freeBackendSystemName(s, svc.SystemName),
		Description:     "Backend API of " + svc.Name,
		PrivateEndpoint: endpoint,
	}
	if err := tx.Create(b); err != nil {
		return asAPIBackendError(err)
	}
	if err := tx.Create(&composition.BackendUsage{ServiceID: svc.ID, BackendAPIID: b.ID, Path: "/"}); err != nil {
		return fmt.Errorf("mount the default backend of service %d: %w", svc.ID, err)
	}
	p.APIBackend = ""
	return nil
}

// asAPIBackendError reports a backend's invalid private endpoint as the
// proxy's api_backend, the field the client sent (3scale does the same).
func asAPIBackendError(err error) error {
	var v *composition.ValidationError
	if !errors.As(err, &v) {
		return err
	}
	out := &composition.ValidationError{}
	for field, msgs := range v.Fields {
		if field == "private_endpoint" {
			field = "api_backend"
		}
		for _, m := range msgs {
			out.Add(field, m)
		}
	}
	return out
}

// freeBackendSystemName is base, or base_2, base_3... when a backend API
// already has it: 3scale names the default backend after its product, and
// Portolan does not refuse the api_backend when a backend took the name first.
func freeBackendSystemName(s *composition.Composition, base string) string {
	name := base
	for i := 2; ; i++ {
		if _, taken := s.BackendAPIs.Find(func(b *composition.BackendAPI) bool { return b.SystemName == name }); !taken {
			return name
		}
		name = base + "_" + strconv.Itoa(i)
	}
}

// firstBackendAPI is the backend API of a product's oldest backend usage,
// whose private endpoint 3scale shows as the proxy's api_backend; nil when
// the product uses none.
func firstBackendAPI(s *composition.Composition, serviceID int64) *composition.BackendAPI {
	usages, backends := proxyUsages(s, serviceID)
	if len(usages) == 0 {
		return nil
	}
	return backends[usages[0].BackendAPIID]
}

// proxyView is a proxy as 3scale shows it: api_backend is the private
// endpoint of the product's first backend (a proxy keeps its own only
// without backends, as imported compositions may), and empty public base
// URLs, kept by compositions older than the defaults, show the defaults.
func proxyView(s *composition.Composition, p *composition.Proxy) *composition.Proxy {
	n := *p
	if b := firstBackendAPI(s, p.ServiceID); b != nil {
		n.APIBackend = b.PrivateEndpoint
	}
	if svc, ok := s.Services.Get(p.ServiceID); ok && (n.Endpoint == "" || n.SandboxEndpoint == "") {
		production, staging := composition.DefaultEndpoints(svc)
		if n.Endpoint == "" {
			n.Endpoint = production
		}
		if n.SandboxEndpoint == "" {
			n.SandboxEndpoint = staging
		}
	}
	return &n
}

// deployProxy adds a new sandbox config version and answers with the proxy.
// As in 3scale, a product without any backend is deployed too: its config has
// a null api_backend, and the newest config of the sandbox is there to read.
func deployProxy(c *call) error {
	id, err := c.id("service_id")
	if err != nil {
		return err
	}
	var out *composition.Proxy
	_, err = c.update(func(tx *composition.Tx) error {
		p, exists, err := proxyOf(tx.View(), id)
		if err != nil {
			return err
		}
		if !exists {
			n := *p
			if err := tx.Create(&n); err != nil {
				return err
			}
			p = &n
		}
		out = proxyView(tx.View(), p)
		_, err = deployProxyConfig(tx, id, proxyBackendOf(c), false)
		return err
	})
	if err != nil {
		return err
	}
	return c.writeProxy(out)
}

// proxyEnvironment reads an environment; 3scale also takes "staging" for the
// sandbox.
func proxyEnvironment(s string) (string, bool) {
	switch s {
	case composition.EnvSandbox, "staging":
		return composition.EnvSandbox, true
	case composition.EnvProduction:
		return composition.EnvProduction, true
	}
	return "", false
}

// serviceConfigScope resolves the service and environment of the path.
func serviceConfigScope(c *call) (*composition.Composition, int64, string, error) {
	id, err := c.id("service_id")
	if err != nil {
		return nil, 0, "", err
	}
	s := c.snapshot()
	if _, ok := s.Services.Get(id); !ok {
		return nil, 0, "", ErrNotFound
	}
	env, ok := proxyEnvironment(c.r.PathValue("environment"))
	if !ok {
		return nil, 0, "", BadRequest("invalid environment")
	}
	return s, id, env, nil
}

func listServiceProxyConfigs(c *call) error {
	s, id, env, err := serviceConfigScope(c)
	if err != nil {
		return err
	}
	items, err := page(c, proxyConfigsOf(s, id, env))
	if err != nil {
		return err
	}
	return c.list("proxy_configs", "proxy_config", items)
}

func latestServiceProxyConfig(c *call) error {
	s, id, env, err := serviceConfigScope(c)
	if err != nil {
		return err
	}
	pc := latestProxyConfig(s, id, env)
	if pc == nil {
		return ErrNotFound
	}
	return c.one("proxy_config", pc)
}

func findProxyConfig(s *composition.Composition, id int64, env, version string) (*composition.ProxyConfig, error) {
	v, err := strconv.ParseInt(version, 10, 64)
	if err != nil {
		return nil, ErrNotFound
	}
	for _, pc := range proxyConfigsOf(s, id, env) {
		if pc.Version == v {
			return pc, nil
		}
	}
	return nil, ErrNotFound
}

func showServiceProxyConfig(c *call) error {
	s, id, env, err := serviceConfigScope(c)
	if err != nil {
		return err
	}
	pc, err := findProxyConfig(s, id, env, c.r.PathValue("version"))
	if err != nil {
		return err
	}
	return c.one("proxy_config", pc)
}

// promoteProxyConfig copies a config into the environment "to", keeping its
// version, as 3scale's ProxyConfig#clone_to.
func promoteProxyConfig(c *call) error {
	if _, _, _, err := serviceConfigScope(c); err != nil {
		return err
	}
	to, ok := c.params.Get("to")
	if !ok || to == "" {
		return composition.Invalid("to", "can't be blank")
	}
	dest, ok := proxyEnvironment(to)
	if !ok {
		return composition.Invalid("to", "is not included in the list (sandbox, production)")
	}
	id, _ := c.id("service_id")
	env, _ := proxyEnvironment(c.r.PathValue("environment"))
	var out *composition.ProxyConfig
	_, err := c.update(func(tx *composition.Tx) error {
		src, err := findProxyConfig(tx.View(), id, env, c.r.PathValue("version"))
		if err != nil {
			return err
		}
		if _, err := findProxyConfig(tx.View(), id, dest, strconv.FormatInt(src.Version, 10)); err == nil {
			return composition.Invalid("version", "has already been taken")
		}
		out = &composition.ProxyConfig{ServiceID: id, Environment: dest, Version: src.Version, Content: src.Content}
		return tx.Create(out)
	})
	if err != nil {
		return err
	}
	return c.one("proxy_config", out)
}

// listAccountProxyConfigs is the feed a stock APIcast boots from: by default
// the newest config of every service in the environment, optionally only
// those serving host, or one version. A member gets the services it reaches
// only: a config holds its service's secret token.
func listAccountProxyConfigs(c *call) error {
	env, ok := proxyEnvironment(c.r.PathValue("environment"))
	if !ok {
		return BadRequest("invalid environment")
	}
	s := c.snapshot()
	version := int64(0) // latest
	if v, ok := c.params.Get("version"); ok && v != "" && v != "latest" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 1 {
			return composition.Invalid("version", "must be latest or a positive integer")
		}
		version = n
	}
	host, _ := c.params.Get("host")
	var items []*composition.ProxyConfig
	for _, svc := range s.Services.All() {
		if !c.reaches(svc.ID) {
			continue // porta lists the user's accessible_services only
		}
		configs := proxyConfigsOf(s, svc.ID, env)
		if len(configs) == 0 {
			continue
		}
		var pick *composition.ProxyConfig
		if version == 0 {
			pick = configs[len(configs)-1]
		} else {
			for _, pc := range configs {
				if pc.Version == version {
					pick = pc
				}
			}
		}
		if pick == nil || (host != "" && !slices.Contains(proxyConfigHosts(pick), host)) {
			continue
		}
		items = append(items, pick)
	}
	sort.Slice(items, func(i, j int) bool { return items[i].ID < items[j].ID })
	items, err := page(c, items)
	if err != nil {
		return err
	}
	return c.list("proxy_configs", "proxy_config", items)
}
