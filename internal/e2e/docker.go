// Package e2e runs Portolan in real containers: the project's own images,
// built FROM scratch from the static binaries, on private Docker networks
// that the tests create, cut and remove. It drives the docker CLI through
// os/exec, so it needs nothing but a Docker engine; without one the tests
// skip with a message, except under CI=true, where they fail.
//
// Every container, network and image it makes carries the label
// io.portolan.e2e=RUN; a run killed before its cleanups (a go test timeout)
// leaves them behind, and
//
//	docker rm -f $(docker ps -aq --filter label=io.portolan.e2e)
//	docker network prune --filter label=io.portolan.e2e
//	docker rmi $(docker images -q --filter label=io.portolan.e2e)
//
// removes them.
package e2e

import (
	"bytes"
	"context"
	"crypto/rand"
	"debug/elf"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/portolan/portolan/internal/testenv"
)

// Label marks everything the harness creates; its value is the run id.
const Label = "io.portolan.e2e"

// Timeouts of the docker commands.
const (
	cmdTimeout   = 60 * time.Second
	buildTimeout = 5 * time.Minute
)

// runID is unique to this test binary: image tags and names derive from it.
var runID = randomHex(4)

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// Docker runs the docker CLI with args and returns its standard output,
// trimmed. The error carries the command and its standard error.
func Docker(args ...string) (string, error) {
	return dockerEnv(cmdTimeout, nil, args...)
}

func dockerEnv(timeout time.Duration, env []string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, "docker", args...)
	cmd.WaitDelay = 5 * time.Second
	if env != nil {
		cmd.Env = append(os.Environ(), env...)
	}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	out := strings.TrimSpace(stdout.String())
	if err != nil {
		if ctx.Err() != nil {
			err = fmt.Errorf("timed out after %s", timeout)
		}
		return out, fmt.Errorf("docker %s: %w: %s", strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
	}
	return out, nil
}

// mustDocker is Docker that fails t on error.
func mustDocker(t testing.TB, args ...string) string {
	t.Helper()
	out, err := Docker(args...)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

var daemon struct {
	once    sync.Once
	version string
	err     error
}

// RequireDocker skips t when no Docker daemon answers `docker info`, with a
// message saying so. With CI=true it fails t instead: CI must not pass by
// skipping the multi-container tests.
func RequireDocker(t testing.TB) {
	t.Helper()
	daemon.once.Do(func() {
		daemon.version, daemon.err = dockerEnv(20*time.Second, nil, "info", "--format", "{{.ServerVersion}}")
		if daemon.err == nil && daemon.version == "" {
			daemon.err = errors.New("docker info reports no server version")
		}
	})
	if daemon.err == nil {
		return
	}
	testenv.Missing(t, fmt.Sprintf("multi-container tests need a Docker daemon, and none answers: %v", daemon.err))
}

// Images are the images under test, built once per test binary.
type Images struct {
	Portolan string // the repo's Dockerfile: /portolan, ENTRYPOINT ["/portolan"]
	Agent    string // Dockerfile.agent: the agent build as /portolan
	NewsAPI  string // examples/newsapi/Dockerfile: the demo API wrapped by the agent build
}

var images struct {
	once sync.Once
	imgs Images
	err  error
}

// BuildImages builds the three images once per test binary, the way `make
// image` does (FROM scratch, nothing pulled), from the static portolan
// binaries ($PORTOLAN_BIN and $PORTOLAN_AGENT_BIN, or ones built for the
// tests) and a newsapi built here. Their tags are unique to the run;
// RemoveImages deletes them.
func BuildImages(t testing.TB) Images {
	t.Helper()
	RequireDocker(t)
	bin, agentBin := testenv.Binary(t), testenv.AgentBinary(t)
	images.once.Do(func() { images.imgs, images.err = buildImages(bin, agentBin) })
	if images.err != nil {
		t.Fatalf("build images: %v", images.err)
	}
	return images.imgs
}

// RemoveImages deletes the images BuildImages built, if any. TestMain calls
// it after the tests.
func RemoveImages() {
	if images.imgs.Portolan == "" {
		return
	}
	if _, err := Docker("rmi", "-f", images.imgs.NewsAPI, images.imgs.Agent, images.imgs.Portolan); err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
	}
}

