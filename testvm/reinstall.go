package testvm

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// Ports of the reinstall scenario's BMC (OpenIPMI's ipmi_sim) on the loopback
// of the rig's network namespace: its LAN (RMCP+) and the VM's KCS channel.
const (
	bmcLANPort = "9623"
	bmcVMPort  = "9624"
	bmcUser    = "admin"
	bmcPass    = "rig-bmc-secret"
)

// bmcLANConf is ipmi_sim's configuration: a LAN channel on loopback, the VM
// channel QEMU's ipmi-bmc-extern connects to, and startcmd launching the VM.
func bmcLANConf(startcmd string) string {
	return `name "netkick-testvm"
set_working_mc 0x20
  startlan 1
    addr 127.0.0.1 ` + bmcLANPort + `
    priv_limit admin
    allowed_auths_callback none md2 md5 straight
    allowed_auths_user none md2 md5 straight
    allowed_auths_operator none md2 md5 straight
    allowed_auths_admin none md2 md5 straight
    guid a123456789abcdefa123456789abcdef
  endlan
  serial kcs 127.0.0.1 ` + bmcVMPort + ` codec VM
  startcmd "` + startcmd + `"
  startnow false
  poweroff_wait 5
  kill_wait 5
  user 1 true  ""        "test"  user     10 none md2 md5 straight
  user 2 true  "` + bmcUser + `" "` + bmcPass + `" admin 10 none md2 md5 straight
`
}

const bmcEmu = "mc_setbmc 0x20\nmc_add 0x20 0 no-device-sdrs 0x23 9 8 0x9f 0x1291 0xf02 persist_sdr\nmc_enable 0x20\n"

// bmcQEMUArgs turns the VM's command line into the one ipmi_sim starts: the
// serial log appended to (each power cycle is a new QEMU process), the
// machine's BMC device on ipmi_sim's VM port, daemonized with a pid file.
func bmcQEMUArgs(vm VM, pidFile string) []string {
	var a []string
	args := QEMUArgs(vm)
	for i := 0; i < len(args); i++ {
		if args[i] == "-serial" && i+1 < len(args) && strings.HasPrefix(args[i+1], "file:") {
			a = append(a, "-chardev", "file,id=ser0,append=on,path="+strings.TrimPrefix(args[i+1], "file:"), "-serial", "chardev:ser0")
			i++
			continue
		}
		a = append(a, args[i])
	}
	return append(a,
		"-chardev", "socket,id=ipmi0,host=127.0.0.1,port="+bmcVMPort+",reconnect=10",
		"-device", "ipmi-bmc-extern,id=bmc0,chardev=ipmi0", "-device", "isa-ipmi-kcs,bmc=bmc0",
		"-pidfile", pidFile, "-daemonize")
}

