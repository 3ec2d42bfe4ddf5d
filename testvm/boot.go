package testvm

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/netkick/netkick/inventory"
)

// This file boots the scenarios' machines and runs each scenario's course;
// checks.go says what is wrong afterwards.

// runScenario prepares a scenario's machine, runs its course and gathers the
// result.
func (r *rig) runScenario(ctx context.Context, s Scenario) Result {
	start := time.Now()
	res := Result{Scenario: s}
	dir := filepath.Join(r.opts.WorkDir, s.Name)
	tl := NewTimeline(start)
	vm, err := r.prepareVM(ctx, s, dir, start, tl)
	switch {
	case err != nil:
		res.Problems = []string{err.Error()}
	case s.Reinstall:
		res.Problems = r.runReinstall(ctx, s, vm, dir, start, tl, &res)
	case s.ExpectHint != "":
		res.Problems = r.runRefusal(ctx, s, vm, start, tl, &res)
	case s.Discover:
		res.Problems = r.runDiscover(ctx, s, vm, dir, start, tl, &res)
	default:
		res.Problems = r.runInstall(ctx, s, vm, dir, start, tl, &res)
		if s.Simulated != nil && len(res.Problems) == 0 {
			res.Problems = r.runSimulated(ctx, s, start, &res)
		}
	}
	res.Stages = tl.Rows()
	res.Elapsed = time.Since(start)
	if b, err := os.ReadFile(filepath.Join(dir, s.Name+".serial.log")); err == nil {
		res.Serial = string(b)
	}
	res.Pass = len(res.Problems) == 0
	if !res.Pass && res.Failed == "" {
		res.Failed = tl.FirstNotOK()
	}
	if res.Pass && !r.opts.KeepAll {
		for _, f := range []string{"-disk0.img", "-disk1.img", "-disk2.img"} {
			os.Remove(filepath.Join(dir, s.Name+f))
		}
	}
	return res
}

// hostMAC is the scenario's MAC as netkick spells it.
func (s Scenario) hostMAC() string {
	mac, err := inventory.NormalizeMAC(s.MAC)
	if err != nil {
		return s.MAC
	}
	return mac
}

// prepareVM makes the scenario's disks, tap and QEMU settings; for a direct
// boot, the kernel command line with the host's kickstart URL.
func (r *rig) prepareVM(ctx context.Context, s Scenario, dir string, start time.Time, tl *Timeline) (VM, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return VM{}, fmt.Errorf("work dir: %w", err)
	}
	ram, err := s.ram()
	if err != nil {
		return VM{}, err
	}
	var sizes []int64
	for _, d := range s.Disks {
		b, err := ParseSize(d)
		if err != nil {
			return VM{}, fmt.Errorf("scenario %s: disk: %w", s.Name, err)
		}
		sizes = append(sizes, b)
	}
	if s.SecureBoot {
		for _, f := range []string{OVMFCodeSecure, OVMFVarsSecureTmpl} {
			if !fileExists(f) {
				return VM{}, fmt.Errorf("Secure Boot firmware %s is missing (install ovmf)", f)
			}
		}
	}
	if !r.pxe {
		switch {
		case s.SecureBoot:
			return VM{}, fmt.Errorf("scenario %s boots through the firmware's PXE: it cannot run with a direct kernel boot", s.Name)
		case s.Proxy:
			return VM{}, fmt.Errorf("scenario %s boots beside a site DHCP server: it needs PXE, not a direct kernel boot", s.Name)
		case s.Reinstall:
			return VM{}, fmt.Errorf("scenario %s power-cycles into a PXE boot: it cannot run with a direct kernel boot", s.Name)
		}
	}
	tap, err := r.newTap(ctx)
	if err != nil {
		return VM{}, fmt.Errorf("tap: %w", err)
	}
	vm := VM{Name: s.Name, MAC: s.MAC, RAMMiB: ram, UEFI: s.UEFI, FirmwarePXE: s.FirmwarePXE, SecureBoot: s.SecureBoot, Tap: tap}
	if err := vm.Prepare(dir, sizes); err != nil {
		return VM{}, err
	}
	mac := s.hostMAC()
	if !r.pxe {
		vm.Kernel, vm.Initrd = r.kernel.Vmlinuz, r.initrd
		vm.Append = fmt.Sprintf("console=ttyS0 ks=%s ip=%s::%s:255.255.255.0 testvm.report=http://%s:%s/report testvm.noreboot",
			r.ksURL[mac], s.IP, ServerIP, ServerIP, ReportPort)
		if s.IPVS {
			vm.Append += " testvm.lvs=" + s.Cluster
		}
		tl.Set(StageDHCP, StatusSkipped, "direct kernel boot: address from ip=", start)
		tl.Set(StageTFTP, StatusSkipped, "direct kernel boot: -kernel/-initrd", start)
	}
	r.printf("[%s] booting %s: %s, %d MiB, disks %s, %s\n", s.Name, mac, map[bool]string{true: "UEFI", false: "BIOS"}[s.UEFI], ram, strings.Join(s.Disks, "+"), tap)
	return vm, nil
}