// repoRoot is the module root, found from this file.
func repoRoot() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..")
}

func buildImages(portolanBin, agentBin string) (Images, error) {
	for _, bin := range []string{portolanBin, agentBin} {
		if err := requireStatic(bin); err != nil {
			return Images{}, err
		}
	}
	root := repoRoot()
	ctxDir, err := os.MkdirTemp("", "portolan-e2e-image-")
	if err != nil {
		return Images{}, err
	}
	defer os.RemoveAll(ctxDir)

	// The context make assembles in .build/image: the three static
	// binaries, the CA bundle and the images' empty directories.
	if err := copyFile(portolanBin, filepath.Join(ctxDir, "portolan"), 0o755); err != nil {
		return Images{}, err
	}
	if err := copyFile(agentBin, filepath.Join(ctxDir, "portolan-agent"), 0o755); err != nil {
		return Images{}, err
	}
	gobuild := exec.Command("go", "build", "-trimpath", "-ldflags", "-s -w", "-o", filepath.Join(ctxDir, "newsapi"), "./examples/newsapi")
	gobuild.Dir = root
	gobuild.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := gobuild.CombinedOutput(); err != nil {
		return Images{}, fmt.Errorf("go build newsapi: %v\n%s", err, out)
	}
	// The news API's own documents (examples/newsapi/portolan), as make copies them.
	docs, err := filepath.Glob(filepath.Join(root, "examples", "newsapi", "portolan", "*.yaml"))
	if err != nil {
		return Images{}, err
	}
	if err := os.MkdirAll(filepath.Join(ctxDir, "composition"), 0o755); err != nil {
		return Images{}, err
	}
	for _, d := range docs {
		if err := copyFile(d, filepath.Join(ctxDir, "composition", filepath.Base(d)), 0o644); err != nil {
			return Images{}, err
		}
	}
	// The image's empty directories, as make image makes them: the agent's
	// two writable by any --user, the coordinator's data dir the image
	// user's own (COPY --chown).
	for dir, mode := range map[string]os.FileMode{
		"run/portolan": os.ModeSticky | 0o777, "var/cache/portolan": os.ModeSticky | 0o777, "coordinator/data": 0o700,
	} {
		path := filepath.Join(ctxDir, filepath.FromSlash(dir))
		if err := os.MkdirAll(path, 0o755); err != nil {
			return Images{}, err
		}
		if err := os.Chmod(path, mode); err != nil {
			return Images{}, err
		}
	}
	ca := filepath.Join(ctxDir, "ca-certificates.crt")
	if err := copyFile("/etc/ssl/certs/ca-certificates.crt", ca, 0o644); err != nil {
		// The tests make no TLS calls: an empty bundle will do.
		if err := os.WriteFile(ca, nil, 0o644); err != nil {
			return Images{}, err
		}
	}

	imgs := Images{Portolan: "portolan:e2e-" + runID, Agent: "portolan-agent:e2e-" + runID, NewsAPI: "portolan-newsapi:e2e-" + runID}
	images.imgs = imgs // for RemoveImages, even if a build fails
	// The legacy builder takes a local image in FROM without asking a
	// registry; --pull=false says so explicitly.
	env := []string{"DOCKER_BUILDKIT=0"}
	for _, b := range []struct{ dockerfile, tag, portolanImage string }{
		{filepath.Join(root, "Dockerfile"), imgs.Portolan, ""},
		{filepath.Join(root, "Dockerfile.agent"), imgs.Agent, ""},
		{filepath.Join(root, "examples", "newsapi", "Dockerfile"), imgs.NewsAPI, imgs.Agent},
	} {
		args := []string{"build", "--pull=false", "--label", Label + "=" + runID, "-f", b.dockerfile, "-t", b.tag}
		if b.portolanImage != "" {
			args = append(args, "--build-arg", "PORTOLAN_IMAGE="+b.portolanImage)
		}
		if _, err := dockerEnv(buildTimeout, env, append(args, ctxDir)...); err != nil {
			return Images{}, err
		}
	}
	return imgs, nil
}

