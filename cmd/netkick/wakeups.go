package main

import (
	"os"
	"strings"
	"syscall"
)

// awakeSchedtrace is the GODEBUG setting `netkick serve` runs with. Any
// schedtrace above zero keeps the Go runtime's monitor thread (sysmon) out of
// its deep sleep; this one asks for a scheduler trace line only every
// 2^31-1 ms (24.8 days of the machine's uptime).
//
// Why: a lock-step server (TFTP: one block, wait for its ACK; DHCP: one
// reply per request) leaves every P idle between packets. sysmon then goes to
// deep sleep, and the next system call (the sendto of the next block) wakes
// it: two thread wake-ups per block instead of one. Over a veth pair that
// made a 64 MiB TFTP transfer 1.19-1.34x slower than tftpd-hpa; with sysmon
// awake it wakes every 10 ms at most when idle, and the transfer costs one
// wake-up per block (see docs/benchmarks.md, bench/tftp.sh).
const awakeSchedtrace = "schedtrace=2147483647"

// serveEnv decides whether `netkick` should re-execute itself with
// awakeSchedtrace added to GODEBUG, and returns the environment to use. It
// does so only for `serve`, and never when GODEBUG already sets schedtrace
// (GODEBUG=schedtrace=0 is how to opt out), so the re-executed process does
// not do it again.
func serveEnv(args, environ []string) ([]string, bool) {
	if subcommand(args[1:]) != "serve" {
		return nil, false
	}
	out := make([]string, 0, len(environ)+1)
	found := false
	for _, kv := range environ {
		v, ok := strings.CutPrefix(kv, "GODEBUG=")
		if !ok {
			out = append(out, kv)
			continue
		}
		if found {
			continue // the runtime reads the first GODEBUG only
		}
		found = true
		for _, setting := range strings.Split(v, ",") {
			if strings.HasPrefix(strings.TrimSpace(setting), "schedtrace=") {
				return nil, false
			}
		}
		if strings.TrimSpace(v) == "" {
			out = append(out, "GODEBUG="+awakeSchedtrace)
		} else {
			out = append(out, "GODEBUG="+v+","+awakeSchedtrace)
		}
	}
	if !found {
		out = append(out, "GODEBUG="+awakeSchedtrace)
	}
	return out, true
}

// reexecAwake replaces the process with itself under serveEnv's environment
// when serveEnv says so. The runtime reads schedtrace only at start, hence the
// exec (same PID, so service managers see no change). If the executable
// cannot be found or run, netkick goes on as it is: only slower.
func reexecAwake() {
	env, ok := serveEnv(os.Args, os.Environ())
	if !ok {
		return
	}
	exe, err := os.Executable()
	if err != nil {
		return
	}
	_ = syscall.Exec(exe, os.Args, env) // returns only on failure
}

// subcommand returns the first argument that is not a global flag or its
// value: the command global flags may precede (`netkick --data D serve`).
func subcommand(args []string) string {
	for i := 0; i < len(args); i++ {
		a := args[i]
		switch {
		case a == "--":
			if i+1 < len(args) {
				return args[i+1]
			}
			return ""
		case strings.HasPrefix(a, "-"):
			if !strings.Contains(a, "=") && globalValueFlag(a) {
				i++ // its value
			}
		default:
			return a
		}
	}
	return ""
}

// globalValueFlag says whether a is one of the root's flags that take a value.
func globalValueFlag(a string) bool {
	switch strings.TrimLeft(a, "-") {
	case "data", "server", "token-file", "templates", "public-url":
		return true
	}
	return false
}
