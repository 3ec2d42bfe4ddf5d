package power

import (
	"bytes"
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

// TestBootFlagsRequest checks the Set System Boot Options request for
// parameter 5 byte by byte against IPMI 2.0 table 28-14.
func TestBootFlagsRequest(t *testing.T) {
	tests := []struct {
		name string
		o    BootOptions
		want []byte // parameter selector, then the five data bytes
	}{
		{"pxe once legacy", BootOptions{Device: DevicePXE}, []byte{0x05, 0x80, 0x04, 0, 0, 0}},
		{"pxe once efi", BootOptions{Device: DevicePXE, EFI: true}, []byte{0x05, 0xa0, 0x04, 0, 0, 0}},
		{"pxe persistent legacy", BootOptions{Device: DevicePXE, Persistent: true}, []byte{0x05, 0xc0, 0x04, 0, 0, 0}},
		{"pxe persistent efi", BootOptions{Device: DevicePXE, Persistent: true, EFI: true}, []byte{0x05, 0xe0, 0x04, 0, 0, 0}},
		{"disk once legacy", BootOptions{Device: DeviceDisk}, []byte{0x05, 0x80, 0x08, 0, 0, 0}},
		{"disk persistent efi", BootOptions{Device: DeviceDisk, Persistent: true, EFI: true}, []byte{0x05, 0xe0, 0x08, 0, 0, 0}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, err := bootFlagsRequest(tt.o)
			if err != nil {
				t.Fatal(err)
			}
			if got := req.Pack(); !bytes.Equal(got, tt.want) {
				t.Errorf("request data % x, want % x", got, tt.want)
			}
			if cmd := req.Command(); cmd.ID != 0x08 || cmd.NetFn != 0x00 {
				t.Errorf("command netfn %#x cmd %#x, want chassis (0x00) Set System Boot Options (0x08)", cmd.NetFn, cmd.ID)
			}
		})
	}
	if _, err := bootFlagsRequest(BootOptions{Device: "floppy"}); err == nil {
		t.Error("boot device floppy accepted")
	}
}

