package main

import (
	"bufio"
	"bytes"
	"context"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/netkick/netkick/internal/netnstest"
	"github.com/netkick/netkick/internal/testenv"
	"github.com/netkick/netkick/inventory"
)

// TestDnsmasqRoundTrip adopts a dnsmasq configuration and proves netkick
// then serves what dnsmasq served: the file is imported (`netkick import
// --from dnsmasq`), exported back (`netkick export`), and the real dnsmasq
// with that file and `netkick serve` with the inventory each run in a network
// namespace of their own at 192.0.2.1. BusyBox udhcpc, as a BIOS PXE client,
// asks both for every MAC of the file; each must get the same address (or,
// for a host without one, an address of the same pool), the same boot file
// and the same next server.
func TestDnsmasqRoundTrip(t *testing.T) {
	netnstest.Require(t)
	dnsmasq := testenv.RequireProgram(t, "dnsmasq")
	udhcpc := testenv.RequireProgram(t, "udhcpc")
	bin := buildNetkick(t)
	conf, err := filepath.Abs(filepath.Join("testdata", "roundtrip-dnsmasq.conf"))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	data := filepath.Join(dir, "data")

	// Import, then export: the hosts netkick now holds.
	out := run(t, bin, "import", "--from", "dnsmasq", conf, "--data", data)
	if !strings.Contains(out, "imported (merge): 7 added") {
		t.Fatalf("import:\n%s", out)
	}
	var exported inventory.Dump
	if err := yaml.Unmarshal([]byte(run(t, bin, "export", "--data", data)), &exported); err != nil {
		t.Fatal(err)
	}
	var macs []string
	reserved := map[string]string{} // MAC -> address the file reserves
	for _, h := range exported.Hosts {
		for _, m := range h.MACs {
			macs = append(macs, m)
			reserved[m] = h.IP
		}
	}
	if len(macs) != 8 {
		t.Fatalf("export holds MACs %v, want the file's 8", macs)
	}

	// dnsmasq with the file itself.
	dnsNS, dnsCli := netnstest.New(t, "dnsmasq"), netnstest.New(t, "dcli")
	netnstest.Veth(t, dnsNS, "vd", "192.0.2.1/24", "", dnsCli, "cd", "", "")
	dcmd := netnstest.Cmd(dnsNS, dnsmasq, "--no-daemon", "--conf-file="+conf, "--interface=vd", "--user=root",
		"--dhcp-leasefile="+filepath.Join(dir, "dnsmasq.leases"), "--pid-file="+filepath.Join(dir, "dnsmasq.pid"),
		"--tftp-root="+dir, "--log-dhcp", "--no-ping")
	dlog := startLogged(t, dcmd, filepath.Join(dir, "dnsmasq.log"))

	// netkick with the imported inventory; the pool and router are dnsmasq's dhcp-range and dhcp-option.
	nkNS, nkCli := netnstest.New(t, "netkick"), netnstest.New(t, "ncli")
	netnstest.Veth(t, nkNS, "vn", "192.0.2.1/24", "", nkCli, "cn", "", "")
	cfg := filepath.Join(dir, "netkick.yaml")
	if err := os.WriteFile(cfg, []byte(`data: `+data+`
http: "192.0.2.1:8080"
tftp: "off"
dhcp:
  interface: vn
  mode: full
  subnets:
    - cidr: 192.0.2.0/24
      pools: ["192.0.2.100-192.0.2.199"]
      router: 192.0.2.1
      lease: 1h
`), 0o600); err != nil {
		t.Fatal(err)
	}
	nlog := startLogged(t, netnstest.Cmd(nkNS, bin, "serve", "--config", cfg), filepath.Join(dir, "netkick.log"))
	waitLog(t, nlog, "serving HTTP on", 30*time.Second)
	waitLog(t, dlog, "DHCP, IP range 192.0.2.100", 10*time.Second)

	inPool := func(s string) bool {
		a, err := netip.ParseAddr(s)
		return err == nil && a.Compare(netip.MustParseAddr("192.0.2.100")) >= 0 && a.Compare(netip.MustParseAddr("192.0.2.199")) <= 0
	}
	for _, mac := range macs {
		d := askPXE(t, udhcpc, dnsCli, "cd", mac, dir)
		n := askPXE(t, udhcpc, nkCli, "cn", mac, dir)
		t.Logf("%s: dnsmasq %v, netkick %v", mac, d, n)
		for _, k := range []string{"boot_file", "siaddr", "subnet", "router"} {
			if d[k] != n[k] {
				t.Errorf("%s: %s: dnsmasq gives %q, netkick %q", mac, k, d[k], n[k])
			}
		}
		if d["boot_file"] != "pxelinux.0" {
			t.Errorf("%s: dnsmasq boot file %q, want the file's pxelinux.0", mac, d["boot_file"])
		}
		switch want := reserved[mac]; want {
		case "":
			if !inPool(d["ip"]) || !inPool(n["ip"]) {
				t.Errorf("%s (no reservation): dnsmasq gives %s, netkick %s; want both in 192.0.2.100-199", mac, d["ip"], n["ip"])
			}
		default:
			if d["ip"] != want || n["ip"] != want {
				t.Errorf("%s: dnsmasq gives %s, netkick %s; the file reserves %s", mac, d["ip"], n["ip"], want)
			}
		}
	}
}