// runInstall is the usual course: boot, install, boot the disk; then the
// checks of the report, netkick's timeline and the disks.
func (r *rig) runInstall(ctx context.Context, s Scenario, vm VM, dir string, start time.Time, tl *Timeline, res *Result) []string {
	var p problems
	mac := s.hostMAC()
	// Without a %post callback the host stays in build mode and would install
	// again: stop at the reboot then (the callback row says why).
	noCallback := func() bool {
		rep := r.sink.Get(mac)
		return rep != nil && !strings.Contains(rep.Kick, "/built")
	}
	localBoot := func() bool {
		return tl.Stopped || tl.Row(StageLocalBoot).Status != StatusPending || (tl.Rebooted && noCallback())
	}
	if err := r.bootVM(ctx, s, vm, tl, localBoot, r.opts.Timeout); err != nil {
		p.add("%v", err)
	}
	rep := r.sink.Get(mac)
	res.Report = rep
	if rep == nil {
		if tl.Failed() == "" && s.ExpectFail == "" {
			tl.Set(StageReport, StatusFail, "no report arrived", time.Now())
		}
	} else {
		tl.Set(StageReport, StatusOK, "received", time.Now())
	}
	// Direct boot: boot the same disks again, disk first, to see the local boot.
	if !r.pxe && rep != nil && rep.Failed == "" && tl.Failed() == "" {
		tl.Rebooted = true
		vm2 := vm
		vm2.Kernel, vm2.Initrd, vm2.Append = "", "", ""
		vm2.Serial = filepath.Join(dir, s.Name+".serial2.log")
		vm2.Tap, _ = r.newTap(ctx)
		if err := r.bootVMDiskOnly(ctx, s, vm2, tl, localBoot); err != nil {
			p.add("second boot: %v", err)
		}
	}
	r.setCallbackRow(ctx, s, mac, rep, tl)
	p = append(p, r.checkTimeline(ctx, s, mac, start, tl, res)...)
	if tl.Row(StageCallback).Status == StatusSkipped && tl.Row(StageLocalBoot).Status == StatusPending {
		tl.Set(StageLocalBoot, StatusSkipped, "not checked: without the callback the host stays in build mode", time.Now())
	}
	return append(p, r.checkOutcome(ctx, s, vm, rep, tl, res)...)
}

// runRefusal boots a machine whose firmware must refuse the loader: the
// firmware fetches it and nothing further happens, until netkick's timeline
// shows the scenario's hint (or the limit runs out). Nothing may install.
func (r *rig) runRefusal(ctx context.Context, s Scenario, vm VM, start time.Time, tl *Timeline, res *Result) []string {
	var p problems
	mac := s.hostMAC()
	var last time.Time
	var hint *apiEvent
	sawHint := func() bool {
		if time.Since(last) < 2*time.Second {
			return hint != nil
		}
		last = time.Now()
		if evs, err := r.nk.Events(ctx, mac); err == nil {
			hint = lastHint(evs, start)
		}
		return hint != nil
	}
	if err := r.bootVM(ctx, s, vm, tl, sawHint, 3*time.Minute); err != nil && hint == nil {
		p.add("%v", err)
	}
	p = append(p, r.checkTimeline(ctx, s, mac, start, tl, res)...)
	serial, _ := os.ReadFile(vm.Serial)
	ran := tl.Row(StageKernel).Status != StatusPending || r.sink.Get(mac) != nil
	p = append(p, refusalProblems(s, hint, serial, ran)...)
	if hint != nil && hint.Detail == s.ExpectHint {
		tl.Set(StageTFTP, StatusOK, "loader fetched and refused; netkick: "+hint.Detail, hint.Time)
	}
	for _, st := range Stages() {
		if st != StageTFTP && tl.Row(st).Status == StatusPending {
			tl.Set(st, StatusSkipped, "the firmware refused the loader (Secure Boot)", time.Now())
		}
	}
	return p
}

