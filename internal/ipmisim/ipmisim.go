// Package ipmisim runs OpenIPMI's BMC simulator (ipmi_sim) on a loopback
// port for tests, with user admin / password secret and a sleep as the
// machine it powers, and asks ipmitool about it.
package ipmisim

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/netkick/netkick/internal/testenv"
)

// User and Password are the simulator's administrator.
const (
	User     = "admin"
	Password = "secret"
)

// Sim is a running ipmi_sim.
type Sim struct {
	Port int
	Dir  string
}

// FreeUDPPort returns a loopback UDP port nothing listens on.
func FreeUDPPort(t testing.TB) int {
	t.Helper()
	c, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	return c.LocalAddr().(*net.UDPAddr).Port
}

// Start starts ipmi_sim and waits until ipmitool gets an answer. ipmi_sim
// and what it started are killed as one process group when the test ends.
// Its two ports (LAN over UDP, the serial interface over TCP) are picked
// free just before it starts; when another process takes one in between,
// ipmi_sim exits with "Address already in use" and Start tries new ports.
func Start(t testing.TB) *Sim {
	t.Helper()
	bin := testenv.RequireProgram(t, "ipmi_sim")
	testenv.RequireProgram(t, "ipmitool")
	dir := t.TempDir()
	for attempt := 1; ; attempt++ {
		s := &Sim{Port: FreeUDPPort(t), Dir: dir}
		err := s.start(t, bin, freeTCPPort(t))
		if err == nil {
			return s
		}
		if !errors.Is(err, errPortTaken) || attempt == 5 {
			t.Fatal(err)
		}
		t.Logf("ipmi_sim: %v; trying other ports", err)
	}
}

// errPortTaken: ipmi_sim could not bind a port picked for it.
var errPortTaken = errors.New("a port picked for ipmi_sim was taken before it started")

// freeTCPPort returns a loopback TCP port nothing listens on.
func freeTCPPort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// start writes the simulator's configuration for its ports and starts it.
func (s *Sim) start(t testing.TB, bin string, serialPort int) error {
	conf := fmt.Sprintf(`name "netkick"
set_working_mc 0x20
  startlan 1
    addr 127.0.0.1 %d
    priv_limit admin
    allowed_auths_callback none md2 md5 straight
    allowed_auths_user none md2 md5 straight
    allowed_auths_operator none md2 md5 straight
    allowed_auths_admin none md2 md5 straight
    guid a123456789abcdefa123456789abcdef
  endlan
  serial kcs 127.0.0.1 %d codec VM
  startcmd %q
  startnow false
  poweroff_wait 1
  kill_wait 1
  user 2 true %q %q admin 10 none md2 md5 straight
`, s.Port, serialPort, filepath.Join(s.Dir, "machine"), User, Password)
	emu := "mc_setbmc 0x20\nmc_add 0x20 0 no-device-sdrs 0x23 9 8 0x9f 0x1291 0xf02 persist_sdr\nmc_enable 0x20\n"
	// The machine: a script (ipmi_sim runs startcmd without a shell) that
	// counts its starts, then sleeps until the chassis is turned off.
	machine := fmt.Sprintf("#!/bin/sh\necho boot >> '%s'\nexec sleep 600\n", filepath.Join(s.Dir, "boots"))
	for name, body := range map[string]string{"lan.conf": conf, "cmds.emu": emu, "machine": machine} {
		mode := os.FileMode(0o600)
		if name == "machine" {
			mode = 0o700
		}
		if err := os.WriteFile(filepath.Join(s.Dir, name), []byte(body), mode); err != nil {
			return err
		}
	}
	state := filepath.Join(s.Dir, "state")
	if err := os.MkdirAll(state, 0o700); err != nil {
		return err
	}
	logPath := filepath.Join(s.Dir, fmt.Sprintf("ipmi_sim-%d.log", s.Port))
	logf, err := os.Create(logPath)
	if err != nil {
		return err
	}
	defer logf.Close()
	readLog := func() string { b, _ := os.ReadFile(logPath); return string(b) }
	cmd := exec.Command(bin, "-c", filepath.Join(s.Dir, "lan.conf"), "-f", filepath.Join(s.Dir, "cmds.emu"), "-n", "-d", "-s", state)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start ipmi_sim: %v", err)
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		<-exited
		if t.Failed() {
			t.Logf("ipmi_sim output:\n%s", readLog())
		}
	})
	deadline := time.Now().Add(10 * time.Second)
	for {
		time.Sleep(100 * time.Millisecond)
		select {
		case <-exited:
			out := readLog()
			if strings.Contains(out, "already in use") {
				return fmt.Errorf("%w (ports %d/udp, %d/tcp): %s", errPortTaken, s.Port, serialPort, strings.TrimSpace(out))
			}
			return fmt.Errorf("ipmi_sim exited before it answered:\n%s", out)
		default:
		}
		_, err := s.ipmitool("chassis", "power", "status")
		if err == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("ipmi_sim on port %d never answered: %v", s.Port, err)
		}
	}
}

func (s *Sim) ipmitool(args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	base := []string{"-I", "lanplus", "-C", "3", "-H", "127.0.0.1", "-p", fmt.Sprint(s.Port), "-U", User, "-P", Password}
	out, err := exec.CommandContext(ctx, "ipmitool", append(base, args...)...).CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("ipmitool %s: %v: %s", strings.Join(args, " "), err, out)
	}
	return strings.TrimSpace(string(out)), nil
}

// PowerState is ipmitool's answer to `chassis power status`: "on" or "off".
func (s *Sim) PowerState(t testing.TB) string {
	t.Helper()
	out, err := s.ipmitool("chassis", "power", "status")
	if err != nil {
		t.Fatal(err)
	}
	switch out {
	case "Chassis Power is on":
		return "on"
	case "Chassis Power is off":
		return "off"
	}
	t.Fatalf("ipmitool said %q", out)
	return ""
}

// Ipmitool runs ipmitool against the simulator and returns its output.
func (s *Sim) Ipmitool(t testing.TB, args ...string) string {
	t.Helper()
	out, err := s.ipmitool(args...)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// WaitPowerState waits up to 10 s for ipmitool to read want: a power cycle
// passes through off for about a second.
func (s *Sim) WaitPowerState(t testing.TB, want string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		got := s.PowerState(t)
		if got == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("ipmitool reads power %s, want %s", got, want)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// Boots is how many times the simulated machine has been started: each
// power on, and the second half of each power cycle, adds one.
func (s *Sim) Boots(t testing.TB) int {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(s.Dir, "boots"))
	if os.IsNotExist(err) {
		return 0
	}
	if err != nil {
		t.Fatal(err)
	}
	return strings.Count(string(b), "boot\n")
}

// WaitBoots waits up to 20 s until the machine has been started at least n
// times and ipmitool reads it on. Unlike WaitPowerState(t, "on"), it cannot
// return before a power cycle has turned the chassis off.
func (s *Sim) WaitBoots(t testing.TB, n int) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		got := s.Boots(t)
		if got >= n && s.PowerState(t) == "on" {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the simulated machine was started %d times and ipmitool reads power %s; want at least %d starts and on", got, s.PowerState(t), n)
		}
		time.Sleep(200 * time.Millisecond)
	}
}
