package main

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/urfave/cli/v2"

	"github.com/portolan/portolan/internal/testenv"
)

// secretFile writes content to a file of mode perm and returns its path.
func secretFile(t *testing.T, content string, perm os.FileMode) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "secret")
	require.NoError(t, os.WriteFile(p, []byte(content), perm))
	require.NoError(t, os.Chmod(p, perm)) // whatever the umask
	return p
}

// secretProbe runs a command with a secret flag --mgmt-token through
// withSecretFileCommands and returns what the action saw, the exit code and
// standard error.
func secretProbe(t *testing.T, args ...string) (seen string, code int, stderr string) {
	t.Helper()
	var errBuf bytes.Buffer
	app := &cli.App{
		Name: "portolan", Writer: &bytes.Buffer{}, ErrWriter: &errBuf, ExitErrHandler: func(*cli.Context, error) {},
		Commands: withEnvCommands(withSecretFileCommands([]*cli.Command{{
			Name:   "probe",
			Flags:  []cli.Flag{&cli.StringFlag{Name: "mgmt-token"}},
			Action: func(c *cli.Context) error { seen = c.String("mgmt-token"); return nil },
		}})),
	}
	code = run(app, append([]string{"portolan", "probe"}, args...), &errBuf)
	return seen, code, errBuf.String()
}

func TestSecretFileTwinReadsTheFile(t *testing.T) {
	seen, code, stderr := secretProbe(t, "--mgmt-token-file", secretFile(t, "s3cret-token\n", 0o600))
	require.Equal(t, 0, code, stderr)
	assert.Equal(t, "s3cret-token", seen, "one trailing newline is dropped")
	assert.Empty(t, stderr, "a 0600 file draws no warning")

	seen, code, stderr = secretProbe(t, "--mgmt-token-file", secretFile(t, "crlf-token\r\n", 0o400))
	require.Equal(t, 0, code, stderr)
	assert.Equal(t, "crlf-token", seen)

	seen, code, _ = secretProbe(t, "--mgmt-token", "on-the-command-line")
	require.Equal(t, 0, code)
	assert.Equal(t, "on-the-command-line", seen, "the flag alone still works")

	t.Setenv("PORTOLAN_PROBE_MGMT_TOKEN_FILE", secretFile(t, "from-env-file", 0o600))
	seen, code, stderr = secretProbe(t)
	require.Equal(t, 0, code, stderr)
	assert.Equal(t, "from-env-file", seen, "the twin reads its environment variable")
}

func TestSecretFileTwinRefusals(t *testing.T) {
	for name, tc := range map[string]struct {
		args []string
		want string
	}{
		"both given": {[]string{"--mgmt-token", "x", "--mgmt-token-file", secretFile(t, "y", 0o600)}, "--mgmt-token and --mgmt-token-file are both set"},
		"empty":      {[]string{"--mgmt-token-file", secretFile(t, "\n", 0o600)}, "is empty"},
		"two lines":  {[]string{"--mgmt-token-file", secretFile(t, "a\nb\n", 0o600)}, "more than one line"},
		"too large":  {[]string{"--mgmt-token-file", secretFile(t, strings.Repeat("a", maxSecretFileBytes+1), 0o600)}, "not a secret file"},
		"missing":    {[]string{"--mgmt-token-file", filepath.Join(t.TempDir(), "nope")}, "no such file"},
		"directory":  {[]string{"--mgmt-token-file", t.TempDir()}, "not a regular file"},
	} {
		t.Run(name, func(t *testing.T) {
			seen, code, stderr := secretProbe(t, tc.args...)
			assert.Equal(t, 2, code, stderr)
			assert.Contains(t, stderr, tc.want)
			assert.Empty(t, seen, "the command did not run")
		})
	}
}

// As ssh does of a private key, a secret file everyone can read draws a
// warning; it is not refused (Docker mounts secrets 0444). A group-readable
// one does not: that is how a non-root pod reads a Kubernetes Secret
// (mode 0440, fsGroup).
func TestWorldReadableSecretFileWarns(t *testing.T) {
	seen, code, stderr := secretProbe(t, "--mgmt-token-file", secretFile(t, "tok", 0o644))
	require.Equal(t, 0, code, stderr)
	assert.Equal(t, "tok", seen)
	assert.Contains(t, stderr, "chmod 600")
	assert.NotContains(t, stderr, "tok\"", "the warning does not hold the secret")

	seen, code, stderr = secretProbe(t, "--mgmt-token-file", secretFile(t, "tok", 0o440))
	require.Equal(t, 0, code, stderr)
	assert.Equal(t, "tok", seen)
	assert.NotContains(t, stderr, "chmod 600", "a group-readable secret file is how pods read Secrets")
}

