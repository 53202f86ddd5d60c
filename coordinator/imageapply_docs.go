package coordinator

import (
	"bytes"
	"cmp"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/portolan/portolan/composition"
	"github.com/portolan/portolan/manifest"
)

// imageServiceDocument checks what an image may bring and returns its
// Service document: exactly one, for service (the instance's scope), with a
// version of 1 or more, and Backend documents only for backends that
// service uses. Accounts and placements are refused: they are home's, not
// an image's. A refusal of a kind or a service is an *imageRefusal (403).
func imageServiceDocument(docs []manifest.Document, service string) (*manifest.Service, error) {
	var svc *manifest.Document
	for i := range docs {
		d := &docs[i]
		switch d.Kind {
		case manifest.KindService:
			if d.Service.SystemName != service {
				return nil, refuse(d, "system_name", "this instance's join token is scoped to service %q: its image may bring that service's documents only", service)
			}
			if svc != nil {
				return nil, documentError(d, "kind", "a second Service document: an image brings one service")
			}
			svc = d
		case manifest.KindBackend:
		default:
			return nil, refuse(d, "kind", "an image brings Service and Backend documents only; %ss are managed at home", d.Kind)
		}
	}
	if svc == nil {
		return nil, fmt.Errorf("no Service document: an image brings the documents of service %q", service)
	}
	if svc.Service.Version < 1 {
		return nil, documentError(svc, "version", "an image's Service document needs a version of 1 or more (raise it with every change)")
	}
	used := map[string]bool{}
	for _, u := range svc.Service.BackendUsages {
		used[u.Backend] = true
	}
	for i := range docs {
		if d := &docs[i]; d.Kind == manifest.KindBackend && !used[d.Backend.SystemName] {
			return nil, refuse(d, "system_name", "service %q does not use this backend: an image brings only the backends its service uses", service)
		}
	}
	return svc.Service, nil
}

// sharedBackendRefusal refuses Backend documents naming a backend that
// another service uses at home: an image scoped to one service would
// otherwise change (say, the private endpoint of) a backend other services
// send their traffic to. Using a shared backend needs no Backend document.
func sharedBackendRefusal(c *composition.Composition, docs []manifest.Document, service string) error {
	for i := range docs {
		d := &docs[i]
		if d.Kind != manifest.KindBackend {
			continue
		}
		b, ok := c.BackendAPIs.Find(func(b *composition.BackendAPI) bool { return b.SystemName == d.Backend.SystemName })
		if !ok {
			continue
		}
		for _, u := range c.BackendUsages.Filter(func(u *composition.BackendUsage) bool { return u.BackendAPIID == b.ID }) {
			if other, ok := c.Services.Get(u.ServiceID); ok && other.SystemName != service {
				return refuse(d, "system_name", "backend %q is used by service %q too: an image may change only backends no other service uses (drop the Backend document to use it as home has it)", b.SystemName, other.SystemName)
			}
		}
	}
	return nil
}

// documentError is a problem with a field of document d, named as
// manifest's errors name it: source, line, document, kind, name and field.
func documentError(d *manifest.Document, path, format string, args ...any) *manifest.Error {
	return &manifest.Error{Source: d.Origin.Source, Index: d.Origin.Index, Line: d.Origin.Line,
		Kind: string(d.Kind), Name: d.Name(), Path: path, Msg: fmt.Sprintf(format, args...)}
}

// refuse is a 403 refusal of a field of document d: what an image may not
// bring.
func refuse(d *manifest.Document, path, format string, args ...any) *imageRefusal {
	return &imageRefusal{http.StatusForbidden, documentError(d, path, format, args...).Error()}
}

// documentsDigest is the digest of the documents' content, whatever their
// order and formatting: each document's JSON, in manifest.Sort's canonical
// order (documents by kind and name, and the lists that name their
// elements by name, which FORMAT.md lets a document write in any order;
// mapping rules keep theirs, which is their meaning), a policy's
// configuration with its object keys sorted (a JSON object's keys have no
// order, RFC 8259 section 4). Replicas of one image compute the same one;
// any change of content changes it. It puts docs in that canonical order,
// which changes nothing they say; the configurations stay as written.
func documentsDigest(docs []manifest.Document) (string, error) {
	manifest.Sort(docs)
	return digestOf(docs, canonicalConfigurations)
}

// documentsDigestAsWritten is the digest homes computed before
// documentsDigest put lists in canonical order: each document's JSON,
// documents by kind and name, lists and configurations as written. A
// service one of them applied records it (and export and import keep it),
// so the same documents brought again are the same content, not a
// conflict. Call it before documentsDigest, which reorders docs' lists.
func documentsDigestAsWritten(docs []manifest.Document) (string, error) {
	sorted := slices.Clone(docs)
	slices.SortFunc(sorted, func(a, b manifest.Document) int {
		return cmp.Or(strings.Compare(string(a.Kind), string(b.Kind)), strings.Compare(a.Name(), b.Name()))
	})
	return digestOf(sorted, nil)
}

// digestOf is the digest of docs in their order: each document's JSON,
// as prepare makes it (nil: as it is), a line each.
func digestOf(docs []manifest.Document, prepare func(manifest.Document) (manifest.Document, error)) (string, error) {
	h := sha256.New()
	for _, d := range docs {
		if prepare != nil {
			var err error
			if d, err = prepare(d); err != nil {
				return "", fmt.Errorf("digest %s %q: %w", d.Kind, d.Name(), err)
			}
		}
		b, err := json.Marshal(d)
		if err != nil {
			return "", fmt.Errorf("digest %s %q: %w", d.Kind, d.Name(), err)
		}
		h.Write(b)
		h.Write([]byte{'\n'})
	}
	return composition.DigestPrefix + hex.EncodeToString(h.Sum(nil)), nil
}

// canonicalConfigurations returns d with each policy's configuration
// re-encoded with its object keys sorted, on copies: d's own service,
// proxy and chain are not changed, so home stores the configurations as
// written.
func canonicalConfigurations(d manifest.Document) (manifest.Document, error) {
	if d.Service == nil || d.Service.Proxy == nil || len(d.Service.Proxy.PolicyChain) == 0 {
		return d, nil
	}
	svc, proxy := *d.Service, *d.Service.Proxy
	proxy.PolicyChain = slices.Clone(proxy.PolicyChain)
	for i := range proxy.PolicyChain {
		p := &proxy.PolicyChain[i]
		if len(p.Configuration) == 0 {
			continue
		}
		dec := json.NewDecoder(bytes.NewReader(p.Configuration))
		dec.UseNumber() // numbers as written: no float rounding
		var v any
		if err := dec.Decode(&v); err != nil {
			return d, fmt.Errorf("policy %q's configuration: %w", p.Name, err)
		}
		b, err := json.Marshal(v) // a map's keys sorted
		if err != nil {
			return d, fmt.Errorf("policy %q's configuration: %w", p.Name, err)
		}
		p.Configuration = b
	}
	svc.Proxy = &proxy
	d.Service = &svc
	return d, nil
}
