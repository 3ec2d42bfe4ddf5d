package main

import (
	"bytes"
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/netkick/netkick/boot"
	"github.com/netkick/netkick/inventory"
	"github.com/netkick/netkick/provision"
)

// TestDiscoveredAdoptAndPlan runs discovery's CLI on a local data dir: a
// machine DHCP recorded reports hostile facts with its per-boot token; the
// CLI lists and shows it escaped, adopts it, shows the facts on the host and
// plans home-opt on its real disks and RAM.
func TestDiscoveredAdoptAndPlan(t *testing.T) {
	ctx := context.Background()
	data := t.TempDir()
	st, err := inventory.OpenSQLite(filepath.Join(data, "inventory.db"))
	if err != nil {
		t.Fatal(err)
	}
	mac := "52:54:00:d1:00:01"
	if _, err := st.RecordDiscovered(ctx, inventory.Discovered{MAC: mac, Arch: "bios", Hostname: "a;reboot\n%post", LastSeen: timeNow()}, 0); err != nil {
		t.Fatal(err)
	}
	if err := st.PutProfile(ctx, &inventory.Profile{Name: "rocky-9", OS: "rocky", Version: "9.4", Kernel: "rocky/vmlinuz", Initrd: "rocky/initrd.img", InstallURL: "http://192.0.2.1/rocky/"}); err != nil {
		t.Fatal(err)
	}
	p, err := provision.New(provision.Options{Store: st, Discovery: &boot.Discovery{Kernel: "discovery/vmlinuz", Initrd: "discovery/initrd.img"}})
	if err != nil {
		t.Fatal(err)
	}
	db, err := p.DiscoveryBoot(ctx, mac, true)
	if err != nil || db == nil || db.Token == "" {
		t.Fatalf("discovery boot: %+v %v", db, err)
	}
	facts := inventory.Facts{CPU: inventory.CPUFacts{Model: "QEMU Virtual CPU $(reboot)", Count: 2}, MemoryBytes: 8 << 30,
		Disks: []inventory.DiskFact{{Name: "sda", SizeBytes: 100 << 30, Model: "QEMU HARDDISK", Serial: "QM00001\n%post\nreboot", Rotational: true}, {Name: "sdb", SizeBytes: 50 << 30, Serial: "QM00002"}},
		NICs:  []inventory.NICFact{{Name: "eth0", MAC: mac, Link: true, SpeedMbps: 1000}},
		DMI:   inventory.DMIFacts{Vendor: "QEMU", Product: "Standard PC (i440FX + PIIX, 1996)", Serial: "NK-`id`"}}
	if _, err := p.ReportFacts(ctx, mac, provision.Requester{Addr: "192.0.2.120", Token: "wrong"}, facts); err == nil {
		t.Fatal("facts with a wrong token accepted")
	}
	if _, err := p.ReportFacts(ctx, mac, provision.Requester{Addr: "192.0.2.120", Token: db.Token}, facts); err != nil {
		t.Fatal(err)
	}
	if _, err := p.ReportFacts(ctx, mac, provision.Requester{Addr: "192.0.2.120", Token: db.Token}, facts); err == nil {
		t.Fatal("the per-boot token was accepted twice")
	}
	st.Close()

	cli := func(args ...string) string {
		t.Helper()
		var out, errb bytes.Buffer
		a := &app{stdout: &out, stderr: &errb}
		if code := a.main(ctx, append([]string{"--data", data}, args...)); code != 0 {
			t.Fatalf("netkick %s: exit %d\n%s%s", strings.Join(args, " "), code, out.String(), errb.String())
		}
		return out.String()
	}
	list := cli("discovered", "list")
	if !strings.Contains(list, mac) || !strings.Contains(list, `"a;reboot\\x0a%post"`) || !strings.Contains(list, "2 CPUs, 8 GiB, 2 disks") {
		t.Fatalf("discovered list:\n%s", list)
	}
	show := cli("discovered", "show", mac)
	for _, want := range []string{"disk sda:", "100 GiB", `serial "QM00001\\x0a%post\\x0areboot"`, `serial "NK-` + "`id`" + `"`, "nic eth0:", "link up, 1000 Mb/s"} {
		if !strings.Contains(show, want) {
			t.Errorf("discovered show lacks %q:\n%s", want, show)
		}
	}
	if strings.Contains(show, "\n%post") {
		t.Fatalf("a fact's text started a line of its own:\n%s", show)
	}
	out := cli("host", "adopt", mac, "--hostname", "disc01", "--profile", "rocky-9")
	if !strings.Contains(out, "adopted "+mac+" as host disc01") {
		t.Fatalf("adopt: %s", out)
	}
	if l := cli("discovered", "list", "-o", "json"); strings.TrimSpace(l) != "[]" {
		t.Fatalf("adopted machine still listed as discovered: %s", l)
	}
	// The host's timeline starts with its adoption, committed with the host.
	st1, err := inventory.OpenSQLite(filepath.Join(data, "inventory.db"))
	if err != nil {
		t.Fatal(err)
	}
	ev, err := st1.Events(ctx, mac, 0)
	st1.Close()
	if err != nil || len(ev) != 1 || ev[0].Kind != "adopted" || !strings.Contains(ev[0].Detail, "2 CPUs, 8 GiB RAM, 2 disks, 1 NICs") {
		t.Fatalf("timeline of the adopted host: %+v %v; want one adopted event with the facts", ev, err)
	}
	hs := cli("host", "show", "disc01")
	if !strings.Contains(hs, "disk sdb:") || !strings.Contains(hs, "memory:") {
		t.Fatalf("host show without facts:\n%s", hs)
	}
	plan := cli("layout", "plan", "home-opt", "--host", "disc01")
	if !strings.Contains(plan, "sda") || !strings.Contains(plan, "sdb") {
		t.Fatalf("layout plan --host did not plan both real disks:\n%s", plan)
	}
	want := cli("layout", "plan", "home-opt", "--disk", "100G", "--disk", "50G", "--ram", "8G")
	if plan != want {
		t.Fatalf("plan --host differs from the same disks and RAM given by hand:\n%s\nvs\n%s", plan, want)
	}
	// A hostname the machine sent that is not a valid name is never taken.
	st2, _ := inventory.OpenSQLite(filepath.Join(data, "inventory.db"))
	st2.RecordDiscovered(ctx, inventory.Discovered{MAC: "52:54:00:d1:00:02", Hostname: "$(reboot)", LastSeen: timeNow()}, 0)
	st2.Close()
	var o, e bytes.Buffer
	a := &app{stdout: &o, stderr: &e}
	if code := a.main(ctx, []string{"--data", data, "host", "adopt", "52:54:00:d1:00:02"}); code == 0 || !strings.Contains(e.String(), "no usable hostname") {
		t.Fatalf("adopt without --hostname of a machine that sent $(reboot): exit %d\n%s%s", code, o.String(), e.String())
	}
	if code := a.main(ctx, []string{"--data", data, "host", "adopt", "52:54:00:d1:00:02", "--hostname", "a;reboot"}); code == 0 {
		t.Fatalf("adopt --hostname 'a;reboot' accepted")
	}
}

func timeNow() time.Time { return time.Now().UTC() }
