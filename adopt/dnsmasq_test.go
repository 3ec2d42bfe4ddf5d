package adopt

import (
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/netkick/netkick/internal/testenv"
)

// TestDnsmasqFixturesAreRealConfigs runs dnsmasq's own syntax check on the
// fixtures, so the reader is tested against what dnsmasq accepts.
func TestDnsmasqFixturesAreRealConfigs(t *testing.T) {
	bin := testenv.RequireProgram(t, "dnsmasq")
	for _, args := range [][]string{
		{"--test", "-C", "testdata/dnsmasq.conf", "--conf-dir=testdata/dnsmasq.d"},
		{"--test", "-C", "testdata/dnsmasq.d/10-rackb.conf"},
	} {
		out, err := exec.Command(bin, args...).CombinedOutput()
		if err != nil || !strings.Contains(string(out), "syntax check OK") {
			t.Fatalf("dnsmasq %v: %v\n%s", args, err, out)
		}
	}
}

func TestDnsmasqGolden(t *testing.T) {
	r, err := ReadDnsmasq(mustRead(t, "testdata/dnsmasq.conf", "testdata/dnsmasq.d"))
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "dnsmasq.golden", render(t, r))
	if len(r.Dump.Hosts) < 25 {
		t.Fatalf("%d hosts imported from the fixture, want at least 25", len(r.Dump.Hosts))
	}
	// Every host has a recorded origin.
	for _, h := range r.Dump.Hosts {
		if r.Origin[h.MACs[0]] == "" {
			t.Errorf("host %s has no origin", h.Hostname)
		}
	}
	// Re-reading gives the same result: imports of it are idempotent.
	r2, err := ReadDnsmasq(mustRead(t, "testdata/dnsmasq.conf", "testdata/dnsmasq.d"))
	if err != nil {
		t.Fatal(err)
	}
	if render(t, r) != render(t, r2) {
		t.Fatal("two reads of the same files differ")
	}
}

func TestDnsmasqHostVariants(t *testing.T) {
	for _, tc := range []struct {
		name, conf string
		host       string // hostname expected, "" for none imported
		macs, ip   string
		labels     string // k=v, sorted, comma-joined
		note       string // a note that must be there
	}{
		{name: "mac name ip", conf: "dhcp-host=52:54:00:00:00:01,a1,192.0.2.1", host: "a1", macs: "52:54:00:00:00:01", ip: "192.0.2.1"},
		{name: "ip before name", conf: "dhcp-host=52:54:00:00:00:01,192.0.2.1,a1", host: "a1", macs: "52:54:00:00:00:01", ip: "192.0.2.1"},
		{name: "upper case mac and name", conf: "dhcp-host=52:54:00:AA:00:01,A1", host: "a1", macs: "52:54:00:aa:00:01"},
		{name: "two macs one host", conf: "dhcp-host=52:54:00:00:00:01,52:54:00:00:00:02,a1,192.0.2.1", host: "a1", macs: "52:54:00:00:00:01 52:54:00:00:00:02", ip: "192.0.2.1"},
		{name: "hardware type prefix", conf: "dhcp-host=01-52:54:00:00:00:01,a1", host: "a1", macs: "52:54:00:00:00:01"},
		{name: "set tags become labels", conf: "dhcp-host=52:54:00:00:00:01,set:web,net:RackA,a1", host: "a1", macs: "52:54:00:00:00:01", labels: "tag.racka=set,tag.web=set"},
		{name: "lease time reported", conf: "dhcp-host=52:54:00:00:00:01,a1,192.0.2.1,45m", host: "a1", macs: "52:54:00:00:00:01", ip: "192.0.2.1", note: "lease time 45m"},
		{name: "infinite lease reported", conf: "dhcp-host=52:54:00:00:00:01,a1,infinite", host: "a1", macs: "52:54:00:00:00:01", note: "lease time infinite"},
		{name: "client id with mac", conf: "dhcp-host=id:01:52:54:00:00:00:01,52:54:00:00:00:01,a1", host: "a1", macs: "52:54:00:00:00:01", note: "client identifier"},
		{name: "client id only", conf: "dhcp-host=id:abc,a1,192.0.2.1", note: "no Ethernet MAC"},
		{name: "id star is silent", conf: "dhcp-host=id:*,52:54:00:00:00:01,a1", host: "a1", macs: "52:54:00:00:00:01"},
		{name: "no name gets one", conf: "dhcp-host=52:54:00:00:00:01,192.0.2.1", host: "host-525400000001", macs: "52:54:00:00:00:01", ip: "192.0.2.1", note: "no host name"},
		{name: "bad name replaced", conf: "dhcp-host=52:54:00:00:00:01,a_1", host: "host-525400000001", macs: "52:54:00:00:00:01", note: "not a valid host name"},
		{name: "wildcard mac", conf: "dhcp-host=52:54:00:*:*:*,set:vm", note: "wildcard"},
		{name: "infiniband type", conf: "dhcp-host=20-52:54:00:00:00:01,a1", note: "not Ethernet"},
		{name: "ignore", conf: "dhcp-host=52:54:00:00:00:01,ignore", note: "dnsmasq ignores this machine"},
		{name: "ipv6 reported", conf: "dhcp-host=52:54:00:00:00:01,a1,[2001:db8::1]", host: "a1", macs: "52:54:00:00:00:01", note: "IPv6"},
		{name: "tag condition reported", conf: "dhcp-host=52:54:00:00:00:01,tag:lab,a1", host: "a1", macs: "52:54:00:00:00:01", note: "condition"},
		{name: "trailing comment", conf: "dhcp-host=52:54:00:00:00:01,a1 # rack 3", host: "a1", macs: "52:54:00:00:00:01"},
		{name: "same name two lines merge", conf: "dhcp-host=52:54:00:00:00:01,a1,192.0.2.1\ndhcp-host=52:54:00:00:00:02,a1", host: "a1", macs: "52:54:00:00:00:01 52:54:00:00:00:02", ip: "192.0.2.1"},
		{name: "same mac two addresses conflict", conf: "dhcp-host=52:54:00:00:00:01,a1,192.0.2.1\ndhcp-host=52:54:00:00:00:01,a1,192.0.2.9", host: "a1", macs: "52:54:00:00:00:01", ip: "192.0.2.1", note: "t:1 gives the same MAC address 192.0.2.1"},
		{name: "same name two addresses conflict", conf: "dhcp-host=52:54:00:00:00:01,a1,192.0.2.1\ndhcp-host=52:54:00:00:00:02,a1,192.0.2.2", host: "a1", macs: "52:54:00:00:00:01", ip: "192.0.2.1", note: "conflict: t:1 gives host a1 address 192.0.2.1"},
		{name: "range reported", conf: "dhcp-range=192.0.2.50,192.0.2.99,12h", note: "dhcp-range=192.0.2.50"},
		{name: "boot reported", conf: "dhcp-boot=pxelinux.0", note: "dhcp-boot=pxelinux.0"},
		{name: "dns options are not listed", conf: "no-resolv\nserver=192.0.2.1"},
		{name: "hostsfile line", conf: "52:54:00:00:00:01,set:r,a1,192.0.2.1", host: "a1", macs: "52:54:00:00:00:01", ip: "192.0.2.1", labels: "tag.r=set"},
		{name: "hostsfile line with client id", conf: "id:01:52:54:00:00:00:01,52:54:00:00:00:01,a1", host: "a1", macs: "52:54:00:00:00:01", note: "client identifier"},
		{name: "bare word is not a hostsfile line", conf: "a1,192.0.2.1", note: "not a DHCP host setting"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, err := ReadDnsmasq([]File{{Name: "t", Data: []byte(tc.conf)}})
			if err != nil {
				t.Fatal(err)
			}
			if h := wantHost(t, r, tc.host, tc.macs, tc.ip); h != nil {
				var ls []string
				for k, v := range h.Labels {
					ls = append(ls, k+"="+v)
				}
				sort.Strings(ls)
				if strings.Join(ls, ",") != tc.labels {
					t.Fatalf("labels = %v, want %s", ls, tc.labels)
				}
			}
			wantNote(t, r, tc.note)
		})
	}
}

