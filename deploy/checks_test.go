package deploy_test

import (
	"os/exec"
	"path"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/labels"
)

// nonRootUID is the user the image runs as (USER 65532 in the Dockerfile).
const nonRootUID = 65532

// flagHelp is the set of long flags `portolan SUBCOMMAND --help` lists, per
// subcommand, read once from the real binary.
type flagHelp struct {
	bin  string
	mu   sync.Mutex
	seen map[string]map[string]bool
}

var longFlag = regexp.MustCompile(`--([a-z0-9][a-z0-9-]*)`)

// has reports whether `portolan sub --help` lists --name.
func (h *flagHelp) has(t *testing.T, sub, name string) bool {
	t.Helper()
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.seen == nil {
		h.seen = map[string]map[string]bool{}
	}
	flags, ok := h.seen[sub]
	if !ok {
		out, err := exec.Command(h.bin, sub, "--help").CombinedOutput()
		if err != nil {
			t.Fatalf("%s %s --help: %v\n%s", h.bin, sub, err, out)
		}
		flags = map[string]bool{}
		for _, m := range longFlag.FindAllStringSubmatch(string(out), -1) {
			flags[m[1]] = true
		}
		h.seen[sub] = flags
	}
	return flags[name]
}

// checkFlags checks a portolan command line (the words after the binary:
// the subcommand, then flags, then "--" and the app): each flag is one the
// subcommand accepts, written --name=value so that no value is mistaken for
// a flag; it returns the flags' values by name.
func checkFlags(t *testing.T, help *flagHelp, where string, words []string) map[string][]string {
	t.Helper()
	if len(words) == 0 {
		t.Errorf("%s: no subcommand", where)
		return nil
	}
	sub, values := words[0], map[string][]string{}
	for _, w := range words[1:] {
		if w == "--" {
			break
		}
		name, value, ok := strings.Cut(strings.TrimPrefix(w, "--"), "=")
		if !strings.HasPrefix(w, "--") || !ok {
			t.Errorf("%s: %q: want --flag=value", where, w)
			continue
		}
		if !help.has(t, sub, name) {
			t.Errorf("%s: portolan %s has no flag --%s", where, sub, name)
		}
		values[name] = append(values[name], value)
	}
	return values
}

// secretKeys are the keys of each Secret of a set, by name.
func secretKeys(docs []doc) map[string]map[string]bool {
	out := map[string]map[string]bool{}
	for _, d := range docs {
		s, ok := d.obj.(*corev1.Secret)
		if !ok {
			continue
		}
		keys := map[string]bool{}
		for k := range s.Data {
			keys[k] = true
		}
		for k := range s.StringData {
			keys[k] = true
		}
		out[s.Name] = keys
	}
	return out
}

// workload is a StatefulSet's or Deployment's pod template, with what else
// the checks need.
type workload struct {
	where    string
	template corev1.PodTemplateSpec
	claims   []string // volumeClaimTemplates' names
}

func workloads(docs []doc) []workload {
	var out []workload
	for _, d := range docs {
		switch o := d.obj.(type) {
		case *appsv1.StatefulSet:
			w := workload{where: d.source + " StatefulSet " + o.Name, template: o.Spec.Template}
			for _, c := range o.Spec.VolumeClaimTemplates {
				w.claims = append(w.claims, c.Name)
			}
			out = append(out, w)
		case *appsv1.Deployment:
			out = append(out, workload{where: d.source + " Deployment " + o.Name, template: o.Spec.Template})
		}
	}
	return out
}

// setExpect says what a set of manifests must hold besides the common rules.
type setExpect struct {
	// externalSecrets are Secrets the set refers to but leaves to the
	// operator (named in values).
	externalSecrets []string
	coordinators    int32 // replicas of the coordinator StatefulSet
	consul          bool  // the coordinators run with --consul
	serviceMonitor  bool
}

