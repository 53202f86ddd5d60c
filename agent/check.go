package agent

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/portolan/portolan/agent/supervise"
	"github.com/portolan/portolan/internal/redact"
	"github.com/portolan/portolan/registry"
)

// CheckConfig is the health check of the app: at most one of HTTP, TCP, Exec.
type CheckConfig struct {
	HTTP     string // GET this URL: 2xx passing, 429 warning, anything else critical
	TCP      string // connect to this address: passing when it accepts
	Exec     string // run this command: exit 0 passing, 1 warning, else critical
	Interval time.Duration
	// StartPeriod is how long the app may take to start: until the check
	// first passes, or this long after CMD started, a failing check reports
	// warning ("starting: …"), not critical, as Docker's and Kubernetes'
	// start periods do (from the container's start: CMD's, which
	// --wait-home may hold back). Zero: the first failure once CMD runs
	// counts.
	StartPeriod time.Duration
}

// DefaultCheckStartPeriod is --check-start-period's default: time for most
// apps to listen, and short enough that one that never does turns critical
// soon after boot.
const DefaultCheckStartPeriod = 30 * time.Second

// startingOutput is the output of an instance whose check has not passed yet.
const startingOutput = "starting: the health check has not passed yet"

// check runs one probe and returns a status and its output.
type check func(ctx context.Context) (status, output string)

func (c CheckConfig) describe() string {
	switch {
	case c.HTTP != "":
		return "http GET " + checkURLShown(c.HTTP)
	case c.TCP != "":
		return "tcp " + c.TCP
	case c.Exec != "":
		return "exec " + execShown(c.Exec)
	}
	return ""
}

// execShown is what home, its console and the local API show of an exec
// check: the program alone. Its arguments may hold a secret
// ("redis-cli -a PASSWORD ping"), and so may a leading VAR=value.
func execShown(command string) string {
	fields, err := execArgs(command)
	if err != nil || strings.Contains(fields[0], "=") {
		return "(command)"
	}
	if len(fields) > 1 {
		return fields[0] + " …"
	}
	return fields[0]
}

// build validates the configuration and returns the probe, or nil without one.
func (c CheckConfig) build() (check, error) {
	n := 0
	for _, s := range []string{c.HTTP, c.TCP, c.Exec} {
		if s != "" {
			n++
		}
	}
	if n > 1 {
		return nil, errors.New("give at most one of --check-http, --check-tcp and --check-exec")
	}
	if c.StartPeriod < 0 {
		return nil, fmt.Errorf("--check-start-period %s: want zero or more", c.StartPeriod)
	}
	switch {
	case c.HTTP != "":
		if !strings.HasPrefix(c.HTTP, "http://") && !strings.HasPrefix(c.HTTP, "https://") {
			return nil, fmt.Errorf("--check-http %q: want an http(s) URL", c.HTTP)
		}
		client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
		shown := checkURLShown(c.HTTP)
		return func(ctx context.Context) (string, string) { return httpCheck(ctx, client, c.HTTP, shown) }, nil
	case c.TCP != "":
		if _, _, err := net.SplitHostPort(c.TCP); err != nil {
			return nil, fmt.Errorf("--check-tcp %q: %w", c.TCP, err)
		}
		return func(ctx context.Context) (string, string) { return tcpCheck(ctx, c.TCP) }, nil
	case c.Exec != "":
		if _, err := execArgs(c.Exec); err != nil {
			return nil, fmt.Errorf("--check-exec: %w", err)
		}
		// The agent's secret variables at least; runChecks runs it with
		// CMD's environment (checkProbe), which withholds more.
		env, _ := withoutSecrets(os.Environ(), agentSecretVars, nil)
		return execProbe(c.Exec, env), nil
	}
	return nil, nil
}

// execArgs splits an exec check's command into its program and arguments
// as a POSIX shell splits words, without running one: blanks separate
// them, single quotes keep everything, double quotes keep all but a
// backslash before $, `, " or \, and a backslash outside quotes keeps
// the next character. So a check can be a shell command
// (sh -c 'curl -f … || exit 1', what Docker's --health-cmd runs) or take
// an argument with a space, as Consul's args list can; nothing else of a
// shell ($VAR, globs, pipes) is done. An unterminated quote or a command
// without a program is an error.
func execArgs(command string) ([]string, error) {
	var args []string
	var word strings.Builder
	inWord := false
	for i := 0; i < len(command); i++ {
		switch c := command[i]; {
		case c == ' ' || c == '\t' || c == '\n':
			if inWord {
				args, inWord = append(args, word.String()), false
				word.Reset()
			}
		case c == '\'':
			end := strings.IndexByte(command[i+1:], '\'')
			if end < 0 {
				return nil, errors.New("a single quote is not closed")
			}
			word.WriteString(command[i+1 : i+1+end])
			i, inWord = i+1+end, true
		case c == '"':
			i++
			for ; i < len(command) && command[i] != '"'; i++ {
				if command[i] == '\\' && i+1 < len(command) && strings.IndexByte("$`\"\\", command[i+1]) >= 0 {
					i++
				}
				word.WriteByte(command[i])
			}
			if i == len(command) {
				return nil, errors.New("a double quote is not closed")
			}
			inWord = true
		case c == '\\':
			if i+1 == len(command) {
				return nil, errors.New("it ends with a backslash")
			}
			i++
			word.WriteByte(command[i])
			inWord = true
		default:
			word.WriteByte(c)
			inWord = true
		}
	}
	if inWord {
		args = append(args, word.String())
	}
	if len(args) == 0 || args[0] == "" {
		return nil, errors.New("no program to run")
	}
	return args, nil
}

