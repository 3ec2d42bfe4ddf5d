// Package netnstest builds network namespaces for tests: named with the
// test process's pid, joined by veth pairs, removed by t.Cleanup even when
// the test fails, and a way to open sockets inside them.
package netnstest

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/netkick/netkick/internal/testenv"
	"golang.org/x/sys/unix"
)

var seq atomic.Int32

// Require needs root and the ip tool; it skips (by hand) or fails (CI) otherwise.
func Require(t testing.TB) {
	t.Helper()
	testenv.RequireRoot(t)
	testenv.RequireProgram(t, "ip")
}

// New creates a network namespace with a unique name (pid, sequence, role)
// and its loopback up; t.Cleanup deletes it.
func New(t testing.TB, role string) string {
	t.Helper()
	name := fmt.Sprintf("nk-%d-%d-%s", os.Getpid(), seq.Add(1), role)
	Sh(t, "ip", "netns", "add", name)
	t.Cleanup(func() { exec.Command("ip", "netns", "del", name).Run() })
	Sh(t, "ip", "-n", name, "link", "set", "lo", "up")
	return name
}

// Veth joins two namespaces with a veth pair: ifA (address cidrA, MAC macA)
// in nsA and ifB (cidrB, macB) in nsB, both up. An empty MAC keeps the
// kernel's random one; an empty CIDR leaves the side without an address.
func Veth(t testing.TB, nsA, ifA, cidrA, macA, nsB, ifB, cidrB, macB string) {
	t.Helper()
	Sh(t, "ip", "-n", nsA, "link", "add", ifA, "type", "veth", "peer", "name", ifB, "netns", nsB)
	for _, side := range [][4]string{{nsA, ifA, cidrA, macA}, {nsB, ifB, cidrB, macB}} {
		if side[3] != "" {
			Sh(t, "ip", "-n", side[0], "link", "set", side[1], "address", side[3])
		}
		if side[2] != "" {
			Sh(t, "ip", "-n", side[0], "addr", "add", side[2], "dev", side[1])
		}
		Sh(t, "ip", "-n", side[0], "link", "set", side[1], "up")
	}
}

// Sh runs a command and fails the test with its output when it fails.
func Sh(t testing.TB, args ...string) string {
	t.Helper()
	out, err := exec.Command(args[0], args[1:]...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// Cmd is a command run inside namespace ns (ip netns exec).
func Cmd(ns string, args ...string) *exec.Cmd {
	return exec.Command("ip", append([]string{"netns", "exec", ns}, args...)...)
}

// In runs fn on an OS thread switched into namespace ns; sockets fn opens
// stay in that namespace after fn returns.
func In(ns string, fn func() error) error {
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		orig, err := os.Open("/proc/thread-self/ns/net")
		if err != nil {
			errc <- err
			return
		}
		defer orig.Close()
		target, err := os.Open(filepath.Join("/run/netns", ns))
		if err != nil {
			errc <- err
			return
		}
		defer target.Close()
		if err := unix.Setns(int(target.Fd()), unix.CLONE_NEWNET); err != nil {
			errc <- fmt.Errorf("setns %s: %w", ns, err)
			return
		}
		ferr := fn()
		if err := unix.Setns(int(orig.Fd()), unix.CLONE_NEWNET); err != nil {
			// Leave the thread locked: it dies with this goroutine.
			errc <- fmt.Errorf("setns back: %w (fn: %v)", err, ferr)
			return
		}
		runtime.UnlockOSThread()
		errc <- ferr
	}()
	return <-errc
}
