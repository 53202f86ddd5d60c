package deploy_test

import (
	"os"
	"path"
	"slices"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

// composeService is the part of a compose service the privilege rules read.
type composeService struct {
	Image       string   `yaml:"image"`
	User        string   `yaml:"user"`
	Privileged  bool     `yaml:"privileged"`
	ReadOnly    bool     `yaml:"read_only"`
	CapAdd      []string `yaml:"cap_add"`
	CapDrop     []string `yaml:"cap_drop"`
	SecurityOpt []string `yaml:"security_opt"`
	MemLimit    string   `yaml:"mem_limit"`
	Tmpfs       []string `yaml:"tmpfs"`
	Volumes     []string `yaml:"volumes"`
	Command     []string `yaml:"command"`
}

// TestComposeContainersRunWithLeastPrivilege holds the compose file to the
// rules the Kubernetes manifests follow (deploy/README.md: "a read-only
// root file system, no capabilities (drop: [ALL]), no privilege
// escalation"), with a memory limit: every container read-only with
// writable mounts only where Portolan writes (the coordinator's /data; an
// agent's /run/portolan and /var/cache/portolan), every capability
// dropped, no-new-privileges, bounded memory, and not root. The e2e test
// TestComposeComesUpHealthy runs the file so.
func TestComposeContainersRunWithLeastPrivilege(t *testing.T) {
	b, err := os.ReadFile("compose/docker-compose.yml")
	if err != nil {
		t.Fatal(err)
	}
	var file struct {
		Services map[string]composeService `yaml:"services"`
	}
	if err := yaml.Unmarshal(b, &file); err != nil {
		t.Fatalf("compose/docker-compose.yml: %v", err)
	}
	if len(file.Services) == 0 {
		t.Fatal("compose/docker-compose.yml: no services")
	}
	for name, s := range file.Services {
		if !s.ReadOnly {
			t.Errorf("%s: want read_only: true (a read-only root file system)", name)
		}
		if s.Privileged || len(s.CapAdd) > 0 || !slices.Equal(s.CapDrop, []string{"ALL"}) {
			t.Errorf("%s: privileged %v, cap_add %q, cap_drop %q: want no capabilities (cap_drop: [ALL])", name, s.Privileged, s.CapAdd, s.CapDrop)
		}
		if !slices.Contains(s.SecurityOpt, "no-new-privileges:true") {
			t.Errorf("%s: security_opt %q: want no-new-privileges:true", name, s.SecurityOpt)
		}
		if s.MemLimit == "" {
			t.Errorf("%s: no mem_limit", name)
		}
		if s.User != "" && (s.User == "0" || strings.HasPrefix(s.User, "0:") || s.User == "root") {
			t.Errorf("%s: user %q: the images run as %d", name, s.User, nonRootUID)
		}
		writable := map[string]bool{}
		for _, m := range s.Tmpfs {
			dir, _, _ := strings.Cut(m, ":")
			writable[dir] = true
		}
		for _, v := range s.Volumes {
			parts := strings.Split(v, ":")
			target := parts[0]
			if len(parts) > 1 {
				target = parts[1]
			}
			if len(parts) > 2 && strings.Contains(parts[2], "ro") {
				continue
			}
			writable[path.Clean(target)] = true
		}
		want := []string{"/run/portolan", "/var/cache/portolan"} // the agent's placement and cache
		if slices.Contains(s.Command, "coordinator") {
			want = []string{"/data"}
		}
		for _, dir := range want {
			if !writable[dir] {
				t.Errorf("%s: %s, where Portolan writes, is no tmpfs or volume: with read_only it must be one (have %v)", name, dir, writable)
			}
		}
	}
}