// checkSet asserts the rules every set of manifests follows: pods non-root
// and read-only without capabilities, probes on the health paths, the
// coordinator's data dir on a claim, Secrets and keys that resolve, the
// files flags name mounted, flags the binary accepts, Services selecting
// pods by ports they name.
func checkSet(t *testing.T, help *flagHelp, docs []doc, want setExpect) {
	t.Helper()
	secrets := secretKeys(docs)
	var coordinators, monitors int
	for _, w := range workloads(docs) {
		checkPod(t, help, w, secrets, want)
	}
	for _, d := range docs {
		switch o := d.obj.(type) {
		case *appsv1.StatefulSet:
			coordinators++
			if o.Spec.Replicas == nil || *o.Spec.Replicas != want.coordinators {
				t.Errorf("%s: replicas %v, want %d", d.source, o.Spec.Replicas, want.coordinators)
			}
			if len(o.Spec.VolumeClaimTemplates) != 1 {
				t.Errorf("%s: want one volumeClaimTemplate for --data-dir", d.source)
			}
		case *corev1.Service:
			checkService(t, d.source, o, docs)
		case *serviceMonitor:
			monitors++
			if len(o.Spec.Endpoints) == 0 || o.Spec.Endpoints[0].Path != "/metrics" || o.Spec.Endpoints[0].Scheme != "https" {
				t.Errorf("%s: want an https endpoint on /metrics: %+v", d.source, o.Spec.Endpoints)
			}
			if !selectsService(o.Spec.Selector.MatchLabels, docs) {
				t.Errorf("%s: selects no Service", d.source)
			}
			for _, e := range o.Spec.Endpoints {
				if e.TLSConfig != nil && e.TLSConfig.CA != nil && e.TLSConfig.CA.Secret != nil {
					checkSecretRef(t, d.source, e.TLSConfig.CA.Secret.Name, []string{e.TLSConfig.CA.Secret.Key}, secrets, want)
				}
			}
		}
	}
	if coordinators != 1 {
		t.Errorf("%d coordinator StatefulSets, want 1", coordinators)
	}
	if want.serviceMonitor != (monitors == 1) {
		t.Errorf("%d ServiceMonitors, want one: %v", monitors, want.serviceMonitor)
	}
}

func checkSecretRef(t *testing.T, where, name string, keys []string, secrets map[string]map[string]bool, want setExpect) {
	t.Helper()
	if slices.Contains(want.externalSecrets, name) {
		return
	}
	have, ok := secrets[name]
	if !ok {
		t.Errorf("%s: Secret %q is not in the manifests", where, name)
		return
	}
	for _, k := range keys {
		if !have[k] {
			t.Errorf("%s: Secret %q has no key %q", where, name, k)
		}
	}
}

