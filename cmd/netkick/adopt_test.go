package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/netkick/netkick/inventory"
)

// TestImportFromDnsmasq imports the adopt package's dnsmasq fixture: the dry
// run writes nothing, the import adds every host, a re-run changes nothing
// (also after a host got a profile), a conf dir adds a second NIC to a known
// host, and a changed address is reported as a conflict naming both sources.
func TestImportFromDnsmasq(t *testing.T) {
	bin := buildNetkick(t)
	data := t.TempDir()
	conf, dir := filepath.Join("..", "..", "adopt", "testdata", "dnsmasq.conf"), filepath.Join("..", "..", "adopt", "testdata", "dnsmasq.d")

	out := run(t, bin, "import", "--from", "dnsmasq", conf, "--dry-run", "--data", data)
	for _, want := range []string{"would be added: host web01", "dry run, nothing written (merge): 17 added",
		"not imported: " + conf + ":15: dhcp-range=set:racka", "lease time 24h",
		"not imported: " + conf + ":59: MAC 52:54:00:0a:00:01 with address 192.0.2.111: conflict: " + conf + ":29 gives the same MAC address 192.0.2.11"} {
		if !strings.Contains(out, want) {
			t.Errorf("dry run output lacks %q:\n%s", want, out)
		}
	}
	if got := run(t, bin, "export", "--data", data); strings.Contains(got, "web01") {
		t.Fatalf("the dry run wrote hosts:\n%s", got)
	}
	out = run(t, bin, "import", "--from", "dnsmasq", conf, "--data", data)
	if !strings.Contains(out, "imported (merge): 17 added, 0 updated, 0 unchanged") {
		t.Fatalf("import:\n%s", out)
	}
	run(t, bin, "profile", "add", "centos-7", "--version", "7.9", "--data", data)
	run(t, bin, "host", "set", "web01", "--profile", "centos-7", "--data", data)
	out = run(t, bin, "import", "--from", "dnsmasq", conf, "--data", data)
	if !strings.Contains(out, "imported (merge): 0 added, 0 updated, 17 unchanged") {
		t.Fatalf("re-import is not idempotent:\n%s", out)
	}
	if got := run(t, bin, "host", "show", "web01", "--data", data); !strings.Contains(got, "centos-7") {
		t.Fatalf("re-import lost the profile set in netkick:\n%s", got)
	}

	out = run(t, bin, "import", "--from", "dnsmasq", dir, "--data", data)
	if !strings.Contains(out, "updated: host web02: macs 52:54:00:0a:00:02 -> 52:54:00:0a:00:02,52:54:00:0a:01:02") ||
		!strings.Contains(out, "10 added, 1 updated") {
		t.Fatalf("conf dir import:\n%s", out)
	}

	moved := filepath.Join(t.TempDir(), "moved.conf")
	if err := os.WriteFile(moved, []byte("dhcp-host=52:54:00:0a:00:01,web01,192.0.2.99\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	out = run(t, bin, "import", "--from", "dnsmasq", moved, "--dry-run", "--data", data)
	want := "conflict: MAC 52:54:00:0a:00:01: the inventory has host web01 at 192.0.2.11; " + moved + ":1 gives web01 at 192.0.2.99"
	if !strings.Contains(out, want) || !strings.Contains(out, "would be updated: host web01: ip 192.0.2.11 -> 192.0.2.99") {
		t.Fatalf("conflict not reported with both sources; want %q in:\n%s", want, out)
	}

	if out, code := exitOf(t, bin, "", nil, "import", "--from", "bind9", conf, "--data", data); code == 0 || !strings.Contains(out, "dnsmasq") {
		t.Fatalf("unknown format: exit %d\n%s", code, out)
	}
}

// TestImportFromDhcpd imports the dhcpd fixture twice: the second run changes nothing.
func TestImportFromDhcpd(t *testing.T) {
	bin := buildNetkick(t)
	data := t.TempDir()
	conf := filepath.Join("..", "..", "adopt", "testdata", "dhcpd.conf")
	out := run(t, bin, "import", "--from", "dhcpd", conf, "--dry-run", "--data", data)
	if !strings.Contains(out, "would be added: host db01\n") || !strings.Contains(out, "dry run, nothing written (merge): 18 added") ||
		!strings.Contains(out, "not imported: "+conf+":22: range 192.0.2.100 192.0.2.199;") {
		t.Fatalf("dry run:\n%s", out)
	}
	run(t, bin, "import", "--from", "dhcpd", conf, "--data", data)
	if out := run(t, bin, "import", "--from", "dhcpd", conf, "--data", data); !strings.Contains(out, "0 added, 0 updated, 18 unchanged") {
		t.Fatalf("re-import:\n%s", out)
	}
	if got := run(t, bin, "host", "show", "db01", "--data", data); !strings.Contains(got, "52:54:00:0b:01:01") {
		t.Fatalf("db01 lacks the MAC of its second declaration:\n%s", got)
	}
}

// TestImportFromKea imports the Kea fixture twice: the second run changes nothing.
func TestImportFromKea(t *testing.T) {
	bin := buildNetkick(t)
	data := t.TempDir()
	conf := filepath.Join("..", "..", "adopt", "testdata", "kea-dhcp4.conf")
	out := run(t, bin, "import", "--from", "kea", conf, "--dry-run", "--data", data)
	if !strings.Contains(out, "would be added: host rb-node05\n") || !strings.Contains(out, "dry run, nothing written (merge): 18 added") ||
		!strings.Contains(out, "not imported: "+conf+": Dhcp4.subnet4[0].pools[0]: pool 192.0.2.100 - 192.0.2.199") {
		t.Fatalf("dry run:\n%s", out)
	}
	run(t, bin, "import", "--from", "kea", conf, "--data", data)
	if out := run(t, bin, "import", "--from", "kea", conf, "--data", data); !strings.Contains(out, "0 added, 0 updated, 18 unchanged") {
		t.Fatalf("re-import:\n%s", out)
	}
}

// TestImportFromPxelinuxAnnotatesKnownHosts imports dnsmasq's hosts, then the
// pxelinux.cfg directory: the known machines keep their names and gain the
// labels of the kernel they boot; a re-run changes nothing.
func TestImportFromPxelinuxAnnotatesKnownHosts(t *testing.T) {
	bin := buildNetkick(t)
	data := t.TempDir()
	td := filepath.Join("..", "..", "adopt", "testdata")
	run(t, bin, "import", "--from", "dnsmasq", filepath.Join(td, "dnsmasq.conf"), "--data", data)
	out := run(t, bin, "import", "--from", "pxelinux", filepath.Join(td, "pxelinux.cfg"), "--data", data)
	if !strings.Contains(out, "0 added, 6 updated") || !strings.Contains(out, "updated: host web01: label pxelinux.initrd=centos-7.9/initrd.img") || strings.Contains(out, "conflict:") {
		t.Fatalf("pxelinux import:\n%s", out)
	}
	if got := run(t, bin, "host", "show", "web01", "--data", data); !strings.Contains(got, "centos-7.9/vmlinuz") || !strings.Contains(got, "http://192.0.2.5/ks/web01.cfg") {
		t.Fatalf("web01 lacks its pxelinux kernel and kickstart:\n%s", got)
	}
	if out := run(t, bin, "import", "--from", "pxelinux", filepath.Join(td, "pxelinux.cfg"), "--data", data); !strings.Contains(out, "0 added, 0 updated, 6 unchanged") {
		t.Fatalf("re-import:\n%s", out)
	}
}

// TestImportFromCobbler imports the systems directory: no password in the output.
func TestImportFromCobbler(t *testing.T) {
	bin := buildNetkick(t)
	data := t.TempDir()
	dir := filepath.Join("..", "..", "adopt", "testdata", "cobbler", "systems")
	out := run(t, bin, "import", "--from", "cobbler", dir, "--data", data)
	if !strings.Contains(out, "imported (merge): 4 added") || strings.Contains(out, "calvin") {
		t.Fatalf("cobbler import:\n%s", out)
	}
	if out := run(t, bin, "import", "--from", "cobbler", dir, "--data", data); !strings.Contains(out, "0 added, 0 updated, 4 unchanged") {
		t.Fatalf("re-import:\n%s", out)
	}
}

// TestImportFromLVS adopts piranha lvs.cf files after the site's dnsmasq
// hosts: the dry run shows the clusters and roles and writes nothing, the
// NAT and tunnel clusters and unmatched servers are listed, a renamed real
// server is a conflict naming both sides, a re-run changes nothing, and
// `netkick lvs render` renders the adopted cluster.
func TestImportFromLVS(t *testing.T) {
	bin := buildNetkick(t)
	data := t.TempDir()
	td := filepath.Join("..", "..", "adopt", "testdata")
	web := filepath.Join(td, "lvs", "web.cf")

	out, code := exitOf(t, bin, "", nil, "import", "--from", "lvs", web, "--data", data)
	if code == 0 || !strings.Contains(out, "primary director 192.0.2.41") || !strings.Contains(out, "nothing to import") {
		t.Fatalf("lvs.cf into an empty inventory: exit %d, want a refusal naming the director:\n%s", code, out)
	}
	run(t, bin, "import", "--from", "dnsmasq", filepath.Join(td, "dnsmasq.conf"), "--data", data)

	out = run(t, bin, "import", "--from", "lvs", web, "--dry-run", "--data", data)
	for _, want := range []string{"would be added: cluster web", "would be updated: host lb01: cluster - -> web; roles - -> lvs-director",
		"would be updated: host web01: cluster - -> web; roles - -> lvs-real-server; param lvs_weight=2", "not imported: " + web + ":52: virtual WWW / server web04: active = 0",
		"web07 (192.0.2.17): no host has this address",
		"conflict: web: " + web + " names real server www5 at 192.0.2.15; the inventory's host at that address is web05",
		"dry run, nothing written (merge): 1 added, 7 updated"} {
		if !strings.Contains(out, want) {
			t.Errorf("dry run output lacks %q:\n%s", want, out)
		}
	}
	if got := run(t, bin, "export", "--data", data); strings.Contains(got, "lvs-director") {
		t.Fatalf("the dry run wrote roles:\n%s", got)
	}
	out = run(t, bin, "import", "--from", "lvs", filepath.Join(td, "lvs"), "--data", data)
	for _, want := range []string{"added: cluster standalone", "added: cluster web", "network = nat", "network = tunnel", "imported (merge): 2 added, 10 updated"} {
		if !strings.Contains(out, want) {
			t.Errorf("import output lacks %q:\n%s", want, out)
		}
	}
	out = run(t, bin, "import", "--from", "lvs", filepath.Join(td, "lvs"), "--data", data)
	if !strings.Contains(out, "imported (merge): 0 added, 0 updated, 2 unchanged") {
		t.Fatalf("re-import is not idempotent:\n%s", out)
	}
	cf := run(t, bin, "lvs", "render", "web", "--data", data)
	for _, want := range []string{"primary = 192.0.2.41", "backup = 192.0.2.42", "virtual FTP {", "server web05 {", "weight = 2"} {
		if !strings.Contains(cf, want) {
			t.Errorf("rendered lvs.cf lacks %q:\n%s", want, cf)
		}
	}
}

// storeState is what an import must leave alone on a host it does not
// change: its build token, the inventory's generation, the host's timeline.
type storeState struct {
	state  inventory.State
	token  string
	expiry time.Time
	gen    int64
	events int
}

func readStoreState(t *testing.T, data, host string) storeState {
	t.Helper()
	st, err := inventory.OpenSQLite(filepath.Join(data, "inventory.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	ctx := context.Background()
	h, err := st.GetHost(ctx, host)
	if err != nil {
		t.Fatal(err)
	}
	gen, err := st.Generation(ctx)
	if err != nil {
		t.Fatal(err)
	}
	ev, err := st.Events(ctx, h.ID(), 0)
	if err != nil {
		t.Fatal(err)
	}
	return storeState{state: h.State, token: h.BuildToken, expiry: h.TokenExpires, gen: gen, events: len(ev)}
}

// TestImportFromKeepsBuildToken puts hosts in build mode (a machine that
// has fetched its boot entry holds the token) and imports what the site
// runs over them: an lvs.cf that gives them roles keeps their token; the
// same lvs.cf, dnsmasq.conf, dhcpd.conf, kea and cobbler files again change
// nothing at all (token, generation, timeline).
func TestImportFromKeepsBuildToken(t *testing.T) {
	bin := buildNetkick(t)
	data := t.TempDir()
	td := filepath.Join("..", "..", "adopt", "testdata")
	web := filepath.Join(td, "lvs", "web.cf")
	conf := filepath.Join(td, "dnsmasq.conf")
	run(t, bin, "import", "--from", "dnsmasq", conf, "--data", data)
	run(t, bin, "profile", "add", "centos-7", "--version", "7.9", "--data", data)
	for _, h := range []string{"web01", "lb01"} {
		run(t, bin, "host", "set", h, "--profile", "centos-7", "--data", data)
		run(t, bin, "host", "build", h, "--data", data)
	}
	before := map[string]storeState{"web01": readStoreState(t, data, "web01"), "lb01": readStoreState(t, data, "lb01")}
	if before["web01"].token == "" || before["web01"].state != inventory.StateBuild {
		t.Fatalf("web01 is not in build mode: %+v", before["web01"])
	}

	// The lvs.cf gives both roles: they are updated, their tokens stay.
	out := run(t, bin, "import", "--from", "lvs", web, "--data", data)
	if !strings.Contains(out, "updated: host web01: cluster - -> web; roles - -> lvs-real-server; param lvs_weight=2\n") ||
		strings.Contains(out, "fresh build token") {
		t.Errorf("lvs import over hosts in build mode:\n%s", out)
	}
	for h, b := range before {
		a := readStoreState(t, data, h)
		if a.token != b.token || !a.expiry.Equal(b.expiry) || a.state != b.state {
			t.Errorf("%s: the lvs import changed the build of a host being installed: %+v -> %+v", h, b, a)
		}
		if a.events != b.events+1 {
			t.Errorf("%s: %d events after the import, want %d (one for the change)", h, a.events, b.events+1)
		}
	}

	// The same files again: nothing about the hosts changes.
	before = map[string]storeState{"web01": readStoreState(t, data, "web01"), "lb01": readStoreState(t, data, "lb01")}
	for _, src := range [][]string{{"lvs", web}, {"dnsmasq", conf}} {
		out := run(t, bin, "import", "--from", src[0], src[1], "--data", data)
		if !strings.Contains(out, " 0 added, 0 updated,") || strings.Contains(out, "fresh build token") {
			t.Errorf("re-import --from %s over hosts in build mode is not a no-op:\n%s", src[0], out)
		}
		for h, b := range before {
			if a := readStoreState(t, data, h); a != b {
				t.Errorf("%s: re-import --from %s changed it: %+v -> %+v", h, src[0], b, a)
			}
		}
	}

	// host adopt never touches a host: a machine still listed as discovered
	// whose MAC, or the name asked for, is a host being installed is refused.
	st, err := inventory.OpenSQLite(filepath.Join(data, "inventory.db"))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	web01, _ := st.GetHost(ctx, "web01")
	for _, mac := range []string{web01.ID(), "52:54:00:d1:00:09"} {
		if _, err := st.RecordDiscovered(ctx, inventory.Discovered{MAC: mac, Arch: "bios", LastSeen: time.Now()}, 0); err != nil {
			t.Fatal(err)
		}
	}
	st.Close()
	b := readStoreState(t, data, "web01")
	for _, mac := range []string{web01.ID(), "52:54:00:d1:00:09"} {
		out, code := exitOf(t, bin, "", nil, "host", "adopt", mac, "--hostname", "web01", "--data", data)
		if code == 0 || !strings.Contains(out, "already exists") {
			t.Errorf("host adopt %s --hostname web01 over the host being installed: exit %d\n%s", mac, code, out)
		}
	}
	if a := readStoreState(t, data, "web01"); a != b {
		t.Errorf("a refused host adopt changed web01: %+v -> %+v", b, a)
	}

	// Every DHCP server's import, run again over a host it made that is now
	// in build mode, leaves the host alone.
	for _, src := range [][]string{{"dhcpd", "dhcpd.conf"}, {"kea", "kea-dhcp4.conf"}, {"cobbler", "cobbler"}, {"pxelinux", "pxelinux.cfg"}} {
		t.Run(src[0], func(t *testing.T) {
			data := t.TempDir()
			path := filepath.Join(td, src[1])
			run(t, bin, "import", "--from", src[0], path, "--data", data)
			run(t, bin, "profile", "add", "centos-7", "--version", "7.9", "--data", data)
			st, err := inventory.OpenSQLite(filepath.Join(data, "inventory.db"))
			if err != nil {
				t.Fatal(err)
			}
			hs, err := st.ListHosts(context.Background(), inventory.HostFilter{})
			st.Close()
			if err != nil || len(hs) == 0 {
				t.Fatalf("no hosts imported from %s: %v", path, err)
			}
			h := hs[0].Hostname
			run(t, bin, "host", "set", h, "--profile", "centos-7", "--data", data)
			run(t, bin, "host", "build", h, "--data", data)
			b := readStoreState(t, data, h)
			out := run(t, bin, "import", "--from", src[0], path, "--data", data)
			if !strings.Contains(out, " 0 added, 0 updated,") {
				t.Errorf("re-import is not a no-op:\n%s", out)
			}
			if a := readStoreState(t, data, h); a != b {
				t.Errorf("%s: re-import --from %s changed it: %+v -> %+v", h, src[0], b, a)
			}
		})
	}
}
