package power

import (
	"bytes"
	"context"
	"errors"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/netkick/netkick/internal/ipmisim"
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

func simDriver(t *testing.T, s *ipmisim.Sim, password string) Driver {
	t.Helper()
	d, err := Open(BMC{Address: "127.0.0.1", Port: s.Port, User: ipmisim.User, Password: password},
		Limits{Timeout: 500 * time.Millisecond, Retries: 1})
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// waitState waits until the driver and ipmitool both read want (a cycle
// passes through off for a moment, so one read alone can disagree).
func waitState(t *testing.T, s *ipmisim.Sim, d Driver, want State) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		got, err := d.Status(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		it := State(s.PowerState(t))
		if got == want && it == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("driver reads %s, ipmitool %s; want %s", got, it, want)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func TestIPMISimPower(t *testing.T) {
	s := ipmisim.Start(t)
	d := simDriver(t, s, ipmisim.Password)
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
	s := ipmisim.Start(t)
	d := simDriver(t, s, "wrong")
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
	s := ipmisim.Start(t)
	d := simDriver(t, s, ipmisim.Password)
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
