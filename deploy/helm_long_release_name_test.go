package deploy_test

import (
	"path/filepath"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/validation"
)

// TestHelmChartNamesFitKubernetesLimitsForLongReleaseNames renders the chart
// under the longest release name Helm accepts and checks every name the
// API server and the StatefulSet controller derive from it.
//
// Oracles: Helm refuses release names longer than 53 characters, so the
// chart must work up to 53. Kubernetes validates a Service's name as a
// DNS-1035 label ("a DNS-1035 label must consist of lower case alphanumeric
// characters or '-' ... must be no more than 63 characters",
// validation.IsDNS1035Label), so a longer Service is refused at install.
// The StatefulSet controller labels each pod controller-revision-hash:
// <statefulset name>-<hash of up to 10 characters>, a label value of at most
// 63 characters, so a StatefulSet name over 52 characters gets no pod
// (kubernetes/kubernetes#64023); its pods are named <name>-<ordinal>, which
// must be a DNS-1123 label to be their hostname.
func TestHelmChartNamesFitKubernetesLimitsForLongReleaseNames(t *testing.T) {
	bin := helmBinary(t)
	release := "shop-payments-production-eu-west-1-blue-green-canary" // 52
	release += "x"                                                    // 53: Helm's limit
	if len(release) != 53 {
		t.Fatalf("release name of %d characters, want 53", len(release))
	}
	for name, values := range map[string]string{
		"defaults":                   "",
		"consul, three coordinators": "ci/consul-values.yaml",
	} {
		t.Run(name, func(t *testing.T) {
			args := []string{"template", release, chart, "--namespace", "portolan"}
			if values != "" {
				args = append(args, "--values", filepath.Join(chart, values))
			}
			out, stderr, err := helm(t, bin, args...)
			if err != nil {
				t.Fatalf("helm %s: %v\n%s", strings.Join(args, " "), err, stderr)
			}
			docs, err := decodeAll(name, []byte(out))
			if err != nil {
				t.Fatalf("%v\n%s", err, out)
			}
			services := map[string]bool{}
			for _, d := range docs {
				if s, ok := d.obj.(*corev1.Service); ok {
					services[s.Name] = true
					if errs := validation.IsDNS1035Label(s.Name); len(errs) > 0 {
						t.Errorf("Service %q (%d characters) would be refused by the API server: %v", s.Name, len(s.Name), errs)
					}
				}
			}
			for _, d := range docs {
				ss, ok := d.obj.(*appsv1.StatefulSet)
				if !ok {
					continue
				}
				if !services[ss.Spec.ServiceName] {
					t.Errorf("StatefulSet %s: serviceName %q is no Service of the chart", ss.Name, ss.Spec.ServiceName)
				}
				revision := ss.Name + "-" + strings.Repeat("a", 10)
				if errs := validation.IsValidLabelValue(revision); len(errs) > 0 {
					t.Errorf("StatefulSet %q (%d characters, want at most 52): its pods' controller-revision-hash label %q is invalid, so no pod is created: %v",
						ss.Name, len(ss.Name), revision, errs)
				}
				last := ss.Name + "-" + "99"
				if errs := validation.IsDNS1123Label(last); len(errs) > 0 {
					t.Errorf("StatefulSet %q: pod name %q is not a valid hostname: %v", ss.Name, last, errs)
				}
			}
		})
	}
}
