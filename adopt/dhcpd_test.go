package adopt

import (
	"os/exec"
	"strings"
	"testing"

	"github.com/netkick/netkick/internal/testenv"
)

// TestDhcpdFixtureIsARealConfig runs dhcpd's own check on the fixture.
func TestDhcpdFixtureIsARealConfig(t *testing.T) {
	bin := testenv.RequireProgram(t, "dhcpd")
	out, err := exec.Command(bin, "-t", "-cf", "testdata/dhcpd.conf").CombinedOutput()
	if err != nil {
		t.Fatalf("dhcpd -t -cf testdata/dhcpd.conf: %v\n%s", err, out)
	}
}

func TestDhcpdGolden(t *testing.T) {
	r, err := ReadDhcpd(mustRead(t, "testdata/dhcpd.conf"))
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "dhcpd.golden", render(t, r))
	if len(r.Dump.Hosts) < 18 {
		t.Fatalf("%d hosts imported from the fixture, want at least 18", len(r.Dump.Hosts))
	}
}

func TestDhcpdVariants(t *testing.T) {
	for _, tc := range []struct {
		name, conf string
		host       string
		macs, ip   string
		note       string
		err        string
	}{
		{name: "host block", conf: "host a1 { hardware ethernet 52:54:00:00:00:01; fixed-address 192.0.2.1; }", host: "a1", macs: "52:54:00:00:00:01", ip: "192.0.2.1"},
		{name: "one line per statement and comments", conf: "host a1 { # the first\n  hardware ethernet 52:54:00:00:00:01;\n  fixed-address 192.0.2.1; # rack 1\n}\n", host: "a1", macs: "52:54:00:00:00:01", ip: "192.0.2.1"},
		{name: "host-name option wins", conf: `host a1-eth0 { hardware ethernet 52:54:00:00:00:01; option host-name "A1.example.net"; }`, host: "a1.example.net", macs: "52:54:00:00:00:01"},
		{name: "ddns-hostname", conf: `host x { hardware ethernet 52:54:00:00:00:01; ddns-hostname "a1"; }`, host: "a1", macs: "52:54:00:00:00:01"},
		{name: "in group in subnet", conf: "subnet 192.0.2.0 netmask 255.255.255.0 { range 192.0.2.50 192.0.2.60; group { filename \"pxelinux.0\"; host a1 { hardware ethernet 52:54:00:00:00:01; } } }", host: "a1", macs: "52:54:00:00:00:01", note: "range 192.0.2.50 192.0.2.60;"},
		{name: "in shared network pool", conf: "shared-network s { subnet 192.0.2.0 netmask 255.255.255.0 { pool { range 192.0.2.5 192.0.2.9; } host a1 { hardware ethernet 52:54:00:00:00:01; } } }", host: "a1", macs: "52:54:00:00:00:01", note: "subnet 192.0.2.0 netmask 255.255.255.0"},
		{name: "two addresses", conf: "host a1 { hardware ethernet 52:54:00:00:00:01; fixed-address 192.0.2.1, 192.0.2.2; }", host: "a1", macs: "52:54:00:00:00:01", ip: "192.0.2.1", note: "further address 192.0.2.2"},
		{name: "name as address", conf: "host a1 { hardware ethernet 52:54:00:00:00:01; fixed-address a1.example.net; }", host: "a1", macs: "52:54:00:00:00:01", note: "not an IPv4 address"},
		{name: "filename in host reported", conf: `host a1 { hardware ethernet 52:54:00:00:00:01; filename "pxelinux.0"; next-server 192.0.2.5; }`, host: "a1", macs: "52:54:00:00:00:01", note: `filename "pxelinux.0"; (host a1)`},
		{name: "client identifier only", conf: `host a1 { option dhcp-client-identifier "x"; }`, note: "no `hardware ethernet`"},
		{name: "token ring", conf: "host a1 { hardware token-ring 00:11:22:33:44:55; }", note: "Ethernet MACs only"},
		{name: "same address two declarations are one machine", conf: "host a1 { hardware ethernet 52:54:00:00:00:01; fixed-address 192.0.2.1; }\nhost a1-eth1 { hardware ethernet 52:54:00:00:00:02; fixed-address 192.0.2.1; }", host: "a1", macs: "52:54:00:00:00:01 52:54:00:00:00:02", ip: "192.0.2.1", note: "t:1 gives the same address to host a1 (52:54:00:00:00:01): imported as a further MAC"},
		{name: "conditional reported", conf: "if option arch = 00:07 { filename \"grubx64.efi\"; } else { filename \"pxelinux.0\"; }", note: "conditional"},
		{name: "include reported", conf: `include "/etc/dhcp/hosts.conf";`, note: "not followed"},
		{name: "escaped quote in string", conf: `host a1 { hardware ethernet 52:54:00:00:00:01; option host-name "a\"1"; }`, host: "host-525400000001", macs: "52:54:00:00:00:01", note: "not a valid host name"},
		{name: "missing semicolon", conf: "host a1 { hardware ethernet 52:54:00:00:00:01 }", err: "missing ';'"},
		{name: "open block", conf: "host a1 { hardware ethernet 52:54:00:00:00:01;", err: "not closed"},
		{name: "stray brace", conf: "}", err: "closes no block"},
		{name: "open string", conf: `option domain-name "x;`, err: "quoted string"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, err := ReadDhcpd([]File{{Name: "t", Data: []byte(tc.conf)}})
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) || !strings.Contains(err.Error(), "t") {
					t.Fatalf("err = %v, want one with %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			wantHost(t, r, tc.host, tc.macs, tc.ip)
			wantNote(t, r, tc.note)
		})
	}
}

func FuzzReadDhcpd(f *testing.F) {
	f.Add([]byte("subnet 192.0.2.0 netmask 255.255.255.0 { range 192.0.2.5 192.0.2.9; host a { hardware ethernet 52:54:00:00:00:01; fixed-address 192.0.2.1, b; } }"))
	f.Add([]byte("group { group { host \"x\\\"\" { } } } # c\n if a { } else { }"))
	f.Add([]byte("{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{"))
	f.Fuzz(func(t *testing.T, in []byte) { fuzzValid(t, ReadDhcpd, "f", in) })
}
