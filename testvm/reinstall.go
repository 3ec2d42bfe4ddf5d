package testvm

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
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

// runReinstall is the reinstall scenario: ipmi_sim is the machine's BMC and
// starts its QEMU; the machine installs and boots its disk, `netkick host
// reinstall` power-cycles it through the BMC, and it installs again.
func (r *rig) runReinstall(ctx context.Context, s Scenario, vm VM, dir string, start time.Time, tl *Timeline, res *Result) []string {
	var p problems
	mac := s.hostMAC()
	for _, prog := range []string{"ipmi_sim", "ipmitool"} {
		if _, err := exec.LookPath(prog); err != nil {
			p.add("scenario %s needs %s (install openipmi and ipmitool)", s.Name, prog)
			return p
		}
	}
	stop, err := r.startBMC(vm, dir)
	if err != nil {
		p.add("%v", err)
		return p
	}
	defer stop()
	port, _ := strconv.Atoi(bmcLANPort)
	if err := r.nk.SetBMC(ctx, mac, "127.0.0.1", port, bmcUser, filepath.Join(dir, "bmc.password")); err != nil {
		p.add("BMC settings of %s: %v", mac, err)
		return p
	}
	agree := func(step, want string) {
		if msg := r.powerAgree(ctx, s, mac, start, step, want); msg != "" {
			p.add("%s", msg)
		}
	}
	agree("before", "off")
	if out, err := r.ipmitool(ctx, "chassis", "power", "on"); err != nil {
		p.add("ipmitool chassis power on: %v: %s", err, out)
		return p
	}
	agree("first on", "on")
	st := &serialTail{path: vm.Serial}
	if err := st.until(ctx, r, s, tl, r.opts.Timeout); err != nil {
		p.add("first install: %v", err)
	}
	rep1 := r.sink.Get(mac)
	if rep1 == nil || tl.Row(StageLocalBoot).Status != StatusOK {
		p.add("first install: no report or no local boot (local boot row: %s %s)", tl.Row(StageLocalBoot).Status, tl.Row(StageLocalBoot).Detail)
		return p
	}
	kick1 := rep1.Kick
	r.sink.Forget(mac)
	tok1 := KickstartToken(rep1.Entries["cmdline"])
	if handed := KickstartToken("ks=" + r.ksURL[mac]); tok1 != handed {
		p.add("first install: booted with build token %q, netkick handed out %q", tok1, handed)
	}
	p = append(p, r.checkMarkers(s, vm, rep1, "first install", tok1, "", start, res)...)

	// The reinstall: a new timeline from the power action on.
	t2 := time.Now()
	steps, err := r.nk.Reinstall(ctx, mac)
	r.printf("[%s] %5.1fs netkick host reinstall: %s\n", s.Name, time.Since(start).Seconds(), strings.Join(steps, "; "))
	if err != nil {
		p.add("netkick host reinstall %s: %v", mac, err)
		return p
	}
	tl2 := NewTimeline(t2)
	if err := st.until(ctx, r, s, tl2, r.opts.Timeout); err != nil {
		p.add("second install: %v", err)
	}
	agree("after reinstall", "on")
	rep2 := r.sink.Get(mac)
	res.Report = rep2
	if rep2 == nil {
		tl2.Set(StageReport, StatusFail, "no report from the second install", time.Now())
	} else {
		tl2.Set(StageReport, StatusOK, "received", time.Now())
		if rep2.Kick == kick1 {
			p.add("second install fetched the same kickstart URL as the first (%s): no new build token", kick1)
		}
		tok2 := KickstartToken(rep2.Entries["cmdline"])
		if tok2 == tok1 {
			p.add("second install booted with the first install's build token %q", tok1)
		}
		p = append(p, r.checkMarkers(s, vm, rep2, "second install", tok2, tok1, start, res)...)
	}
	evs, err := r.nk.Events(ctx, mac)
	if err != nil {
		p.add("timeline: %v", err)
	}
	built, tp := reinstallTimelineProblems(evs, t2)
	p = append(p, tp...)
	res.Events = append(res.Events, eventLines(evs, t2)...)
	if !built.IsZero() {
		tl2.Set(StageCallback, StatusOK, "host installed again (event built)", built)
	} else {
		tl2.Set(StageCallback, StatusFail, "no built event after the reinstall", time.Now())
	}
	if tl2.Row(StageTFTP).Status != StatusOK {
		p.add("second install: the console shows no boot file fetched after the power cycle (TFTP row %s)", tl2.Row(StageTFTP).Status)
	}
	*tl = *tl2
	if out, err := r.ipmitool(ctx, "chassis", "power", "off"); err != nil {
		p.add("ipmitool chassis power off: %v: %s", err, out)
	}
	agree("off", "off")
	return p
}

// checkMarkers reads the install markers off the machine's disk image after
// an install (step): only the one of its build token must be there, and not
// the one of gone (an earlier install's token, when not "").
func (r *rig) checkMarkers(s Scenario, vm VM, rep *Report, step, token, gone string, start time.Time, res *Result) []string {
	found, err := diskMarkers(vm, rep)
	if err != nil {
		return []string{step + ": disk marker: " + err.Error()}
	}
	line := fmt.Sprintf("disk after the %s: %s", step, strings.Join(found, ", "))
	r.printf("[%s] %5.1fs %s\n", s.Name, time.Since(start).Seconds(), line)
	res.Events = append(res.Events, line)
	return markerProblems(step, found, token, gone)
}