// startLogged starts cmd with its output in logPath; t.Cleanup stops it.
func startLogged(t *testing.T, cmd *exec.Cmd, logPath string) string {
	t.Helper()
	f, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = f, f
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		f.Close()
		if t.Failed() {
			b, _ := os.ReadFile(logPath)
			t.Logf("%s:\n%s", filepath.Base(logPath), b)
		}
	})
	stopAtCleanup(t, cmd)
	return logPath
}

// waitLog waits until the file holds substr.
func waitLog(t *testing.T, path, substr string, d time.Duration) {
	t.Helper()
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		if b, _ := os.ReadFile(path); bytes.Contains(b, []byte(substr)) {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	b, _ := os.ReadFile(path)
	t.Fatalf("%s never logged %q:\n%s", filepath.Base(path), substr, b)
}

// askPXE gives the client interface dev in ns the MAC mac and runs udhcpc on
// it as a BIOS PXE ROM would ask (vendor class PXEClient, client arch 0),
// leaving the lease bound, as PXE ROMs do; it returns what udhcpc's script saw.
func askPXE(t *testing.T, udhcpc, ns, dev, mac, dir string) map[string]string {
	t.Helper()
	netnstest.Sh(t, "ip", "-n", ns, "link", "set", dev, "down")
	netnstest.Sh(t, "ip", "-n", ns, "link", "set", dev, "address", mac)
	netnstest.Sh(t, "ip", "-n", ns, "link", "set", dev, "up")
	env := filepath.Join(dir, ns+".env")
	os.Remove(env)
	script := filepath.Join(dir, "udhcpc.sh")
	if err := os.WriteFile(script, []byte("#!/bin/sh\n[ \"$1\" = bound ] || exit 0\n"+
		"for k in ip subnet router siaddr boot_file; do eval \"echo $k=\\$$k\"; done >> \"$NK_ENV\"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "ip", "netns", "exec", ns, udhcpc, "-i", dev, "-f", "-q", "-n", "-t", "5", "-T", "1",
		"-s", script, "-V", "PXEClient:Arch:00000:UNDI:002001", "-x", "0x5d:0000")
	cmd.Env = append(os.Environ(), "NK_ENV="+env)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("udhcpc as %s in %s: %v\n%s", mac, ns, err, b)
	}
	f, err := os.Open(env)
	if err != nil {
		t.Fatalf("udhcpc as %s in %s bound no lease: %v", mac, ns, err)
	}
	defer f.Close()
	got := map[string]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, _ := strings.Cut(sc.Text(), "=")
		got[k] = v
	}
	return got
}