func checkPod(t *testing.T, help *flagHelp, w workload, secrets map[string]map[string]bool, want setExpect) {
	t.Helper()
	spec := w.template.Spec
	psc := spec.SecurityContext
	if psc == nil || psc.RunAsNonRoot == nil || !*psc.RunAsNonRoot || psc.RunAsUser == nil || *psc.RunAsUser != nonRootUID ||
		psc.SeccompProfile == nil || psc.SeccompProfile.Type != corev1.SeccompProfileTypeRuntimeDefault {
		t.Errorf("%s: pod securityContext %+v: want runAsNonRoot, runAsUser %d, seccomp RuntimeDefault", w.where, psc, nonRootUID)
	}
	if spec.AutomountServiceAccountToken == nil || *spec.AutomountServiceAccountToken {
		t.Errorf("%s: the service account token is mounted: Portolan calls no Kubernetes API", w.where)
	}
	volumes := map[string]corev1.Volume{}
	for _, v := range spec.Volumes {
		volumes[v.Name] = v
		if v.Secret != nil {
			var keys []string
			for _, it := range v.Secret.Items {
				keys = append(keys, it.Key)
			}
			checkSecretRef(t, w.where, v.Secret.SecretName, keys, secrets, want)
		}
	}
	if len(spec.Containers) != 1 {
		t.Fatalf("%s: %d containers, want 1", w.where, len(spec.Containers))
	}
	c := spec.Containers[0]
	csc := c.SecurityContext
	if csc == nil || csc.ReadOnlyRootFilesystem == nil || !*csc.ReadOnlyRootFilesystem ||
		csc.AllowPrivilegeEscalation == nil || *csc.AllowPrivilegeEscalation ||
		csc.RunAsNonRoot == nil || !*csc.RunAsNonRoot ||
		csc.Capabilities == nil || !slices.Equal(csc.Capabilities.Drop, []corev1.Capability{"ALL"}) {
		t.Errorf("%s: container securityContext %+v: want read-only root, no privilege escalation, non-root, drop ALL", w.where, csc)
	}
	if c.Resources.Requests.Memory().IsZero() || c.Resources.Limits.Memory().IsZero() {
		t.Errorf("%s: want memory requests and limits: %+v", w.where, c.Resources)
	}
	mounts := map[string]string{} // mount path -> volume
	for _, m := range c.VolumeMounts {
		mounts[m.MountPath] = m.Name
		if _, ok := volumes[m.Name]; !ok && !slices.Contains(w.claims, m.Name) {
			t.Errorf("%s: mount %s of volume %q, which is neither a volume nor a claim", w.where, m.MountPath, m.Name)
		}
	}
	ports := map[string]bool{}
	for _, p := range c.Ports {
		ports[p.Name] = true
	}
	// The command line: the image's ENTRYPOINT is /portolan, so a
	// coordinator gives args alone; an app image's command starts with it.
	words := c.Args
	if len(c.Command) > 0 {
		if c.Command[0] != "/portolan" || len(c.Args) > 0 {
			t.Fatalf("%s: command %q args %q: want /portolan and its arguments", w.where, c.Command, c.Args)
		}
		words = c.Command[1:]
	}
	flags := checkFlags(t, help, w.where, words)
	for name, values := range flags {
		for _, v := range values {
			if strings.HasPrefix(v, "/") && !mountedUnder(mounts, v) {
				t.Errorf("%s: --%s=%s is on no volume mount", w.where, name, v)
			}
		}
	}
	scheme := corev1.URISchemeHTTP
	switch words[0] {
	case "coordinator":
		scheme = corev1.URISchemeHTTPS
		dataDir := flags["data-dir"]
		if len(dataDir) != 1 || !slices.Contains(w.claims, mounts[dataDir[0]]) {
			t.Errorf("%s: --data-dir %q is not a volumeClaimTemplate's mount", w.where, dataDir)
		}
		if want.consul != (len(flags["consul"]) == 1) {
			t.Errorf("%s: --consul %q, want Consul: %v", w.where, flags["consul"], want.consul)
		}
	case "agent":
		if len(flags["metrics-listen"]) != 1 || !strings.HasSuffix(flags["metrics-listen"][0], ":9100") {
			t.Errorf("%s: the probes need --metrics-listen on :9100: %q", w.where, flags["metrics-listen"])
		}
		if !mountedUnder(mounts, "/run/portolan/placement.json") || !mountedUnder(mounts, "/var/cache/portolan/x") {
			t.Errorf("%s: the read-only root needs volumes at /run/portolan and /var/cache/portolan", w.where)
		}
	default:
		t.Errorf("%s: subcommand %q", w.where, words[0])
	}
	for probe, p := range map[string]*corev1.Probe{"/health/live": c.LivenessProbe, "/health/ready": c.ReadinessProbe} {
		if p == nil || p.HTTPGet == nil || p.HTTPGet.Path != probe || p.HTTPGet.Scheme != scheme || !ports[p.HTTPGet.Port.StrVal] {
			t.Errorf("%s: want a probe GET %s %s on a named container port, have %+v", w.where, scheme, probe, p)
		}
	}
}

// mountedUnder reports whether file is under one of the mount paths.
func mountedUnder(mounts map[string]string, file string) bool {
	for dir := path.Dir(file); dir != "/" && dir != "."; dir = path.Dir(dir) {
		if _, ok := mounts[dir]; ok {
			return true
		}
	}
	_, ok := mounts[file]
	return ok
}

// checkService asserts that a Service selects some workload's pods and
// targets ports their container names.
func checkService(t *testing.T, where string, s *corev1.Service, docs []doc) {
	t.Helper()
	for _, w := range workloads(docs) {
		if len(s.Spec.Selector) == 0 || !labels.SelectorFromSet(s.Spec.Selector).Matches(labels.Set(w.template.Labels)) {
			continue
		}
		named := map[string]bool{}
		for _, p := range w.template.Spec.Containers[0].Ports {
			named[p.Name] = true
		}
		for _, p := range s.Spec.Ports {
			if !named[p.TargetPort.StrVal] {
				t.Errorf("%s: Service %s targets port %q, which %s does not name", where, s.Name, p.TargetPort.String(), w.where)
			}
		}
		return
	}
	t.Errorf("%s: Service %s selects no pod", where, s.Name)
}

func selectsService(match map[string]string, docs []doc) bool {
	for _, d := range docs {
		if s, ok := d.obj.(*corev1.Service); ok && len(match) > 0 &&
			labels.SelectorFromSet(match).Matches(labels.Set(s.Labels)) {
			return true
		}
	}
	return false
}
