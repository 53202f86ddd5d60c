// Package fdbudget shares a process's open file limit (RLIMIT_NOFILE)
// among its listeners, so that a flood of clients on one meets that
// listener's connection bound before the process runs out of descriptors
// for everything else: its other listeners, its outgoing connections, its
// files. Envoy's advice ("keep the sum of all connection limits less than
// half of the system's file descriptor limit") and nginx's warning of
// "worker_connections exceed open file resource limit" are the model.
//
// It imports nothing of Portolan.
package fdbudget

// Descriptors kept back from proxied connections for the process's own
// use: a quarter of the limit, at least reserveMin.
const (
	reserveMin = 64
	reserveDiv = 4
)

// unbounded is a limit beyond which descriptors bound nothing in practice.
const unbounded = 1 << 30

// Reserve is what a process with nofile descriptors keeps back from
// proxied connections; 0 when nofile bounds nothing (0: unknown).
func Reserve(nofile uint64) uint64 {
	if nofile == 0 || nofile > unbounded {
		return 0
	}
	return min(nofile, max(reserveMin, nofile/reserveDiv))
}

// ProxyConns is how many client connections a proxy may hold open with
// nofile descriptors: each may hold an upstream connection too, and the
// reserve stays. 0 means no bound from descriptors.
func ProxyConns(nofile uint64) int {
	r := Reserve(nofile)
	if r == 0 {
		return 0
	}
	if nofile < r+2 {
		return 1
	}
	return int((nofile - r) / 2)
}

// ServerConns is how many client connections a server that opens no
// upstream connection per client (the coordinator) may hold open with
// nofile descriptors, the reserve staying. 0 means no bound.
func ServerConns(nofile uint64) int {
	r := Reserve(nofile)
	if r == 0 {
		return 0
	}
	return max(1, int(nofile-r))
}

// OwnConns is how many connections each of n listeners of the process's
// own (a local API, metrics) may hold open, sharing the reserve with the
// process's files and outgoing connections. 0 means no bound.
func OwnConns(nofile uint64, n int) int {
	r := Reserve(nofile)
	if r == 0 {
		return 0
	}
	return max(1, int(r)/(2*max(n, 1)))
}

// Bound is want lowered to budget (0: no bound), and whether it was.
func Bound(want, budget int) (int, bool) {
	if budget == 0 || want <= budget {
		return want, false
	}
	return budget, true
}
