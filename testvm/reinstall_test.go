package testvm

import (
	"strings"
	"testing"
	"time"
)

func TestReinstallOrder(t *testing.T) {
	t0 := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	ev := func(sec int, kind, detail string) apiEvent {
		return apiEvent{Kind: kind, Detail: detail, Time: t0.Add(time.Duration(sec) * time.Second)}
	}
	full := []apiEvent{
		ev(-60, "built", "first install"),
		ev(0, "power", "power cycle (chassis was on)"),
		ev(4, "dhcp-ack", "192.0.2.63 bios http://192.0.2.1:8080/boot.ipxe?mac=x"),
		ev(31, "dhcp-ack", "192.0.2.63"),
		ev(31, "kickstart", "kickstart fetched"),
		ev(36, "built", "reported"),
		ev(55, "ipxe", "served boot.ipxe (local boot)"),
	}
	for _, tc := range []struct {
		name string
		evs  []apiEvent
		want string
	}{
		{"in order", full, ""},
		{"local boot seen as the ack naming the script", append(full[:6:6], ev(40, "dhcp-ack", "192.0.2.63 bios http://192.0.2.1:8080/boot.ipxe?mac=x")), ""},
		{"tftp instead of the script in the ack", []apiEvent{ev(0, "power", ""), ev(1, "dhcp-ack", "pxelinux.0"), ev(2, "tftp", "sent pxelinux.0 (…)"), ev(3, "kickstart", ""), ev(4, "built", ""), ev(5, "tftp", "sent pxelinux.cfg")}, ""},
		{"no power", full[2:], "no power event after the reinstall"},
		{"old build only", []apiEvent{full[0], full[1], full[2], full[4], full[6]}, "no callback event after the kickstart"},
		{"no local boot", full[:6], "no local boot event after the callback"},
		{"events before the reinstall do not count", []apiEvent{ev(-30, "power", ""), full[2], full[4], full[5], full[6]}, "no power event"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := ReinstallOrder(tc.evs, t0)
			if (tc.want == "") != (got == "") || !strings.Contains(got, tc.want) {
				t.Errorf("ReinstallOrder = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestBMCQEMUArgs(t *testing.T) {
	vm := VM{Name: "r", MAC: "52:54:00:4e:54:0d", RAMMiB: 384, Tap: "tap0", Serial: "/w/r.serial.log", Disks: []string{"/w/r-disk0.img"}}
	a := strings.Join(bmcQEMUArgs(vm, "/w/qemu.pid"), " ")
	for _, want := range []string{
		"-chardev file,id=ser0,append=on,path=/w/r.serial.log -serial chardev:ser0",
		"-chardev socket,id=ipmi0,host=127.0.0.1,port=" + bmcVMPort + ",reconnect=10",
		"-device ipmi-bmc-extern,id=bmc0,chardev=ipmi0 -device isa-ipmi-kcs,bmc=bmc0",
		"-pidfile /w/qemu.pid -daemonize",
	} {
		if !strings.Contains(a, want) {
			t.Errorf("args lack %q:\n%s", want, a)
		}
	}
	if strings.Contains(a, "file:/w/r.serial.log") {
		t.Errorf("the serial log must be appended to, not truncated by each power cycle:\n%s", a)
	}
}
