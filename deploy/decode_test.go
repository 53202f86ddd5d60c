// Package deploy_test checks the deployment files under deploy/ without a
// cluster: the plain Kubernetes manifests and the Helm chart (rendered by
// Helm's own engine, .tools/helm) decoded strictly into k8s.io/api types,
// their flags checked against the real binary's help, and the systemd units
// checked by systemd-analyze. It is a test-only package: nothing imports it,
// and it imports nothing of Portolan's but the test harness.
package deploy_test

import (
	"bytes"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	kjson "sigs.k8s.io/json"
	"sigs.k8s.io/yaml"
)

// doc is one decoded manifest: its kind and the typed object.
type doc struct {
	source string // file (and document number) it came from
	kind   string // apiVersion/kind
	obj    any
}

// serviceMonitor is the part of the Prometheus Operator's ServiceMonitor
// (monitoring.coreos.com/v1) the chart writes, decoded strictly like the
// k8s.io/api types: a field the chart writes and this does not know fails.
type serviceMonitor struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata"`
	Spec              struct {
		Selector  metav1.LabelSelector `json:"selector"`
		Endpoints []struct {
			Port      string `json:"port"`
			Path      string `json:"path"`
			Scheme    string `json:"scheme"`
			Interval  string `json:"interval"`
			TLSConfig *struct {
				ServerName         string `json:"serverName,omitempty"`
				InsecureSkipVerify bool   `json:"insecureSkipVerify,omitempty"`
				CA                 *struct {
					Secret *corev1.SecretKeySelector `json:"secret,omitempty"`
				} `json:"ca,omitempty"`
			} `json:"tlsConfig,omitempty"`
		} `json:"endpoints"`
	} `json:"spec"`
}

// kinds are the kinds the manifests may hold; any other is an error.
var kinds = map[string]func() any{
	"v1/Namespace":        func() any { return new(corev1.Namespace) },
	"v1/Secret":           func() any { return new(corev1.Secret) },
	"v1/Service":          func() any { return new(corev1.Service) },
	"v1/ServiceAccount":   func() any { return new(corev1.ServiceAccount) },
	"apps/v1/StatefulSet": func() any { return new(appsv1.StatefulSet) },
	"apps/v1/Deployment":  func() any { return new(appsv1.Deployment) },
	"monitoring.coreos.com/v1/ServiceMonitor": func() any { return new(serviceMonitor) },
}

// docSeparator splits a multi-document YAML stream.
var docSeparator = regexp.MustCompile(`(?m)^---[ \t]*$`)

// decodeAll decodes every document of a YAML stream strictly: unknown
// fields, duplicate keys and unknown kinds are errors. Documents holding
// only comments (Helm writes "# Source:" lines) are skipped.
func decodeAll(source string, data []byte) ([]doc, error) {
	var docs []doc
	for i, part := range docSeparator.Split(string(data), -1) {
		if isEmptyDoc(part) {
			continue
		}
		where := fmt.Sprintf("%s#%d", source, i)
		var head metav1.TypeMeta
		if err := yaml.Unmarshal([]byte(part), &head); err != nil {
			return nil, fmt.Errorf("%s: %w", where, err)
		}
		kind := head.APIVersion + "/" + head.Kind
		newObj, ok := kinds[kind]
		if !ok {
			return nil, fmt.Errorf("%s: kind %q is not one the manifests may hold", where, kind)
		}
		obj := newObj()
		if err := decodeStrict([]byte(part), obj); err != nil {
			return nil, fmt.Errorf("%s (%s): %w", where, kind, err)
		}
		docs = append(docs, doc{source: where, kind: kind, obj: obj})
	}
	return docs, nil
}

// decodeStrict decodes one YAML document as the API server's strict field
// validation does: duplicate keys, unknown fields and fields in the wrong
// case (clusterIp for clusterIP, which encoding/json would accept) are errors.
func decodeStrict(part []byte, obj any) error {
	js, err := yaml.YAMLToJSONStrict(part)
	if err != nil {
		return err
	}
	strict, err := kjson.UnmarshalStrict(js, obj, kjson.DisallowDuplicateFields, kjson.DisallowUnknownFields)
	if err != nil {
		return err
	}
	return errors.Join(strict...)
}

func isEmptyDoc(part string) bool {
	for _, line := range strings.Split(part, "\n") {
		if l := strings.TrimSpace(line); l != "" && !strings.HasPrefix(l, "#") {
			return false
		}
	}
	return true
}

// decodeFiles decodes the named files' documents, failing the test on any
// error.
func decodeFiles(t *testing.T, read func(string) ([]byte, error), files ...string) []doc {
	t.Helper()
	var all []doc
	for _, f := range files {
		b, err := read(f)
		if err != nil {
			t.Fatalf("read %s: %v", f, err)
		}
		docs, err := decodeAll(f, b)
		if err != nil {
			t.Fatal(err)
		}
		if len(docs) == 0 {
			t.Fatalf("%s holds no manifest", f)
		}
		all = append(all, docs...)
	}
	return all
}

func TestDecodeRefusesUnknownFieldsAndKinds(t *testing.T) {
	for name, in := range map[string]string{
		"unknown field":   "apiVersion: v1\nkind: Service\nmetadata: {name: a}\nspec: {clusterIp: None}\n",
		"unknown kind":    "apiVersion: v1\nkind: Pod\nmetadata: {name: a}\n",
		"duplicate key":   "apiVersion: v1\nkind: Secret\nmetadata: {name: a}\ntype: Opaque\ntype: Opaque\n",
		"monitor typo":    "apiVersion: monitoring.coreos.com/v1\nkind: ServiceMonitor\nmetadata: {name: a}\nspec: {endpoints: [{port: x, intervall: 1s}]}\n",
		"wrong api group": "apiVersion: apps/v1beta1\nkind: StatefulSet\nmetadata: {name: a}\n",
	} {
		if _, err := decodeAll(name, []byte(in)); err == nil {
			t.Errorf("%s: decoded without error", name)
		}
	}
	good := "# a comment\n---\napiVersion: v1\nkind: Service\nmetadata: {name: a}\nspec: {clusterIP: None}\n---\n"
	docs, err := decodeAll("good", []byte(good))
	if err != nil || len(docs) != 1 {
		t.Fatalf("decodeAll(good) = %d docs, %v; want 1, nil", len(docs), err)
	}
	if !bytes.Contains([]byte(docs[0].kind), []byte("Service")) {
		t.Errorf("kind %q", docs[0].kind)
	}
}