// requireStatic refuses a dynamically linked binary: a scratch image has no
// loader and no libc to run it.
func requireStatic(path string) error {
	f, err := elf.Open(path)
	if err != nil {
		return fmt.Errorf("%s: %w (the image needs a Linux binary)", path, err)
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			return fmt.Errorf("%s is dynamically linked: a scratch image cannot run it (build with CGO_ENABLED=0, as make build does)", path)
		}
	}
	return nil
}

func copyFile(from, to string, mode os.FileMode) error {
	in, err := os.Open(from)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(to, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, mode)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

// Env is one test's world: the images and a private network of its own.
// Everything in it is removed when the test ends, failed or not.
type Env struct {
	t       testing.TB
	Images  Images
	ID      string // unique prefix of container and network names
	Network string
}

// NewEnv builds the images (once), creates a private network with a unique
// name and removes it when t ends, after the containers run on it.
func NewEnv(t testing.TB) *Env {
	t.Helper()
	imgs := BuildImages(t)
	e := &Env{t: t, Images: imgs, ID: "pe2e-" + randomHex(4)}
	e.Network = e.ID
	mustDocker(t, "network", "create", "--label", Label+"="+runID, e.Network)
	// Registered first, so it runs after every container's cleanup.
	t.Cleanup(func() {
		if _, err := Docker("network", "rm", e.Network); err != nil {
			t.Logf("cleanup: %v", err)
		}
	})
	return e
}

// RunOpts describes a container to start.
type RunOpts struct {
	Name     string   // short name, unique within the test (the container is named ID-Name)
	Hostname string   // --hostname; defaults to Name
	Aliases  []string // network aliases: names other containers resolve it by
	Image    string
	Env      []string // KEY=VALUE
	Publish  []string // -p specs; publish to 127.0.0.1 only, e.g. "127.0.0.1::7070"
	Args     []string // after the image: the command, or CMD's arguments
}

// Container is a container started by Env.Run.
type Container struct {
	env     *Env
	opts    RunOpts
	Name    string // the container's name for the docker CLI
	cleanup bool   // its cleanup is registered

	mu    sync.Mutex
	ports map[string]string // Port's answers, until the next (re)connect or (re)start
}

// Run starts a container detached on the env's network. It is removed (rm
// -f) when the test ends; when the test failed its last logs are printed
// first.
func (e *Env) Run(opts RunOpts) *Container {
	e.t.Helper()
	if opts.Hostname == "" {
		opts.Hostname = opts.Name
	}
	c := &Container{env: e, opts: opts, Name: e.ID + "-" + opts.Name}
	c.start()
	return c
}

func (c *Container) start() {
	t := c.env.t
	t.Helper()
	c.forgetPorts()
	args := []string{"run", "-d", "--name", c.Name, "--hostname", c.opts.Hostname,
		"--network", c.env.Network, "--label", Label + "=" + runID}
	for _, a := range c.opts.Aliases {
		args = append(args, "--network-alias", a)
	}
	for _, kv := range c.opts.Env {
		args = append(args, "-e", kv)
	}
	for _, p := range c.opts.Publish {
		args = append(args, "-p", p)
	}
	args = append(args, c.opts.Image)
	args = append(args, c.opts.Args...)
	// Registered before the run, so a container half-created by a failed
	// run is removed too; once, whatever the incarnations.
	if !c.cleanup {
		c.cleanup = true
		t.Cleanup(func() {
			if t.Failed() {
				if logs, err := c.Logs(60); err == nil {
					t.Logf("logs of %s (last 60 lines):\n%s", c.Name, logs)
				}
			}
			_, _ = Docker("rm", "-f", "-v", c.Name)
		})
	}
	mustDocker(t, args...)
}

// Recreate removes the container (rm -f: SIGKILL, no goodbye) and runs a new
// one with the same name, hostname, aliases and settings: a new incarnation.
func (c *Container) Recreate() {
	c.env.t.Helper()
	c.Remove()
	c.start()
}

// Remove is docker rm -f.
func (c *Container) Remove() {
	c.env.t.Helper()
	mustDocker(c.env.t, "rm", "-f", "-v", c.Name)
}

// Kill is docker kill: SIGKILL to the container's PID 1 by default.
func (c *Container) Kill(signal ...string) {
	c.env.t.Helper()
	args := []string{"kill"}
	if len(signal) > 0 {
		args = append(args, "--signal", signal[0])
	}
	mustDocker(c.env.t, append(args, c.Name)...)
}

// Stop is docker stop: SIGTERM, then SIGKILL after timeout.
func (c *Container) Stop(timeout time.Duration) {
	c.env.t.Helper()
	mustDocker(c.env.t, "stop", "-t", fmt.Sprint(int(timeout.Seconds())), c.Name)
}

// Start is docker start of a stopped container.
func (c *Container) Start() {
	c.env.t.Helper()
	c.forgetPorts()
	mustDocker(c.env.t, "start", c.Name)
}

// Restart is docker restart: stop (SIGTERM, then SIGKILL after timeout) and
// start again, same container, same hostname.
func (c *Container) Restart(timeout time.Duration) {
	c.env.t.Helper()
	c.forgetPorts()
	mustDocker(c.env.t, "restart", "-t", fmt.Sprint(int(timeout.Seconds())), c.Name)
}

// Exec runs a command in the container (docker exec) and returns its
// standard output. Scratch images hold only their own binaries.
func (c *Container) Exec(args ...string) (string, error) {
	return Docker(append([]string{"exec", c.Name}, args...)...)
}

// Disconnect cuts the container off the env's network.
func (c *Container) Disconnect() {
	c.env.t.Helper()
	mustDocker(c.env.t, "network", "disconnect", c.env.Network, c.Name)
}

// Connect attaches the container to the env's network again, with its
// aliases. Its published ports come back on new host ports (Port knows).
func (c *Container) Connect() {
	c.env.t.Helper()
	c.forgetPorts()
	args := []string{"network", "connect"}
	for _, a := range c.opts.Aliases {
		args = append(args, "--alias", a)
	}
	mustDocker(c.env.t, append(args, c.env.Network, c.Name)...)
}

// Inspect evaluates a Go template against docker inspect.
func (c *Container) Inspect(format string) string {
	c.env.t.Helper()
	return mustDocker(c.env.t, "inspect", "--format", format, c.Name)
}

// IP is the container's address on the env's network ("" when it has none).
func (c *Container) IP() string {
	c.env.t.Helper()
	return c.Inspect(fmt.Sprintf(`{{with index .NetworkSettings.Networks %q}}{{.IPAddress}}{{end}}`, c.env.Network))
}

// Port returns the loopback host address ("127.0.0.1:NNNNN") a published
// container port ("7070/tcp") is reachable at. Docker picks a new host port
// whenever the container is started or connected to the network again, so
// ask again after those rather than keeping the answer.
func (c *Container) Port(containerPort string) (string, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if addr, ok := c.ports[containerPort]; ok {
		return addr, nil
	}
	out, err := Docker("port", c.Name, containerPort)
	if err != nil {
		return "", err
	}
	for _, line := range strings.Split(out, "\n") {
		if line = strings.TrimSpace(line); strings.HasPrefix(line, "127.0.0.1:") {
			if c.ports == nil {
				c.ports = map[string]string{}
			}
			c.ports[containerPort] = line
			return line, nil
		}
	}
	return "", fmt.Errorf("%s: port %s is not published on 127.0.0.1: %q", c.Name, containerPort, out)
}

func (c *Container) forgetPorts() {
	c.mu.Lock()
	c.ports = nil
	c.mu.Unlock()
}

// Logs returns the container's combined output, the last n lines (all when
// n <= 0).
func (c *Container) Logs(n int) (string, error) {
	args := []string{"logs"}
	if n > 0 {
		args = append(args, "--tail", fmt.Sprint(n))
	}
	ctx, cancel := context.WithTimeout(context.Background(), cmdTimeout)
	defer cancel()
	// docker logs replays the container's stdout and stderr on its own.
	out, err := exec.CommandContext(ctx, "docker", append(args, c.Name)...).CombinedOutput()
	return string(out), err
}
