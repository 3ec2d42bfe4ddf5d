package dhcp

import (
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/netkick/netkick/internal/testenv"
	"github.com/netkick/netkick/inventory"
)

func TestBusyBoxUdhcpcGetsALease(t *testing.T) {
	udhcpc := testenv.RequireProgram(t, "udhcpc")
	l := newLink(t)
	st := openStore(t)
	startServer(t, l.srv, fullConfig("vs", UnknownPool), st)

	dir := t.TempDir()
	out := filepath.Join(dir, "env")
	script := filepath.Join(dir, "script")
	os.WriteFile(script, []byte("#!/bin/sh\necho \"$1 ip=$ip router=$router dns=$dns subnet=$subnet lease=$lease domain=$domain\" >> "+out+"\n"), 0o755)
	cmd := exec.Command("ip", "netns", "exec", l.cli, udhcpc, "-i", "vc", "-f", "-q", "-n", "-t", "5", "-T", "1", "-s", script)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("udhcpc: %v\n%s", err, b)
	}
	got := waitFile(t, out, "bound", time.Second)
	fields := map[string]string{}
	for _, f := range strings.Fields(got[strings.Index(got, "bound"):]) {
		k, v, _ := strings.Cut(f, "=")
		fields[k] = v
	}
	ip, err := netip.ParseAddr(fields["ip"])
	if err != nil || !inPool(ip) {
		t.Fatalf("udhcpc bound %q, want an address in 192.0.2.100-200", fields["ip"])
	}
	for k, want := range map[string]string{"router": "192.0.2.1", "dns": "192.0.2.1", "subnet": "255.255.255.0", "lease": "3600", "domain": "lab.example"} {
		if fields[k] != want {
			t.Errorf("udhcpc %s = %q, want %q", k, fields[k], want)
		}
	}
	le := leaseOf(t, st, l.cliMAC)
	if le.IP != ip.String() || le.State != inventory.LeaseBound || time.Until(le.Expires) < 50*time.Minute {
		t.Errorf("stored lease = %+v, want %s bound for about 1h", le, ip)
	}
}

func TestISCDhclientGetsAndReleasesALease(t *testing.T) {
	dhclient := testenv.RequireProgram(t, "dhclient")
	l := newLink(t)
	st := openStore(t)
	startServer(t, l.srv, fullConfig("vs", UnknownPool), st)

	dir := t.TempDir()
	out := filepath.Join(dir, "env")
	script := filepath.Join(dir, "script")
	os.WriteFile(script, []byte(`#!/bin/sh
echo "$reason ip=$new_ip_address mask=$new_subnet_mask routers=$new_routers lease=$new_dhcp_lease_time server=$new_dhcp_server_identifier" >> `+out+`
case "$reason" in
BOUND|RENEW|REBOOT) ip addr add "$new_ip_address/24" dev "$interface" ;;
esac
exit 0
`), 0o755)
	lf, pf := filepath.Join(dir, "leases"), filepath.Join(dir, "pid")
	cmd := exec.Command("ip", "netns", "exec", l.cli, dhclient, "-4", "-d", "-1", "-v", "-sf", script, "-lf", lf, "-pf", pf, "vc")
	logf, _ := os.Create(filepath.Join(dir, "log"))
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	got := waitFile(t, out, "BOUND", 20*time.Second)
	line := got[strings.Index(got, "BOUND"):]
	if !strings.Contains(line, "routers=192.0.2.1") || !strings.Contains(line, "lease=3600") || !strings.Contains(line, "server=192.0.2.1") {
		t.Errorf("dhclient bound with %q", line)
	}
	le := leaseOf(t, st, l.cliMAC)
	if !strings.Contains(line, "ip="+le.IP+" ") || le.State != inventory.LeaseBound {
		t.Fatalf("dhclient %q, stored lease %+v", line, le)
	}
	// dhclient -r sends DHCPRELEASE: the lease ends in the store.
	rel := exec.Command("ip", "netns", "exec", l.cli, dhclient, "-4", "-r", "-v", "-sf", script, "-lf", lf, "-pf", pf, "vc")
	if b, err := rel.CombinedOutput(); err != nil {
		t.Fatalf("dhclient -r: %v\n%s", err, b)
	}
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		if leaseOf(t, st, l.cliMAC).State == inventory.LeaseReleased {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	b, _ := os.ReadFile(filepath.Join(dir, "log"))
	t.Fatalf("lease not released after dhclient -r: %+v\n%s", leaseOf(t, st, l.cliMAC), b)
}

// inPool reports whether a is in the test pool 192.0.2.100-192.0.2.200.
func inPool(a netip.Addr) bool {
	return !a.Less(netip.MustParseAddr("192.0.2.100")) && !netip.MustParseAddr("192.0.2.200").Less(a)
}
