package agent

import (
	"github.com/rs/zerolog"
	"golang.org/x/sys/unix"
)

// makeNonDumpable keeps CMD out of the agent's process. CMD runs as the
// agent's user, and a process of that user may read another's
// /proc/PID/environ, where the agent's secrets sit as it was given them
// (PORTOLAN_AGENT_TOKEN, _MGMT_TOKEN, _CONSUL_TOKEN, _GOSSIP_KEY; commandEnv
// withholds them from CMD's own environment only), and its memory
// (/proc/PID/mem, ptrace), where they sit once read. A non-dumpable
// process's /proc/PID files belong to root, and only a process with
// CAP_SYS_PTRACE may read them or attach to it: not CMD as the agent's
// user, nor CMD as root under a container runtime's default capabilities
// (Docker's and Kubernetes' leave CAP_SYS_PTRACE out). /proc/PID/cmdline
// stays readable by all: a secret flag is given by its -file twin or its
// environment variable, never on the command line.
//
// CMD itself is unaffected: execve makes the program it starts dumpable
// again (unless that program is setuid or unreadable). The agent writes no
// core dump, and a debugger of the agent's user cannot attach to it. A
// failure is logged, not fatal: the agent runs as before, its secrets
// readable by CMD.
func makeNonDumpable(log zerolog.Logger) {
	if err := unix.Prctl(unix.PR_SET_DUMPABLE, 0, 0, 0, 0); err != nil {
		log.Warn().Err(err).Msg("cannot make the agent non-dumpable: CMD, running as the agent's user, can read the agent's secrets in its /proc/PID/environ and memory")
	}
}