func FuzzReadDnsmasq(f *testing.F) {
	f.Add([]byte("dhcp-host=52:54:00:00:00:01,a1,192.0.2.1,set:x,12h\n"))
	f.Add([]byte("dhcp-host=id:*,01-52:54:00:00:00:01,52:54:00:*:*:*,[::1],ignore\ndhcp-range=a,b\n# c\n"))
	f.Add([]byte("dhcp-host=\"a # b\",,,\n"))
	f.Fuzz(func(t *testing.T, in []byte) { fuzzValid(t, ReadDnsmasq, "f", in) })
}

// TestDnsmasqHostsdirIsRealConfig: dnsmasq --test does not open hosts
// files, so each line of the dhcp-hostsdir fixture is checked as the
// dhcp-host option it stands for.
func TestDnsmasqHostsdirIsRealConfig(t *testing.T) {
	bin := testenv.RequireProgram(t, "dnsmasq")
	files := mustRead(t, "testdata/dnsmasq-hostsdir")
	var conf strings.Builder
	for _, l := range strings.Split(string(files[0].Data), "\n") {
		if l = strings.TrimSpace(l); l != "" && !strings.HasPrefix(l, "#") {
			conf.WriteString("dhcp-host=" + l + "\n")
		}
	}
	p := filepath.Join(t.TempDir(), "hosts.conf")
	if err := os.WriteFile(p, []byte(conf.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(bin, "--test", "-C", p).CombinedOutput(); err != nil || !strings.Contains(string(out), "syntax check OK") {
		t.Fatalf("dnsmasq --test of the hosts file as dhcp-host lines: %v\n%s", err, out)
	}
}

// TestDnsmasqHostsdirGolden reads a dhcp-hostsdir file (dhcp-host values
// without "dhcp-host=").
func TestDnsmasqHostsdirGolden(t *testing.T) {
	r, err := ReadDnsmasq(mustRead(t, "testdata/dnsmasq-hostsdir"))
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "dnsmasq-hostsdir.golden", render(t, r))
	if len(r.Dump.Hosts) != 41 {
		t.Fatalf("%d hosts from the hosts file, want 41 (40 nodes and a spare; the ignored MAC is not imported)", len(r.Dump.Hosts))
	}
	i := hostByName(t, r, "rc-node10")
	if h := r.Dump.Hosts[i]; len(h.MACs) != 2 || h.Labels["tag.storage"] != "set" || h.IP != "198.51.100.110" {
		t.Fatalf("rc-node10 = %+v, want two MACs, tag.storage and 198.51.100.110", h)
	}
}
