package kickstart

import (
	"context"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/netkick/netkick/inventory"
)

func TestPlanNetwork(t *testing.T) {
	el5, _ := ParseOS("centos", "5.3")
	el9, _ := ParseOS("rocky", "9.4")
	subnets := []Subnet{
		{Prefix: netip.MustParsePrefix("198.51.100.0/25")},
		{Prefix: netip.MustParsePrefix("192.0.2.0/24"), Router: netip.MustParseAddr("192.0.2.1"),
			DNS: []netip.Addr{netip.MustParseAddr("192.0.2.53"), netip.MustParseAddr("192.0.2.54")}},
	}
	host := func(ip string) *inventory.Host {
		return &inventory.Host{MACs: []string{"52:54:00:00:00:01"}, Hostname: "h", IP: ip}
	}
	for _, tc := range []struct {
		name    string
		host    *inventory.Host
		os      OS
		subnets []Subnet
		want    Network
	}{
		{"reserved IP in a subnet: static from its router and DNS", host("192.0.2.11"), el9, subnets,
			Network{Static: true, Device: "52:54:00:00:00:01", IP: "192.0.2.11", Netmask: "255.255.255.0", Gateway: "192.0.2.1", Nameservers: "192.0.2.53,192.0.2.54"}},
		{"EL5 names the device eth0", host("192.0.2.11"), el5, subnets,
			Network{Static: true, Device: "eth0", IP: "192.0.2.11", Netmask: "255.255.255.0", Gateway: "192.0.2.1", Nameservers: "192.0.2.53,192.0.2.54"}},
		{"subnet without router or DNS", host("198.51.100.7"), el9, subnets,
			Network{Static: true, Device: "52:54:00:00:00:01", IP: "198.51.100.7", Netmask: "255.255.255.128"}},
		{"no reservation keeps DHCP", host(""), el9, subnets, Network{Device: "52:54:00:00:00:01"}},
		{"IP outside every subnet keeps DHCP", host("203.0.113.9"), el9, subnets, Network{Device: "52:54:00:00:00:01"}},
		{"no subnets configured keeps DHCP", host("192.0.2.11"), el5, nil, Network{Device: "eth0"}},
		{"unparsable IP keeps DHCP", host("192.0.2"), el9, subnets, Network{Device: "52:54:00:00:00:01"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := PlanNetwork(tc.host, tc.os, tc.subnets); got != tc.want {
				t.Fatalf("got %+v\nwant %+v", got, tc.want)
			}
		})
	}
}

// TestNetworkLine renders the network line per release, static and DHCP.
func TestNetworkLine(t *testing.T) {
	r, err := New(Options{Subnets: matrixSubnets()})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ name, profile, ip, want string }{
		{"static on 5", "centos-5.3", "192.0.2.11", "network --bootproto=static --device=eth0 --ip=192.0.2.11 --netmask=255.255.255.0 --gateway=192.0.2.1 --nameserver=192.0.2.1,192.0.2.2 --hostname=a01\n"},
		{"static on 9", "rocky-9.4", "192.0.2.11", "network --bootproto=static --device=52:54:00:4e:4b:01 --ip=192.0.2.11 --netmask=255.255.255.0 --gateway=192.0.2.1 --nameserver=192.0.2.1,192.0.2.2 --hostname=a01\n"},
		{"dhcp on 5", "centos-5.3", "", "network --bootproto=dhcp --device=eth0 --hostname=a01\n"},
		{"dhcp on 7", "centos-7.9", "", "network --bootproto=dhcp --device=52:54:00:4e:4b:01 --hostname=a01\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var p *inventory.Profile
			for _, x := range demoProfiles() {
				if x.Name == tc.profile {
					p = x
				}
			}
			h := *demoHosts()[0]
			h.Profile, h.IP, h.Params = p.Name, tc.ip, map[string]string{"lvs_address": "192.0.2.11"}
			out, err := r.Kickstart(context.Background(), demoSource(&h, p), Request{Host: h.ID(), Server: "http://192.0.2.1:8080"})
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(string(out), "\n"+tc.want) || strings.Count(string(out), "\nnetwork --") != 1 {
				t.Fatalf("want one line %q in:\n%s", tc.want, out)
			}
		})
	}
}

// TestUEFIOnEL5Refused: 5 has no supported x86_64 UEFI install, so netkick
// refuses to render rather than serve a kickstart that cannot boot.
func TestUEFIOnEL5Refused(t *testing.T) {
	r, err := New(Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		profile, arch string
		refused       bool
	}{
		{"centos-5.3", "efi-x86_64", true},
		{"centos-5.3", "bios", false},
		{"centos-5.3", "", false},
		{"centos-6.10", "efi-x86_64", false},
	} {
		t.Run(tc.profile+"_"+tc.arch, func(t *testing.T) {
			var p *inventory.Profile
			for _, x := range demoProfiles() {
				if x.Name == tc.profile {
					p = x
				}
			}
			h := *demoHosts()[2]
			h.Profile, h.Arch = p.Name, tc.arch
			_, err := r.Kickstart(context.Background(), demoSource(&h, p), Request{Host: h.ID(), Server: "http://x"})
			if tc.refused != (err != nil) || (err != nil && !strings.Contains(err.Error(), "boot it in BIOS (legacy/CSM) mode")) {
				t.Fatalf("err = %v, want refused %v", err, tc.refused)
			}
		})
	}
}

// TestRealServerRoleScriptEL9 runs a Rocky 9 real server's %post twice: the
// oneshot unit with the VIP, enabled, and the sysctl.d file.
func TestRealServerRoleScriptEL9(t *testing.T) {
	ks := renderDemo(t, "b01", "rocky-9.4")
	if strings.Contains(ks, "ifcfg-lo") {
		t.Errorf("EL9 kickstart writes ifcfg-lo, which EL9 never reads")
	}
	root, log := runRoleScript(t, roleScript(t, ks, "lvs-real-server"), 2)
	unit, err := os.ReadFile(filepath.Join(root, "etc/systemd/system/netkick-lvs-vip.service"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(unit), "ExecStart=/usr/sbin/ip addr replace 192.0.2.40/32 dev lo label lo:0\n") {
		t.Errorf("unit lacks the VIP:\n%s", unit)
	}
	if strings.Count(log, "systemctl enable netkick-lvs-vip.service") != 2 {
		t.Errorf("unit not enabled on each pass: %q", log)
	}
	sysctl, err := os.ReadFile(filepath.Join(root, "etc/sysctl.d/90-netkick-lvs.conf"))
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range []string{"net.ipv4.conf.lo.arp_ignore = 1\n", "net.ipv4.conf.lo.arp_announce = 2\n", "net.ipv4.conf.all.arp_ignore = 1\n"} {
		if strings.Count(string(sysctl), w) != 1 {
			t.Errorf("sysctl.d file lacks %q once:\n%s", w, sysctl)
		}
	}
	if _, err := os.Stat(filepath.Join(root, "etc/sysctl.conf")); err == nil {
		t.Errorf("EL9 real server touched /etc/sysctl.conf")
	}
}
