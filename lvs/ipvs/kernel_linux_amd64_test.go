//go:build linux && amd64

package ipvs

import (
	"context"
	"errors"
	"net/netip"
	"os"
	"runtime"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/netkick/netkick/internal/testenv"
	"github.com/netkick/netkick/lvs"
)

// TestKernelApply runs Apply and Table against the real kernel, in a network
// namespace of its own so the machine's IPVS table is never touched.
//
// The development host's kernel has no ip_vs, so this test runs only when
// NETKICK_IPVS_TEST=1, which the testvm rig sets inside a director guest whose
// kernel loads ip_vs. Without the variable it skips, also under CI (the host
// cannot run it; the guest run is where it counts). With the variable set,
// a missing ip_vs or root fails under CI.
func TestKernelApply(t *testing.T) {
	if os.Getenv("NETKICK_IPVS_TEST") != "1" {
		t.Skip("real-kernel IPVS test: runs only with NETKICK_IPVS_TEST=1 (set by the testvm guest; this host's kernel has no ip_vs)")
	}
	testenv.RequireRoot(t)
	if _, err := os.Stat(ProcIPVS); err != nil {
		testenv.Missing(t, ProcIPVS+" is missing: load the module with `modprobe ip_vs` in the guest")
	}

	errc := make(chan error, 1)
	var report strings.Builder
	go func() {
		// This goroutine's thread moves to a fresh network namespace and is
		// never unlocked, so the runtime discards the thread when it ends.
		runtime.LockOSThread()
		if err := unix.Unshare(unix.CLONE_NEWNET); err != nil {
			errc <- err
			return
		}
		errc <- kernelScenario(t, &report)
	}()
	if err := <-errc; err != nil {
		t.Fatalf("%v\n%s", err, report.String())
	}
	t.Log(report.String())
}

func kernelScenario(t *testing.T, report *strings.Builder) error {
	ctx := context.Background()
	k, err := Open(ctx, 0)
	if err != nil {
		return err
	}
	c, hosts := lvs.DemoCluster(), lvs.DemoHosts()
	p, err := lvs.NewPlan(&c, hosts)
	if err != nil {
		return err
	}
	desired, err := Desired(p)
	if err != nil {
		return err
	}
	first, err := Apply(ctx, k, desired)
	if err != nil {
		return err
	}
	report.WriteString(render(first) + "\n")
	if len(first) != 3 {
		t.Errorf("first apply made %d changes, want 3 (service + two servers)", len(first))
	}
	second, err := Apply(ctx, k, desired)
	if err != nil {
		return err
	}
	if len(second) != 0 {
		t.Errorf("second apply changed %s; want nothing", render(second))
	}
	desired[0].Dests[0].Weight = 4
	desired[0].Scheduler = "wrr"
	third, err := Apply(ctx, k, desired)
	if err != nil {
		return err
	}
	if got := render(third); !strings.Contains(got, "scheduler lc -> wrr") || !strings.Contains(got, "weight 1 -> 4") {
		t.Errorf("third apply = %s, want a scheduler and a weight change", got)
	}
	// A second service: UDP with persistence, read back from the kernel's flags.
	dns := Service{Key: Key{"udp", netip.MustParseAddr("192.0.2.41"), 53}, Scheduler: "rr", Persistent: 300,
		Dests: []Dest{{Addr: netip.MustParseAddr("192.0.2.21"), Port: 53, Weight: 1, Fwd: FwdDirect}}}
	desired = append(desired, dns)
	if fourth, err := Apply(ctx, k, desired); err != nil {
		return err
	} else if got := render(fourth); got != "add-service udp 192.0.2.41:53 scheduler rr persistent 300s\nadd-server udp 192.0.2.41:53 -> 192.0.2.21:53 weight 1" {
		t.Errorf("fourth apply = %q", got)
	}
	tab, err := k.Table(ctx)
	if err != nil {
		return err
	}
	report.WriteString(FormatStatus(tab))
	if d := Diff(desired, tab); len(d) != 0 {
		t.Errorf("kernel table differs after apply: %s", render(d))
	}
	if _, err := Apply(ctx, k, nil); err != nil {
		return err
	}
	if tab, err = k.Table(ctx); err != nil || len(tab) != 0 {
		t.Errorf("after removing everything the table holds %v (err %v)", tab, err)
	}
	return nil
}

// TestOpenWithoutIPVS checks the message a director without ip_vs gets.
func TestOpenWithoutIPVS(t *testing.T) {
	if _, err := os.Stat(ProcIPVS); err == nil {
		t.Skip("ip_vs is loaded here; TestKernelApply covers Open")
	}
	_, err := Open(context.Background(), 0)
	if err == nil || !strings.Contains(err.Error(), "modprobe ip_vs") {
		t.Fatalf("Open without ip_vs: err = %v, want advice to modprobe ip_vs", err)
	}
}

// TestCallGuards checks the protection around libipvs calls: a call that
// never returns times out and marks the handle stuck (later calls fail fast),
// and a panic inside libipvs comes back as an error.
func TestCallGuards(t *testing.T) {
	ctx := context.Background()
	h := &Handle{timeout: 50 * time.Millisecond}
	if err := h.call(ctx, "panic", func() error { panic("Incomplete service id fields") }); err == nil || !strings.Contains(err.Error(), "panicked") {
		t.Fatalf("panic: err = %v", err)
	}
	if err := h.call(ctx, "ok", func() error { return nil }); err != nil {
		t.Fatalf("a panic must not mark the handle stuck: %v", err)
	}
	block := make(chan struct{})
	t.Cleanup(func() { close(block) }) // lets the abandoned goroutine end
	start := time.Now()
	err := h.call(ctx, "list services", func() error { <-block; return nil })
	if err == nil || !strings.Contains(err.Error(), "no answer from the kernel") {
		t.Fatalf("hang: err = %v", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("hang detected only after %s", d)
	}
	if err := h.call(ctx, "again", func() error { return nil }); err == nil || !strings.Contains(err.Error(), "stuck") {
		t.Fatalf("after a timeout: err = %v, want the handle reported stuck", err)
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	h2 := &Handle{timeout: time.Minute}
	if err := h2.call(cctx, "cancelled", func() error { <-block; return nil }); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled context: err = %v", err)
	}
}