// Every secret flag of every command has its -file twin.
func TestEverySecretFlagHasAFileTwin(t *testing.T) {
	var check func(path string, cmds []*cli.Command)
	check = func(path string, cmds []*cli.Command) {
		for _, cmd := range cmds {
			var names, strs []string
			for _, f := range cmd.Flags {
				names = append(names, f.Names()[0])
				switch f.(type) {
				case *cli.StringFlag, *cli.StringSliceFlag:
					strs = append(strs, f.Names()[0])
				}
			}
			for _, n := range strs {
				// --tls-key, --tls-client-key, --gateway-tls-key and
				// --upstream-client-key name files already.
				secret := strings.Contains(n, "token") || strings.Contains(n, "secret") || strings.Contains(n, "password") ||
					(strings.HasSuffix(n, "-key") && !strings.HasPrefix(n, "tls-") && !strings.Contains(n, "-tls-") && !strings.HasSuffix(n, "-client-key"))
				if !secret || strings.HasSuffix(n, fileSuffix) {
					continue
				}
				assert.Contains(t, names, n+fileSuffix, "%s %s --%s has no -file twin", path, cmd.Name, n)
			}
			check(path+" "+cmd.Name, cmd.Subcommands)
		}
	}
	check("portolan", newApp().Commands)
}

// Through the real binary: the coordinator takes its agent token from a
// file and an agent phones home with its own from another; neither shows in
// the command line.
func TestTokensFromFilesThroughTheBinary(t *testing.T) {
	bin := testenv.Binary(t)
	const agentToken = "agent-token-from-a-file"
	addr := testenv.FreeAddr(t)
	co := exec.Command(bin, "--log-level", "warn", "coordinator", "--listen", addr, "--data-dir", t.TempDir(),
		"--access-token", "admin", "--agent-token-file", secretFile(t, agentToken+"\n", 0o600))
	out := &testenv.SyncBuffer{}
	co.Stdout, co.Stderr = out, out
	require.NoError(t, co.Start())
	t.Cleanup(func() { _ = co.Process.Kill(); _ = co.Wait() })
	require.Eventually(t, func() bool {
		resp, err := http.Get("http://" + addr + "/metrics")
		if err == nil {
			resp.Body.Close()
		}
		return err == nil
	}, 15*time.Second, 20*time.Millisecond, "coordinator: %s", out)
	// The agent token only registers: the map answers it 403 (known, not
	// allowed) and a wrong token 401.
	mapStatus := func(token string) int {
		req, _ := http.NewRequest(http.MethodGet, "http://"+addr+"/v1/map", nil)
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		resp.Body.Close()
		return resp.StatusCode
	}
	assert.Equal(t, http.StatusForbidden, mapStatus(agentToken), "the coordinator took the token from the file")
	assert.Equal(t, http.StatusUnauthorized, mapStatus("wrong"))

	agent := func(tokenFile string) (int, string) {
		cmd := exec.Command(bin, "agent", "--api", "off", "--home", "http://"+addr, "--service", "news",
			"--token-file", tokenFile, "--cache-dir", "", "--placement-file", filepath.Join(t.TempDir(), "placement.json"),
			"--wait-home", "2s", "--", "true")
		b, err := cmd.CombinedOutput()
		if ee, ok := err.(*exec.ExitError); ok {
			return ee.ExitCode(), string(b)
		}
		require.NoError(t, err, "%s", b)
		return 0, string(b)
	}
	code, output := agent(secretFile(t, agentToken+"\n", 0o600))
	assert.Equal(t, 0, code, output)
	assert.NotContains(t, output, "401", "the agent registered with the token from its file")
	_, output = agent(secretFile(t, "not-the-token\n", 0o600))
	assert.Contains(t, output, "invalid token", "the oracle: a wrong token in the file is refused")
	assert.NotContains(t, output, agentToken)
}

// recordingHome answers every call 500 and records the Basic password (the
// access token) of each.
func recordingHome(t *testing.T) (url string, tokens func() []string) {
	var mu sync.Mutex
	var seen []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, pw, _ := r.BasicAuth()
		mu.Lock()
		seen = append(seen, pw)
		mu.Unlock()
		http.Error(w, `{"error":"recorded"}`, http.StatusInternalServerError)
	}))
	t.Cleanup(srv.Close)
	return srv.URL, func() []string { mu.Lock(); defer mu.Unlock(); return append([]string(nil), seen...) }
}

