//go:build linux

package supervise_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// procInfo is a process as /proc/PID/stat shows it.
type procInfo struct {
	pid, ppid, pgrp, tpgid int
	comm, state            string
}

func parseStat(s string) (procInfo, bool) {
	open, end := strings.IndexByte(s, '('), strings.LastIndexByte(s, ')')
	if open < 0 || end < open {
		return procInfo{}, false
	}
	f := strings.Fields(s[end+1:]) // state ppid pgrp session tty_nr tpgid ...
	if len(f) < 5 {
		return procInfo{}, false
	}
	p := procInfo{comm: s[open+1 : end], state: f[0]}
	p.pid, _ = strconv.Atoi(strings.TrimSpace(s[:open]))
	p.ppid, _ = strconv.Atoi(f[1])
	p.pgrp, _ = strconv.Atoi(f[2])
	p.tpgid, _ = strconv.Atoi(f[5])
	return p, true
}

// procs lists the processes of /proc.
func procs() []procInfo {
	paths, _ := filepath.Glob("/proc/[0-9]*/stat")
	var out []procInfo
	for _, path := range paths {
		b, err := os.ReadFile(path)
		if err != nil {
			continue // gone meanwhile
		}
		if p, ok := parseStat(string(b)); ok {
			out = append(out, p)
		}
	}
	return out
}

// zombies lists the processes in state Z whose parent is ppid (any, for 0).
func zombies(ppid int) []string {
	var out []string
	for _, p := range procs() {
		if p.state == "Z" && (ppid == 0 || p.ppid == ppid) {
			out = append(out, fmt.Sprintf("%d (%s) parent %d", p.pid, p.comm, p.ppid))
		}
	}
	return out
}