func TestParseAction(t *testing.T) {
	for in, want := range map[string]Action{"on": ActionOn, "OFF": ActionOff, "cycle": ActionCycle, " soft ": ActionSoftOff} {
		if got, err := ParseAction(in); err != nil || got != want {
			t.Errorf("ParseAction(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	if _, err := ParseAction("reset"); err == nil {
		t.Error("ParseAction(reset) accepted")
	}
}

// sim is an OpenIPMI ipmi_sim serving IPMI over LAN on a loopback port.
type sim struct {
	port int
	dir  string
}

// freeUDPPort returns a loopback UDP port nothing listens on.
func freeUDPPort(t *testing.T) int {
	t.Helper()
	c, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	return c.LocalAddr().(*net.UDPAddr).Port
}

// startSim starts ipmi_sim with user admin / secret; its start command (the
// "machine") is a sleep. ipmi_sim and what it started are killed as one
// process group when the test ends.
func startSim(t *testing.T) *sim {
	t.Helper()
	bin := testenv.RequireProgram(t, "ipmi_sim")
	s := &sim{port: freeUDPPort(t), dir: t.TempDir()}
	vmPort := freeUDPPort(t)
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
  startcmd "sleep 600"
  startnow false
  poweroff_wait 1
  kill_wait 1
  user 2 true "admin" "secret" admin 10 none md2 md5 straight
`, s.port, vmPort)
	emu := "mc_setbmc 0x20\nmc_add 0x20 0 no-device-sdrs 0x23 9 8 0x9f 0x1291 0xf02 persist_sdr\nmc_enable 0x20\n"
	for name, body := range map[string]string{"lan.conf": conf, "cmds.emu": emu} {
		if err := os.WriteFile(filepath.Join(s.dir, name), []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	state := filepath.Join(s.dir, "state")
	if err := os.Mkdir(state, 0o700); err != nil {
		t.Fatal(err)
	}
	var logb bytes.Buffer
	cmd := exec.Command(bin, "-c", filepath.Join(s.dir, "lan.conf"), "-f", filepath.Join(s.dir, "cmds.emu"), "-n", "-d", "-s", state)
	cmd.Stdout, cmd.Stderr = &logb, &logb
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start ipmi_sim: %v", err)
	}
	t.Cleanup(func() {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		_ = cmd.Wait()
		if t.Failed() {
			t.Logf("ipmi_sim output:\n%s", logb.String())
		}
	})
	// Wait until it answers.
	d := s.driver(t, "secret")
	deadline := time.Now().Add(10 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		_, err := d.Status(ctx)
		cancel()
		if err == nil {
			return s
		}
		if time.Now().After(deadline) {
			t.Fatalf("ipmi_sim on port %d never answered: %v", s.port, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func (s *sim) driver(t *testing.T, password string) Driver {
	t.Helper()
	d, err := Open(BMC{Address: "127.0.0.1", Port: s.port, User: "admin", Password: password},
		Limits{Timeout: 500 * time.Millisecond, Retries: 1})
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// ipmitool asks ipmitool for the chassis power state.
func (s *sim) ipmitool(t *testing.T) State {
	t.Helper()
	bin := testenv.RequireProgram(t, "ipmitool")
	out, err := exec.Command(bin, "-I", "lanplus", "-C", "3", "-H", "127.0.0.1", "-p", fmt.Sprint(s.port),
		"-U", "admin", "-P", "secret", "chassis", "power", "status").CombinedOutput()
	if err != nil {
		t.Fatalf("ipmitool chassis power status: %v: %s", err, out)
	}
	switch strings.TrimSpace(string(out)) {
	case "Chassis Power is on":
		return On
	case "Chassis Power is off":
		return Off
	}
	t.Fatalf("ipmitool said %q", out)
	return ""
}

func waitState(t *testing.T, s *sim, d Driver, want State) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		got, err := d.Status(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if got == want {
			if it := s.ipmitool(t); it != got {
				t.Fatalf("driver says %s, ipmitool says %s", got, it)
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("power state %s, want %s", got, want)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func TestIPMISimPower(t *testing.T) {
	s := startSim(t)
	d := s.driver(t, "secret")
	ctx := context.Background()
	waitState(t, s, d, Off)
	if err := d.Do(ctx, ActionOn); err != nil {
		t.Fatal(err)
	}
	waitState(t, s, d, On)
	if err := d.Do(ctx, ActionCycle); err != nil {
		t.Fatal(err)
	}
	waitState(t, s, d, On)
	if err := d.Do(ctx, ActionOff); err != nil {
		t.Fatal(err)
	}
	waitState(t, s, d, Off)
}

func TestIPMISimWrongPassword(t *testing.T) {
	s := startSim(t)
	d := s.driver(t, "wrong")
	start := time.Now()
	_, err := d.Status(context.Background())
	took := time.Since(start)
	t.Logf("answer: %v", err)
	if !errors.Is(err, ErrAuth) {
		t.Fatalf("error %v, want one that says the password was rejected", err)
	}
	if !strings.Contains(err.Error(), `user "admin"`) || strings.Contains(err.Error(), "wrong") {
		t.Errorf("error %q should name the user and never the password", err)
	}
	// A rejected password is answered at once; waiting a whole attempt's
	// timeout would mean the session set-up was sent again.
	if took >= 500*time.Millisecond {
		t.Errorf("rejection took %s: retried instead of reporting", took)
	}
}

func TestIPMINoAnswer(t *testing.T) {
	// A UDP socket that reads requests and never answers them.
	c, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	got := make(chan int, 1)
	go func() {
		n, buf := 0, make([]byte, 1500)
		for {
			if _, _, err := c.ReadFrom(buf); err != nil {
				got <- n
				return
			}
			n++
		}
	}()
	lim := Limits{Timeout: 300 * time.Millisecond, Retries: 1}
	d, err := Open(BMC{Address: "127.0.0.1", Port: c.LocalAddr().(*net.UDPAddr).Port, User: "admin", Password: "secret"}, lim)
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	_, err = d.Status(context.Background())
	took := time.Since(start)
	if !errors.Is(err, ErrNoAnswer) {
		t.Fatalf("error %v, want one that says the BMC did not answer", err)
	}
	bound := time.Duration(lim.Retries+1)*lim.Timeout + time.Second
	if took > bound {
		t.Errorf("gave up after %s, bound %s", took, bound)
	}
	c.Close()
	if n := <-got; n != lim.Retries+1 {
		t.Errorf("BMC was sent %d requests, want %d (one plus one retry)", n, lim.Retries+1)
	}
}

func TestIPMISimBootDeviceRefused(t *testing.T) {
	s := startSim(t)
	d := s.driver(t, "secret")
	err := d.SetBootDevice(context.Background(), BootOptions{Device: DevicePXE, EFI: true})
	t.Logf("answer: %v", err)
	if !errors.Is(err, ErrRefused) {
		t.Fatalf("error %v, want the BMC's refusal", err)
	}
	for _, want := range []string{"parameter 5", "pxe", "once", "EFI", "0xcc"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %q", err, want)
		}
	}
}