// A secret and its -file twin follow the flags' precedence: the command
// line wins over the environment, which wins over the --config file.
func TestSecretFileTwinOnCommandLineBeatsEnvAndConfig(t *testing.T) {
	home, tokens := recordingHome(t)
	file := secretFile(t, "from-the-file\n", 0o600)

	t.Run("env", func(t *testing.T) {
		t.Setenv("PORTOLAN_TOKEN_LIST_TOKEN", "from-the-environment")
		code, _, stderr := runApp("token", "list", "--home", home, "--token-file", file)
		assert.NotContains(t, stderr, "both set", "the command line must win over the environment")
		assert.NotEqual(t, 2, code, stderr)
		assert.Contains(t, tokens(), "from-the-file", "the command line's token is the one sent")
	})
	t.Run("config", func(t *testing.T) {
		cfg := configFileAt(t, "token:\n  list:\n    token: from-the-config\n", 0o600)
		code, _, stderr := runApp("--config", cfg, "token", "list", "--home", home, "--token-file", file)
		assert.NotContains(t, stderr, "both set", "the command line must win over the config file")
		assert.NotEqual(t, 2, code, stderr)
	})
	t.Run("config-file-twin", func(t *testing.T) {
		cfg := configFileAt(t, "token:\n  list:\n    token-file: "+file+"\n", 0o600)
		code, _, stderr := runApp("--config", cfg, "token", "list", "--home", home, "--token", "from-the-command-line")
		assert.NotContains(t, stderr, "both set", "the command line's --token must win over the config file's token-file")
		assert.NotEqual(t, 2, code, stderr)
		assert.Contains(t, tokens(), "from-the-command-line")
	})
	t.Run("after-the-arguments", func(t *testing.T) {
		cfg := configFileAt(t, "token:\n  revoke:\n    token: from-the-config\n", 0o600)
		code, _, stderr := runApp("--config", cfg, "token", "revoke", "some-id", "--home", home, "--token-file", secretFile(t, "after-the-id\n", 0o600))
		assert.NotContains(t, stderr, "both set", "a twin given after the arguments is the command line's too")
		assert.NotEqual(t, 2, code, stderr)
		assert.Contains(t, tokens(), "after-the-id")
	})
}

// Between the environment and the command line, each way round, the command
// line wins; both from the same source are refused, naming it.
func TestSecretFileTwinPrecedence(t *testing.T) {
	t.Run("env file, command-line value", func(t *testing.T) {
		t.Setenv("PORTOLAN_PROBE_MGMT_TOKEN_FILE", secretFile(t, "from-env-file", 0o600))
		seen, code, stderr := secretProbe(t, "--mgmt-token", "from-the-command-line")
		require.Equal(t, 0, code, stderr)
		assert.Equal(t, "from-the-command-line", seen)
	})
	t.Run("env value, command-line file", func(t *testing.T) {
		t.Setenv("PORTOLAN_PROBE_MGMT_TOKEN", "from-the-environment")
		seen, code, stderr := secretProbe(t, "--mgmt-token-file", secretFile(t, "from-the-file", 0o600))
		require.Equal(t, 0, code, stderr)
		assert.Equal(t, "from-the-file", seen)
	})
	t.Run("both in the environment", func(t *testing.T) {
		t.Setenv("PORTOLAN_PROBE_MGMT_TOKEN", "from-the-environment")
		t.Setenv("PORTOLAN_PROBE_MGMT_TOKEN_FILE", secretFile(t, "from-env-file", 0o600))
		seen, code, stderr := secretProbe(t)
		assert.Equal(t, 2, code, stderr)
		assert.Contains(t, stderr, "--mgmt-token and --mgmt-token-file are both set in the environment")
		assert.Empty(t, seen, "the command did not run")
	})
	t.Run("the same value on the command line as in the environment", func(t *testing.T) {
		t.Setenv("PORTOLAN_PROBE_MGMT_TOKEN", "same")
		t.Setenv("PORTOLAN_PROBE_MGMT_TOKEN_FILE", secretFile(t, "from-env-file", 0o600))
		seen, code, stderr := secretProbe(t, "--mgmt-token", "same")
		require.Equal(t, 0, code, stderr)
		assert.Equal(t, "same", seen, "given on the command line, even as the environment has it")
	})
}
