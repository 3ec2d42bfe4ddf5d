package testvm

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// The site's DHCP server of the proxy rig: dnsmasq in a namespace of its
// own, on the rig's bridge through a veth pair, handing out addresses and
// no boot options, as the DHCP server of a site netkick runs beside would.
const (
	SiteDHCPIP    = "192.0.2.3"
	SiteDHCPRange = "192.0.2.150,192.0.2.199"
)

// startSiteDHCP starts the site DHCP server and returns its stop function.
func (r *rig) startSiteDHCP(ctx context.Context) (func(), error) {
	dnsmasq, err := exec.LookPath("dnsmasq")
	if err != nil {
		return nil, fmt.Errorf("proxy scenarios need dnsmasq as the site's DHCP server (apt-get install dnsmasq-base)")
	}
	ns := r.net.NS + "d"
	if err := ipCmd(ctx, "netns", "add", ns); err != nil {
		return nil, fmt.Errorf("site DHCP namespace: %w", err)
	}
	delNS := func() { ipCmd(context.Background(), "netns", "del", ns) }
	for _, step := range [][]string{
		{"-n", r.net.NS, "link", "add", "site0", "type", "veth", "peer", "name", "eth0", "netns", ns},
		{"-n", r.net.NS, "link", "set", "site0", "master", r.net.Bridge},
		{"-n", r.net.NS, "link", "set", "site0", "up"},
		{"-n", ns, "link", "set", "lo", "up"},
		{"-n", ns, "addr", "add", SiteDHCPIP + "/24", "dev", "eth0"},
		{"-n", ns, "link", "set", "eth0", "up"},
	} {
		if err := ipCmd(ctx, step...); err != nil {
			delNS()
			return nil, err
		}
	}
	dir := filepath.Join(r.opts.WorkDir, "site-dhcp")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		delNS()
		return nil, err
	}
	logName := filepath.Join(dir, "dnsmasq.log")
	logf, err := os.Create(logName)
	if err != nil {
		delNS()
		return nil, err
	}
	sctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(sctx, "ip", "netns", "exec", ns, dnsmasq, "--no-daemon", "--conf-file=/dev/null",
		"--port=0", "--log-facility=-", "--log-dhcp", "--interface=eth0", "--bind-interfaces",
		"--dhcp-range="+SiteDHCPRange+",1h", "--dhcp-leasefile="+filepath.Join(dir, "dnsmasq.leases"),
		"--pid-file="+filepath.Join(dir, "dnsmasq.pid"))
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.WaitDelay = 5 * time.Second
	if err := cmd.Start(); err != nil {
		cancel()
		logf.Close()
		delNS()
		return nil, fmt.Errorf("start dnsmasq: %w", err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	stop := func() { cancel(); <-done; logf.Close(); delNS() }
	deadline := time.Now().Add(20 * time.Second)
	for {
		b, _ := os.ReadFile(logName)
		if strings.Contains(string(b), "DHCP, IP range") {
			break
		}
		select {
		case err := <-done:
			cancel()
			logf.Close()
			delNS()
			return nil, fmt.Errorf("dnsmasq (site DHCP) exited: %v: %s", err, b)
		default:
		}
		if time.Now().After(deadline) {
			stop()
			return nil, fmt.Errorf("dnsmasq (site DHCP) did not start within 20s: %s", b)
		}
		time.Sleep(100 * time.Millisecond)
	}
	r.printf("testvm: site DHCP server (dnsmasq, addresses %s, no boot options) at %s in netns %s\n", SiteDHCPRange, SiteDHCPIP, ns)
	return stop, nil
}

// LearnedAddressProblem checks a proxy scenario's timeline (events since
// start): netkick must have recorded the address the site's server gave
// (an "address" event) before the kickstart was fetched, and the kickstart
// must have been fetched from that address. "" when all holds.
func LearnedAddressProblem(evs []apiEvent, start time.Time) string {
	learned := ""
	for _, e := range evs {
		if e.Time.Before(start.Add(-time.Second)) {
			continue
		}
		switch e.Kind {
		case "address":
			learned, _, _ = strings.Cut(e.Detail, ":")
		case "kickstart":
			from := strings.TrimPrefix(e.Detail, "kickstart fetched by ")
			if learned == "" {
				return "the kickstart was fetched (" + e.Detail + ") before netkick learned any address of the host"
			}
			if from != learned {
				return fmt.Sprintf("the kickstart was fetched from %s, but netkick's last learned address is %s", from, learned)
			}
			return ""
		}
	}
	if learned == "" {
		return "netkick's timeline has no address event: it learned no address of the host"
	}
	return "netkick's timeline has no kickstart fetch"
}