// startBMC writes ipmi_sim's configuration into dir and starts it in the
// namespace, the machine powered off; stop ends ipmi_sim and the QEMU it
// started. It returns once ipmi_sim answers over lanplus.
func (r *rig) startBMC(vm VM, dir string) (stop func(), err error) {
	pidFile := filepath.Join(dir, "qemu.pid")
	state := filepath.Join(dir, "bmc-state")
	conf, emu := filepath.Join(dir, "lan.conf"), filepath.Join(dir, "cmds.emu")
	if err := os.MkdirAll(state, 0o700); err != nil {
		return nil, err
	}
	files := map[string]string{conf: bmcLANConf("qemu-system-x86_64 " + strings.Join(bmcQEMUArgs(vm, pidFile), " ")), emu: bmcEmu,
		filepath.Join(dir, "bmc.password"): bmcPass + "\n"}
	for f, body := range files {
		if err := os.WriteFile(f, []byte(body), 0o600); err != nil {
			return nil, err
		}
	}
	sctx, cancel := context.WithCancel(context.Background())
	sim := r.net.Command(sctx, "ipmi_sim", "-c", conf, "-f", emu, "-n", "-d", "-s", state)
	simLog, err := os.Create(filepath.Join(dir, "ipmi_sim.log"))
	if err != nil {
		cancel()
		return nil, err
	}
	sim.Stdin, sim.Stdout, sim.Stderr = nil, simLog, simLog
	if err := sim.Start(); err != nil {
		cancel()
		simLog.Close()
		return nil, fmt.Errorf("start ipmi_sim: %w", err)
	}
	stop = func() {
		cancel()
		sim.Wait()
		simLog.Close()
		if b, err := os.ReadFile(pidFile); err == nil {
			var pid int
			if _, err := fmt.Sscan(string(b), &pid); err == nil && pid > 0 {
				syscall.Kill(pid, syscall.SIGKILL)
			}
		}
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		if _, err := r.ipmitool(sctx, "chassis", "power", "status"); err == nil {
			return stop, nil
		}
		if time.Now().After(deadline) {
			stop()
			b, _ := os.ReadFile(simLog.Name())
			return nil, fmt.Errorf("ipmi_sim did not answer on 127.0.0.1:%s within 5s: %s", bmcLANPort, b)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// ipmitool runs `ipmitool -I lanplus` against the rig's BMC.
func (r *rig) ipmitool(ctx context.Context, args ...string) (string, error) {
	a := append([]string{"-I", "lanplus", "-C", "3", "-H", "127.0.0.1", "-p", bmcLANPort, "-U", bmcUser, "-P", bmcPass}, args...)
	out, err := r.net.Command(ctx, "ipmitool", a...).CombinedOutput()
	return strings.TrimSpace(string(out)), err
}

// powerAgree waits (up to 20 s) until ipmitool and `netkick host power
// status` both read the power state want; else it says what each read.
func (r *rig) powerAgree(ctx context.Context, s Scenario, mac string, start time.Time, step, want string) string {
	var it, nk string
	var nkErr error
	for i := 0; i < 40; i++ {
		it, _ = r.ipmitool(ctx, "chassis", "power", "status")
		nk, nkErr = r.nk.PowerStatus(ctx, mac)
		if PowerStatesAgree(it, nk, want) {
			r.printf("[%s] %5.1fs power %-15s ipmitool %q, netkick host power status %q\n", s.Name, time.Since(start).Seconds(), step, it, nk)
			return ""
		}
		time.Sleep(500 * time.Millisecond)
	}
	if nkErr != nil {
		nk = nkErr.Error()
	}
	return fmt.Sprintf("power %s: want %q from both; ipmitool said %q, netkick host power status said %q", step, want, it, nk)
}

// PowerStatesAgree says whether ipmitool's "Chassis Power is on|off" and the
// state netkick read are both want.
func PowerStatesAgree(ipmitool, netkick, want string) bool {
	return strings.HasSuffix(ipmitool, " "+want) && netkick == want
}

// reinstallTimelineProblems checks netkick's timeline of the host from the
// reinstall on: power, DHCP, TFTP or iPXE, kickstart, callback, local boot,
// in that order; and two builds (callbacks) in the whole timeline. built is
// the time of the reinstall's callback (zero when none).
func reinstallTimelineProblems(evs []apiEvent, since time.Time) (built time.Time, p problems) {
	builds := 0
	for _, e := range evs {
		if e.Kind == "built" {
			builds++
			if !e.Time.Before(since) {
				built = e.Time
			}
		}
	}
	if builds < 2 {
		p.add("timeline: %d callbacks (built events), want 2 (first install and reinstall)", builds)
	}
	if o := ReinstallOrder(evs, since); o != "" {
		p.add("timeline after the reinstall: %s", o)
	}
	return built, p
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