// execProbe runs command, checked by build, with env, its whole environment.
func execProbe(command string, env []string) check {
	args, _ := execArgs(command)
	return func(ctx context.Context) (string, string) { return execCheck(ctx, args, env) }
}

// checkProbe is the probe runChecks runs. An exec check is a program of
// the app's: it runs with CMD's environment (commandEnv), without the
// agent's secrets, whose values would otherwise reach its output, home's
// map and the unauthenticated local API.
func (a *Agent) checkProbe() check {
	if a.cfg.Check.Exec == "" || a.probe == nil {
		return a.probe
	}
	env, _ := a.secretFreeEnv(os.Environ()) // commandEnv logs what CMD's leaves out: the same
	return execProbe(a.cfg.Check.Exec, env)
}

// checkURLShown is the check URL as the output shows it, without the
// user info and query it may hold: the output goes to home, the service map
// every instance reads, and the unauthenticated local API.
func checkURLShown(s string) string {
	return cmp.Or(redact.URL(s), "the --check-http URL")
}

func httpCheck(ctx context.Context, client *http.Client, target, shown string) (string, string) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, target, nil)
	if err != nil {
		return registry.StatusCritical, "HTTP GET " + shown + ": bad request URL"
	}
	resp, err := client.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // its message repeats the URL, query and all
		}
		return registry.StatusCritical, fmt.Sprintf("HTTP GET %s: %v", shown, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	out := fmt.Sprintf("HTTP GET %s: %s %s", shown, resp.Status, strings.TrimSpace(string(body)))
	switch {
	case resp.StatusCode >= 200 && resp.StatusCode < 300:
		return registry.StatusPassing, out
	case resp.StatusCode == http.StatusTooManyRequests:
		return registry.StatusWarning, out
	}
	return registry.StatusCritical, out
}

func tcpCheck(ctx context.Context, addr string) (string, string) {
	conn, err := (&net.Dialer{}).DialContext(ctx, "tcp", addr)
	if err != nil {
		return registry.StatusCritical, err.Error()
	}
	conn.Close()
	return registry.StatusPassing, "TCP connect " + addr + ": success"
}

func execCheck(ctx context.Context, args, env []string) (string, string) {
	// Through the supervisor's reaper: nothing else in the agent may wait
	// for children (see doc.go).
	code, out, err := supervise.CombinedOutput(ctx, args, env)
	text := boundOutput(strings.TrimSpace(string(out)))
	switch {
	case err != nil:
		return registry.StatusCritical, strings.TrimSpace(err.Error() + " " + text)
	case code == 0:
		return registry.StatusPassing, text
	case code == 1:
		return registry.StatusWarning, text
	case ctx.Err() != nil:
		return registry.StatusCritical, "timed out: " + text
	}
	return registry.StatusCritical, fmt.Sprintf("exit %d: %s", code, text)
}

// markStarting gives an instance with a check the status it has until that
// check first passes: warning, out of traffic (only passing instances
// receive it) without going critical at every boot.
func (a *Agent) markStarting() {
	if a.probe != nil {
		a.st.setHealth(registry.StatusWarning, startingOutput)
		a.m.setStatus(registry.StatusWarning)
	}
}

// startPeriod says how a check result counts while the app starts.
type startPeriod struct {
	until time.Time // the period ends then, if no check passed before; zero until CMD starts
	over  bool
}

// begin starts the period's clock, once: at CMD's start, not the agent's,
// as an agent waiting for home (--wait-home) has no app to check yet and
// a wait must not spend the app's time to start.
func (p *startPeriod) begin(now time.Time, length time.Duration) {
	if p.until.IsZero() {
		p.until = now.Add(length)
	}
}

// count returns the status and output to report for a result at now:
// before the first pass and within the period (or before it began), a
// result other than passing is a warning whose output says the app is
// starting; the first pass, or the period's end, ends it for good.
func (p *startPeriod) count(now time.Time, status, output string) (string, string) {
	if !p.over && (status == registry.StatusPassing || (!p.until.IsZero() && !now.Before(p.until))) {
		p.over = true
	}
	if p.over {
		return status, output
	}
	return registry.StatusWarning, "starting: " + output
}

// runChecks probes the app every interval; a status change wakes the home loop
// so home hears it at once rather than at the next heartbeat.
func (a *Agent) runChecks(ctx context.Context) {
	probe := a.checkProbe()
	t := time.NewTicker(a.cfg.Check.Interval)
	defer t.Stop()
	start := &startPeriod{}
	for {
		cctx, cancel := context.WithTimeout(ctx, min(a.cfg.Check.Interval, 10*time.Second))
		status, output := probe(cctx)
		cancel()
		if ctx.Err() != nil {
			return
		}
		now := time.Now()
		if a.st.self().Running {
			start.begin(now, a.cfg.Check.StartPeriod)
		}
		status, output = start.count(now, status, output)
		output = boundOutput(output)
		if a.st.setHealth(status, output) {
			a.log.Info().Str("status", status).Str("output", output).Msg("health changed")
			select {
			case a.kick <- struct{}{}:
			default:
			}
		}
		a.m.setStatus(status)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
