// Package supervise is the agent's PID 1: it starts the container's real
// process (CMD), forwards signals to it, reaps orphans, and stops CMD
// gracefully. It is a small program in the spirit of tini, and imports
// nothing of Portolan.
//
// # Supervising CMD
//
// A [Supervisor] is a small init in the spirit of tini:
//
//   - CMD runs in its own process group and shares the agent's standard
//     input, output and error file descriptors directly (no pipes), so a TTY
//     application behaves: when the agent's stdin is a terminal whose
//     foreground process group is the agent's, the terminal is handed to
//     CMD's process group, so that reading it does not stop CMD with SIGTTIN
//     and Ctrl-C reaches CMD.
//   - The signals tini forwards are forwarded to CMD, or to its whole
//     process group with SignalGroup: SIGTERM, SIGINT, SIGHUP, SIGQUIT,
//     SIGUSR1, SIGUSR2, SIGWINCH, SIGALRM, SIGVTALRM, SIGCONT, SIGTSTP,
//     SIGIO, SIGPWR, SIGSTKFLT (but on MIPS, which has none) and the
//     real-time signals (an image may stop with SIGRTMIN+3), but not those
//     the agent's own process is sent (SIGPIPE, SIGXFSZ, SIGXCPU, SIGPROF,
//     SIGURG, faults);
//     except SIGHUP or SIGINT when the agent was started ignoring it (nohup,
//     a script's background job): CMD inherits it ignored, as under tini,
//     and the agent neither handles nor forwards it. Go's runtime keeps only
//     those two ignored; any other signal ignored at the agent's start
//     (SIGQUIT in a background job, SIGPIPE) it takes over before the
//     agent's code runs, so CMD gets it at its default action and the agent
//     forwards it.
//   - CMD starts with no signal blocked, whatever the agent's own mask, and
//     with every signal the agent handles at its default action.
//   - Once CMD has taken the terminal, the agent ignores SIGTTOU, as tini
//     does: it is then a background job of CMD's group, and with
//     `stty tostop` its own log lines would stop it. CMD gets SIGTTOU at
//     its default action, or ignored when the agent was started ignoring
//     it (tini restores the action it was started with).
//   - Only SIGTERM starts the graceful stop: OnStopping (the agent tells home
//     the instance is draining), then Drain, then SIGTERM is forwarded, then,
//     if CMD is still alive after StopTimeout, its process group is killed
//     with SIGKILL. Every other signal, SIGINT included, is forwarded as is,
//     as tini does: an interactive CMD decides itself what Ctrl-C means, and
//     container runtimes stop containers with SIGTERM.
//   - The agent's result is CMD's exit code, or 128+N when CMD died of
//     signal N.
//   - CMD gets SIGKILL if the agent dies (Pdeathsig), so that a crashed or
//     kill -9'd agent does not leave it running unsupervised.
//
// # Reaping
//
// As PID 1, and otherwise as a child subreaper (PR_SET_CHILD_SUBREAPER), the
// agent inherits every orphaned descendant of CMD and must reap it. A
// background wait4(-1) would steal CMD's exit status from os/exec, so this
// package never uses os/exec's Wait: CMD is started with os.StartProcess and
// one reaper goroutine owns all waiting in the process. On SIGCHLD (and once
// a second, in case a SIGCHLD was coalesced away) it calls
// wait4(-1, WNOHANG) until nothing is left to collect; the status of a
// child this package started goes to whoever waits for it, and orphans are
// discarded. The reaper runs while a child started by this package is alive,
// and stops (signal.Stop) when the last one has been collected.
//
// The rule that follows for the rest of the agent: while a Supervisor runs,
// nothing else in the process may wait for children, so exec.Cmd's Wait, Run,
// Output and CombinedOutput fail there, at random, with "waitid: no child
// processes" whenever the reaper collects the child first. Run other
// children, such as an exec health check, with [CombinedOutput] or [Spawn],
// which get their exit codes back from the reaper.
//
// Supervision needs Linux; elsewhere [New], [Spawn] and
// [CombinedOutput] return an error, and the rest of the package builds.
package supervise
