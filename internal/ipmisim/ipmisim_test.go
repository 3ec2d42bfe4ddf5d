package ipmisim

import (
	"errors"
	"net"
	"testing"

	"github.com/netkick/netkick/internal/testenv"
)

// TestTakenPortIsReported: a serial port another process holds makes
// ipmi_sim exit, and start says so (Start then tries other ports).
func TestTakenPortIsReported(t *testing.T) {
	bin := testenv.RequireProgram(t, "ipmi_sim")
	testenv.RequireProgram(t, "ipmitool")
	l, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	s := &Sim{Port: FreeUDPPort(t), Dir: t.TempDir()}
	if err := s.start(t, bin, l.Addr().(*net.TCPAddr).Port); !errors.Is(err, errPortTaken) {
		t.Fatalf("start with its serial port taken = %v, want errPortTaken", err)
	}
}

// TestStartAnswers: a started simulator answers ipmitool, off at first.
func TestStartAnswers(t *testing.T) {
	s := Start(t)
	if got := s.PowerState(t); got != "off" {
		t.Fatalf("power %s at start, want off", got)
	}
	if s.Boots(t) != 0 {
		t.Fatal("the machine started before power on")
	}
}