// setCallbackRow fills the callback row from the host's state and timeline.
func (r *rig) setCallbackRow(ctx context.Context, s Scenario, mac string, rep *Report, tl *Timeline) {
	if s.ExpectFail != "" || rep == nil || rep.Failed != "" {
		return
	}
	if !strings.Contains(rep.Kick, "/built") {
		tl.Set(StageCallback, StatusSkipped, "the kickstart has no %post callback", time.Now())
		return
	}
	host, err := r.nk.Host(ctx, mac)
	if err != nil {
		tl.Set(StageCallback, StatusFail, err.Error(), time.Now())
		return
	}
	evs, _ := r.nk.Events(ctx, mac)
	for _, e := range evs {
		if e.Kind == "built" {
			tl.Set(StageCallback, StatusOK, "host "+string(host.State)+" (event built)", e.Time)
			return
		}
	}
	if host.State == inventory.StateInstalled {
		tl.Set(StageCallback, StatusOK, "host installed", time.Now())
		return
	}
	tl.Set(StageCallback, StatusFail, "host is still "+string(host.State)+" after %post", time.Now())
}

// checkTimeline reads the host's timeline from netkick into the result and
// checks it (timelineProblems); the local boot row gets netkick's view of it.
func (r *rig) checkTimeline(ctx context.Context, s Scenario, mac string, start time.Time, tl *Timeline, res *Result) []string {
	evs, err := r.nk.Events(ctx, mac)
	if err != nil {
		res.Events = append(res.Events, "(no timeline: "+err.Error()+")")
		return nil
	}
	res.Events = append(res.Events, eventLines(evs, start)...)
	seen, p := timelineProblems(s, evs, start, r.pxe, tl.Row(StageLocalBoot).Status == StatusOK)
	if seen != "" {
		tl.rows[StageLocalBoot].Detail += "; netkick: " + seen
	}
	return p
}

// bootVMDiskOnly boots vm from its first disk (direct mode's second boot).
func (r *rig) bootVMDiskOnly(ctx context.Context, s Scenario, vm VM, tl *Timeline, stop func() bool) error {
	vm.Kernel, vm.DiskOnly = "", true
	return r.bootVM(ctx, s, vm, tl, stop, 90*time.Second)
}

// bootVM runs QEMU until stopWhen says so or the machine powers off; it
// feeds every console line to tl and prints stage progress.
func (r *rig) bootVM(ctx context.Context, s Scenario, vm VM, tl *Timeline, stopWhen func() bool, limit time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, limit)
	defer cancel()
	cmd := r.net.Command(ctx, "qemu-system-x86_64", QEMUArgs(vm)...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("qemu: %w", err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	st := &serialTail{path: vm.Serial}
	poll := time.NewTicker(250 * time.Millisecond)
	defer poll.Stop()
	for {
		select {
		case err := <-exited:
			st.read(r, s, tl)
			if st.partial != "" {
				tl.Feed(st.partial, time.Now())
			}
			if err != nil && ctx.Err() == nil && !strings.Contains(err.Error(), "signal") {
				return fmt.Errorf("qemu: %w: %s", err, stderr.String())
			}
			if ctx.Err() != nil && !stopWhen() {
				return fmt.Errorf("timed out after %s", limit)
			}
			return nil
		case <-poll.C:
			st.read(r, s, tl)
			if stopWhen() {
				cmd.Process.Kill()
			}
		}
	}
}

// serialTail feeds a console log (written by QEMU, or by the QEMU processes
// a BMC starts one after the other) to a timeline, line by line.
type serialTail struct {
	path    string
	off     int64
	partial string
}

// read feeds what the log gained since the last read.
func (st *serialTail) read(r *rig, s Scenario, tl *Timeline) {
	f, err := os.Open(st.path)
	if err != nil {
		return
	}
	defer f.Close()
	if _, err := f.Seek(st.off, io.SeekStart); err != nil {
		return
	}
	b, _ := io.ReadAll(f)
	st.off += int64(len(b))
	lines := strings.Split(st.partial+strings.ReplaceAll(string(b), "\r", "\n"), "\n")
	st.partial = lines[len(lines)-1]
	done := lines[:len(lines)-1]
	if strings.Contains(st.partial, LocalBootMarker) {
		// The boot sector halts: its banner may never end with a newline.
		done = append(done, st.partial)
		st.partial = ""
	}
	now := time.Now()
	for _, l := range done {
		if row := tl.Feed(l, now); row != nil {
			r.printf("[%s] %5.1fs %-16s %s %s\n", s.Name, row.At.Seconds(), row.Stage, row.Status, row.Detail)
		}
	}
}

// until tails the console until the timeline shows the local boot.
func (st *serialTail) until(ctx context.Context, r *rig, s Scenario, tl *Timeline, limit time.Duration) error {
	deadline := time.Now().Add(limit)
	for {
		st.read(r, s, tl)
		if tl.Row(StageLocalBoot).Status != StatusPending || tl.Failed() != "" {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("timed out after %s waiting for the install and local boot", limit)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(250 * time.Millisecond):
		}
	}
}
