package deploy_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/portolan/portolan/internal/testenv"
)

// installedBinary is where the units expect portolan.
const installedBinary = "/usr/local/bin/portolan"

// systemdAnalyze returns systemd-analyze. When it is missing the test is
// skipped, except under CI=true, where it fails: CI installs it (make
// systemd-analyze).
func systemdAnalyze(t *testing.T) string {
	t.Helper()
	p, err := exec.LookPath("systemd-analyze")
	if err != nil {
		testenv.Missing(t, "no systemd-analyze (Debian package systemd; make systemd-analyze installs it): "+err.Error())
	}
	return p
}

// TestSystemdUnits verifies the units with systemd-analyze (any warning
// fails: systemd only warns of an unknown key or a bad value) with the
// binary they start replaced by the real one, and checks their ExecStart
// flags against its help.
func TestSystemdUnits(t *testing.T) {
	analyze := systemdAnalyze(t)
	bin := testenv.Binary(t)
	help := &flagHelp{bin: bin}
	dir := t.TempDir()
	units := map[string]string{ // unit file -> the unit verified
		"portolan-coordinator.service": "portolan-coordinator.service",
		"portolan-agent@.service":      "portolan-agent@news.service",
	}
	entries, err := os.ReadDir("systemd")
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if strings.HasSuffix(e.Name(), ".service") && units[e.Name()] == "" {
			t.Errorf("systemd/%s is not verified here", e.Name())
		}
	}
	for file, unit := range units {
		b, err := os.ReadFile(filepath.Join("systemd", file))
		if err != nil {
			t.Fatal(err)
		}
		text := string(b)
		exec0 := execStart(t, file, text)
		if !strings.HasPrefix(exec0, installedBinary+" ") {
			t.Fatalf("%s: ExecStart=%s does not start %s", file, exec0, installedBinary)
		}
		flags := checkFlags(t, help, file, strings.Fields(strings.TrimPrefix(exec0, installedBinary+" ")))
		for name := range flags {
			if strings.Contains(name, "token") && !strings.HasSuffix(name, "-file") {
				t.Errorf("%s: --%s puts a secret on the command line: use its -file twin and a credential", file, name)
			}
		}
		for _, want := range []string{"NoNewPrivileges=yes", "ProtectSystem=strict", "ProtectHome=yes", "PrivateTmp=yes",
			"CapabilityBoundingSet=\n", "RestrictAddressFamilies=", "SystemCallFilter=@system-service", "DynamicUser=yes",
			"Restart=on-failure", "LoadCredential="} {
			if !strings.Contains(text, "\n"+want) {
				t.Errorf("%s: no %q", file, strings.TrimSpace(want))
			}
		}
		real := strings.ReplaceAll(text, installedBinary, bin)
		if err := os.WriteFile(filepath.Join(dir, file), []byte(real), 0o644); err != nil {
			t.Fatal(err)
		}
		out, err := exec.Command(analyze, "verify", filepath.Join(dir, unit)).CombinedOutput()
		if err != nil || len(strings.TrimSpace(string(out))) > 0 {
			t.Errorf("systemd-analyze verify %s: %v\n%s", unit, err, out)
		}
	}
}

// execStart is the unit's one ExecStart= command line.
func execStart(t *testing.T, file, text string) string {
	t.Helper()
	var found []string
	for _, line := range strings.Split(text, "\n") {
		if v, ok := strings.CutPrefix(line, "ExecStart="); ok {
			found = append(found, v)
		}
	}
	if len(found) != 1 {
		t.Fatalf("%s: %d ExecStart= lines, want 1", file, len(found))
	}
	return found[0]
}
