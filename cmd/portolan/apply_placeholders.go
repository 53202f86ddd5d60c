//go:build !agentonly

package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/portolan/portolan/composition"
	"github.com/portolan/portolan/manifest"
	"github.com/portolan/portolan/registry"
	"github.com/portolan/portolan/registry/client"
)

// An export without secrets writes manifest.SecretPlaceholder (or "xxxxx"
// as a URL's password) in place of each policy secret, for home to put its
// own value back. A home older than that stores the placeholder as the
// secret, and its gateways then send it: so documents holding one are sent
// only to a home that announces it restores them
// (registry.PathAdminFeatures). Documents without any are sent to any
// home, as before.

// hiddenSecret names the first policy secret of docs an export without
// secrets hid: its file, document, service, policy and field; "" for none.
func hiddenSecret(docs []manifest.Document) string {
	for _, d := range docs {
		if d.Service == nil || d.Service.Proxy == nil {
			continue
		}
		for i, p := range d.Service.Proxy.PolicyChain {
			if field, ok := manifest.HiddenPolicySecret(p.Configuration); ok {
				where := d.Origin.Source
				if d.Origin.Line > 0 {
					where = fmt.Sprintf("%s:%d", where, d.Origin.Line)
				}
				return fmt.Sprintf("%s: document %d (Service %q): proxy.policy_chain[%d] (%s): %s",
					where, d.Origin.Index, d.Service.SystemName, i, p.Name, field)
			}
		}
	}
	return ""
}

// hiddenCompositionSecret names the first policy secret an export without
// secrets hid in data, a composition document (`portolan import
// composition`) read from source: its file, the service and the policy or
// proxy config; "" for none. In a document that says it holds its secrets
// ("secrets": true) "xxxxx" in a URL is a password, and only the
// placeholder is hidden (no export with secrets writes it, yet a merged
// document, or one exported from a home that stored it, may hold it: an
// older home stores it as the secret too). One this CLI cannot read has
// none it can name: home refuses it. A proxy config's content is searched
// whole: an older home stores it as it comes.
func hiddenCompositionSecret(source string, data []byte) string {
	var doc composition.Document
	if json.Unmarshal(data, &doc) != nil {
		return ""
	}
	hidden, note := manifest.HiddenPolicySecret, ""
	if doc.Secrets {
		hidden, note = manifest.PlaceholderField, ` (the document says it holds its secrets, "secrets": true)`
	}
	names := doc.ServiceNames()
	for _, p := range doc.Proxies {
		if p == nil {
			continue
		}
		for i, pc := range p.PolicyChain {
			if field, ok := hidden(pc.Configuration); ok {
				return fmt.Sprintf("%s: the proxy of service %q (id %d): policy_chain[%d] (%s): %s%s",
					source, names[p.ServiceID], p.ServiceID, i, pc.Name, field, note)
			}
		}
	}
	for _, pc := range doc.ProxyConfigs {
		if pc == nil {
			continue
		}
		if field, ok := hidden(pc.Content); ok {
			return fmt.Sprintf("%s: the %s proxy config version %d of service %q (id %d): content: %s%s",
				source, pc.Environment, pc.Version, names[pc.ServiceID], pc.ServiceID, field, note)
		}
	}
	return ""
}

// refuseHiddenSecrets returns an error when documents hold a policy secret
// an export without secrets hid, at (hiddenSecret's or
// hiddenCompositionSecret's answer), and home does not announce it puts its
// own value back for one; nil when they hold none (at is "") or home does.
func refuseHiddenSecrets(ctx context.Context, home *client.Client, at string) error {
	if at == "" {
		return nil
	}
	var f registry.AdminFeatures
	_, err := home.Query(ctx, registry.PathAdminFeatures, client.QueryOptions{}, &f)
	var se *client.StatusError
	switch {
	case err == nil && f.Has(registry.FeatureRestoresHiddenSecrets):
		return nil
	case err != nil && !errors.As(err, &se):
		return adminError(err) // unreachable, or no answer it could read
	}
	return fmt.Errorf("%s holds a secret hidden by an export without secrets (%q, or \"xxxxx\" as a URL's password), "+
		"and home does not announce that it puts its own value back for one (GET %s): a home older than this CLI would store "+
		"the placeholder as the secret, so nothing was sent: upgrade home, or write the secret values in (export with --include-secrets)",
		at, manifest.SecretPlaceholder, registry.PathAdminFeatures)
}