// serialTail feeds a console log that other processes write to a timeline.
type serialTail struct {
	path    string
	off     int64
	partial string
}

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
		done = append(done, st.partial)
		st.partial = ""
	}
	for _, l := range done {
		if row := tl.Feed(l, time.Now()); row != nil {
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

// runReinstall is the reinstall scenario: ipmi_sim is the machine's BMC and
// starts its QEMU; the machine installs and boots its disk, `netkick host
// reinstall` power-cycles it through the BMC, and it installs again.
func (r *rig) runReinstall(ctx context.Context, s Scenario, vm VM, mac, dir string, start time.Time, tl *Timeline, res *Result, problem func(string, ...any)) {
	for _, p := range []string{"ipmi_sim", "ipmitool"} {
		if _, err := exec.LookPath(p); err != nil {
			problem("scenario %s needs %s (install openipmi and ipmitool)", s.Name, p)
			return
		}
	}
	if !r.pxe {
		problem("scenario %s power-cycles into a PXE boot: it needs a netkick with a DHCP server", s.Name)
		return
	}
	pidFile := filepath.Join(dir, "qemu.pid")
	state := filepath.Join(dir, "bmc-state")
	passFile := filepath.Join(dir, "bmc.password")
	conf, emu := filepath.Join(dir, "lan.conf"), filepath.Join(dir, "cmds.emu")
	if err := os.MkdirAll(state, 0o700); err != nil {
		problem("%v", err)
		return
	}
	files := map[string]string{conf: bmcLANConf("qemu-system-x86_64 " + strings.Join(bmcQEMUArgs(vm, pidFile), " ")), emu: bmcEmu, passFile: bmcPass + "\n"}
	for f, body := range files {
		if err := os.WriteFile(f, []byte(body), 0o600); err != nil {
			problem("%v", err)
			return
		}
	}
	sctx, cancel := context.WithCancel(context.Background())
	sim := r.net.Command(sctx, "ipmi_sim", "-c", conf, "-f", emu, "-n", "-d", "-s", state)
	simLog, _ := os.Create(filepath.Join(dir, "ipmi_sim.log"))
	sim.Stdin, sim.Stdout, sim.Stderr = nil, simLog, simLog
	if err := sim.Start(); err != nil {
		cancel()
		problem("start ipmi_sim: %v", err)
		return
	}
	defer func() {
		cancel()
		sim.Wait()
		simLog.Close()
		if b, err := os.ReadFile(pidFile); err == nil {
			var pid int
			if _, err := fmt.Sscan(string(b), &pid); err == nil && pid > 0 {
				syscall.Kill(pid, syscall.SIGKILL)
			}
		}
	}()
	ipmitool := func(args ...string) (string, error) {
		a := append([]string{"-I", "lanplus", "-C", "3", "-H", "127.0.0.1", "-p", bmcLANPort, "-U", bmcUser, "-P", bmcPass}, args...)
		out, err := r.net.Command(ctx, "ipmitool", a...).CombinedOutput()
		return strings.TrimSpace(string(out)), err
	}
	netkick := func(args ...string) (string, error) {
		a := append(args, "--server", "http://"+ServerIP+":8080", "--token-file", filepath.Join(r.data, "admin.token"))
		out, err := r.net.Command(ctx, r.opts.Netkick, a...).CombinedOutput()
		return strings.TrimSpace(string(out)), err
	}
	// agree checks that ipmitool and netkick read the same power state.
	agree := func(step, want string) {
		var it, nk string
		for i := 0; i < 40; i++ {
			it, _ = ipmitool("chassis", "power", "status")
			nk, _ = netkick("host", "power", mac, "status")
			if strings.HasSuffix(it, " "+want) && strings.Contains(nk, " "+want) {
				r.printf("[%s] %5.1fs power %-10s ipmitool %q, netkick %q\n", s.Name, time.Since(start).Seconds(), step, it, strings.ReplaceAll(nk, "\n", " | "))
				return
			}
			time.Sleep(500 * time.Millisecond)
		}
		problem("power %s: want %q from both; ipmitool said %q, netkick host power status said %q", step, want, it, nk)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		if _, err := ipmitool("chassis", "power", "status"); err == nil {
			break
		}
		if time.Now().After(deadline) {
			b, _ := os.ReadFile(simLog.Name())
			problem("ipmi_sim did not answer on 127.0.0.1:%s within 5s: %s", bmcLANPort, b)
			return
		}
		time.Sleep(200 * time.Millisecond)
	}
	if out, err := netkick("host", "set", mac, "--bmc-address", "127.0.0.1", "--bmc-port", bmcLANPort, "--bmc-user", bmcUser, "--bmc-password-file", passFile); err != nil {
		problem("netkick host set --bmc-*: %v: %s", err, out)
		return
	}
	agree("before", "off")
	if out, err := ipmitool("chassis", "power", "on"); err != nil {
		problem("ipmitool chassis power on: %v: %s", err, out)
		return
	}
	agree("first on", "on")
	st := &serialTail{path: vm.Serial}
	if err := st.until(ctx, r, s, tl, r.opts.Timeout); err != nil {
		problem("first install: %v", err)
	}
	rep1 := r.sink.Get(mac)
	if rep1 == nil || tl.Row(StageLocalBoot).Status != StatusOK {
		problem("first install: no report or no local boot (local boot row: %s %s)", tl.Row(StageLocalBoot).Status, tl.Row(StageLocalBoot).Detail)
		return
	}
	kick1 := rep1.Kick
	r.sink.Forget(mac)

	// The reinstall: a new timeline from the power action on.
	t2 := time.Now()
	out, err := netkick("host", "reinstall", mac)
	r.printf("[%s] %5.1fs netkick host reinstall: %s\n", s.Name, time.Since(start).Seconds(), strings.ReplaceAll(out, "\n", " | "))
	if err != nil {
		problem("netkick host reinstall %s: %v: %s", mac, err, out)
		return
	}
	tl2 := NewTimeline(t2)
	if err := st.until(ctx, r, s, tl2, r.opts.Timeout); err != nil {
		problem("second install: %v", err)
	}
	agree("after reinstall", "on")
	rep2 := r.sink.Get(mac)
	res.Report = rep2
	if rep2 == nil {
		tl2.Set(StageReport, StatusFail, "no report from the second install", time.Now())
	} else {
		tl2.Set(StageReport, StatusOK, "received", time.Now())
		if rep2.Kick == kick1 {
			problem("second install fetched the same kickstart URL as the first (%s): no new build token", kick1)
		}
	}
	if built := r.checkReinstallTimeline(mac, t2, res, problem); !built.IsZero() {
		tl2.Set(StageCallback, StatusOK, "host installed again (event built)", built)
	} else {
		tl2.Set(StageCallback, StatusFail, "no built event after the reinstall", time.Now())
	}
	if tl2.Row(StageTFTP).Status != StatusOK {
		problem("second install: the console shows no boot file fetched after the power cycle (TFTP row %s)", tl2.Row(StageTFTP).Status)
	}
	*tl = *tl2
	if out, err := ipmitool("chassis", "power", "off"); err != nil {
		problem("ipmitool chassis power off: %v: %s", err, out)
	}
	agree("off", "off")
}

// checkReinstallTimeline checks netkick's timeline of the host from the
// reinstall on: power, DHCP, TFTP or iPXE, kickstart, callback, local boot,
// in that order; and two builds (callbacks) in the whole timeline.
// It returns the time of the reinstall's callback (zero when none).
func (r *rig) checkReinstallTimeline(mac string, since time.Time, res *Result, problem func(string, ...any)) time.Time {
	var evs []apiEvent
	if err := r.api("GET", "/api/v1/hosts/"+mac+"/events", &evs); err != nil {
		problem("timeline: %v", err)
		return time.Time{}
	}
	builds := 0
	var built time.Time
	for _, e := range evs {
		if e.Kind == "built" {
			builds++
			if !e.Time.Before(since) {
				built = e.Time
			}
		}
	}
	if builds < 2 {
		problem("timeline: %d callbacks (built events), want 2 (first install and reinstall)", builds)
	}
	if p := ReinstallOrder(evs, since); p != "" {
		problem("timeline after the reinstall: %s", p)
	}
	for _, e := range evs {
		if !e.Time.Before(since.Add(-time.Second)) {
			res.Events = append(res.Events, fmt.Sprintf("%6.1fs %-12s %s", e.Time.Sub(since).Seconds(), e.Kind, e.Detail))
		}
	}
	return built
}

// ReinstallOrder says what is missing or out of order in a host's events
// since a reinstall: power, DHCP ack, the boot file (a TFTP or iPXE event, or
// the ack itself naming netkick's iPXE script, which netkick serves without
// an event of its own in build mode), kickstart, built, then a network boot
// answered for the installed host (its local boot); "" when all are there in
// order.
func ReinstallOrder(evs []apiEvent, since time.Time) string {
	steps := []struct {
		name string
		ok   func(apiEvent) bool
	}{
		{"power", func(e apiEvent) bool { return e.Kind == "power" }},
		{"DHCP", func(e apiEvent) bool { return e.Kind == "dhcp-ack" }},
		{"TFTP/iPXE", func(e apiEvent) bool { return e.Kind == "tftp" || e.Kind == "ipxe" }},
		{"kickstart", func(e apiEvent) bool { return e.Kind == "kickstart" }},
		{"callback", func(e apiEvent) bool { return e.Kind == "built" }},
		{"local boot", func(e apiEvent) bool { return bootEvent(e.Kind, e.Detail) }},
	}
	i := 0
	for _, e := range evs {
		if i == len(steps) {
			break
		}
		if e.Time.Before(since.Add(-time.Second)) {
			continue
		}
		if steps[i].ok(e) {
			if steps[i].name == "DHCP" && strings.Contains(e.Detail, "/boot.ipxe") {
				i++ // the ack names the iPXE script: the boot file step too
			}
			i++
		}
	}
	if i < len(steps) {
		return "no " + steps[i].name + " event after the " + map[bool]string{true: "reinstall", false: steps[max(i-1, 0)].name}[i == 0]
	}
	return ""
}
