package dhcp

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/insomniacslk/dhcp/dhcpv4"
	"github.com/insomniacslk/dhcp/dhcpv4/nclient4"
	"github.com/insomniacslk/dhcp/iana"
	"github.com/netkick/netkick/internal/testenv"
)

// TestProxyModeBesideDnsmasq puts netkick (proxy mode, on a bridge) and a
// dnsmasq handing out addresses on one segment. A UEFI PXE client must get
// its address from dnsmasq and its boot file from netkick (no address),
// then boot-server discovery on port 4011 must answer too; a plain client
// must hear only dnsmasq.
func TestProxyModeBesideDnsmasq(t *testing.T) {
	dnsmasq := testenv.RequireProgram(t, "dnsmasq")
	requireNetns(t)
	srv, cli, dns := newNetns(t, "srv"), newNetns(t, "cli"), newNetns(t, "dns")
	sh(t, "ip", "-n", srv, "link", "add", "br0", "type", "bridge")
	sh(t, "ip", "-n", srv, "addr", "add", "192.0.2.1/24", "dev", "br0")
	sh(t, "ip", "-n", srv, "link", "set", "br0", "up")
	for _, p := range []struct{ here, there, ns string }{{"pc", "vc", cli}, {"pd", "vd", dns}} {
		sh(t, "ip", "-n", srv, "link", "add", p.here, "type", "veth", "peer", "name", p.there, "netns", p.ns)
		sh(t, "ip", "-n", srv, "link", "set", p.here, "master", "br0")
		sh(t, "ip", "-n", srv, "link", "set", p.here, "up")
		sh(t, "ip", "-n", p.ns, "link", "set", p.there, "up")
	}
	sh(t, "ip", "-n", dns, "addr", "add", "192.0.2.3/24", "dev", "vd")

	dir := t.TempDir()
	dm := exec.Command("ip", "netns", "exec", dns, dnsmasq, "--no-daemon", "--conf-file=/dev/null", "--port=0",
		"--no-ping", "--log-facility=-", "--interface=vd", "--bind-interfaces", "--dhcp-range=192.0.2.50,192.0.2.99,1h",
		"--dhcp-leasefile="+filepath.Join(dir, "dnsmasq.leases"), "--pid-file="+filepath.Join(dir, "dnsmasq.pid"))
	logf, _ := os.Create(filepath.Join(dir, "dnsmasq.log"))
	dm.Stdout, dm.Stderr = logf, logf
	if err := dm.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { dm.Process.Kill(); dm.Wait() })

	waitFile(t, filepath.Join(dir, "dnsmasq.log"), "DHCP, IP range", 20*time.Second)
	st := openStore(t)
	s := startServer(t, srv, Config{Interface: "br0", Mode: ModeProxy, Unknown: UnknownPool}, st)

	mac, _ := net.ParseMAC("52:54:00:00:60:01")
	c := newClient(t, cli, "vc", mac)
	pxeMods := []dhcpv4.Modifier{
		dhcpv4.WithOption(dhcpv4.OptClassIdentifier("PXEClient:Arch:00007:UNDI:003016")),
		dhcpv4.WithOption(dhcpv4.OptClientArch(iana.EFI_X86_64)),
		dhcpv4.WithGeneric(dhcpv4.OptionClientMachineIdentifier, testGUID),
	}
	offers := collectOffers(t, c, mac, 3*time.Second, pxeMods...)
	var addrOffer, bootOffer *dhcpv4.DHCPv4
	for _, o := range offers {
		switch {
		case o.ServerIdentifier().Equal(net.ParseIP("192.0.2.3")):
			addrOffer = o
		case o.ServerIdentifier().Equal(net.ParseIP("192.0.2.1")):
			bootOffer = o
		}
	}
	if addrOffer == nil || bootOffer == nil {
		b, _ := os.ReadFile(filepath.Join(dir, "dnsmasq.log"))
		t.Fatalf("want one offer from dnsmasq and one from netkick, got %d:\n%v\ndnsmasq log:\n%s", len(offers), offers, b)
	}
	if !bootOffer.YourIPAddr.IsUnspecified() {
		t.Errorf("proxy offer carries an address: %v", bootOffer.YourIPAddr)
	}
	if bootOffer.BootFileNameOption() != "ipxe.efi" || bootOffer.BootFileName != "ipxe.efi" {
		t.Errorf("proxy offer boot file = %q / %q, want ipxe.efi", bootOffer.BootFileNameOption(), bootOffer.BootFileName)
	}
	if bootOffer.ClassIdentifier() != "PXEClient" {
		t.Errorf("proxy offer option 60 = %q, want PXEClient", bootOffer.ClassIdentifier())
	}
	if bootOffer.TFTPServerName() != "192.0.2.1" || !bootOffer.ServerIPAddr.Equal(net.ParseIP("192.0.2.1")) {
		t.Errorf("proxy offer next server = %q / %v", bootOffer.TFTPServerName(), bootOffer.ServerIPAddr)
	}
	if got := bootOffer.Options.Get(dhcpv4.OptionVendorSpecificInformation); fmt.Sprint(got) != fmt.Sprint([]byte{6, 1, 8, 255}) {
		t.Errorf("proxy offer option 43 = %v, want PXE discovery control 8", got)
	}
	if got := bootOffer.Options.Get(dhcpv4.OptionClientMachineIdentifier); string(got) != string(testGUID) {
		t.Errorf("proxy offer option 97 = %x", got)
	}
	if bootOffer.Options.Has(dhcpv4.OptionIPAddressLeaseTime) || bootOffer.Options.Has(dhcpv4.OptionSubnetMask) {
		t.Errorf("proxy offer carries address options: %v", bootOffer.Options)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	lease, err := c.RequestFromOffer(ctx, addrOffer, pxeMods...)
	if err != nil {
		t.Fatalf("REQUEST to dnsmasq: %v", err)
	}
	yi := lease.ACK.YourIPAddr.String()

	// Boot server discovery: the client, now addressed, asks netkick on 4011.
	sh(t, "ip", "-n", cli, "addr", "add", yi+"/24", "dev", "vc")
	var u *net.UDPConn
	if err := inNetns(t, cli, func() error {
		var err error
		u, err = net.ListenUDP("udp4", &net.UDPAddr{IP: net.ParseIP(yi), Port: 4011})
		return err
	}); err != nil {
		t.Fatal(err)
	}
	defer u.Close()
	req, _ := dhcpv4.New(dhcpv4.WithHwAddr(mac), dhcpv4.WithMessageType(dhcpv4.MessageTypeRequest),
		dhcpv4.WithClientIP(net.ParseIP(yi)))
	for _, m := range pxeMods {
		m(req)
	}
	if _, err := u.WriteTo(req.ToBytes(), &net.UDPAddr{IP: net.ParseIP("192.0.2.1"), Port: 4011}); err != nil {
		t.Fatal(err)
	}
	u.SetReadDeadline(time.Now().Add(5 * time.Second))
	buf := make([]byte, 1500)
	n, from, err := u.ReadFromUDP(buf)
	if err != nil {
		t.Fatalf("no answer on port 4011: %v", err)
	}
	ack, err := dhcpv4.FromBytes(buf[:n])
	if err != nil || ack.MessageType() != dhcpv4.MessageTypeAck || ack.BootFileNameOption() != "ipxe.efi" || from.Port != 4011 {
		t.Fatalf("port 4011 answer from %v: %v %v", from, ack, err)
	}

	// A plain client (no PXEClient class) hears only dnsmasq.
	ignoredBefore := s.Metrics.Count("discover", "ignored")
	mac2, _ := net.ParseMAC("52:54:00:00:60:02")
	c2 := newClient(t, cli, "vc", mac2)
	for _, o := range collectOffers(t, c2, mac2, 2*time.Second) {
		if o.ServerIdentifier().Equal(net.ParseIP("192.0.2.1")) {
			t.Errorf("proxy answered a client that is not PXE: %v", o)
		}
	}
	if s.Metrics.Count("discover", "ignored") <= ignoredBefore {
		t.Errorf("plain DISCOVER not counted as ignored")
	}
}

// collectOffers sends one DISCOVER and gathers every OFFER that arrives within d.
func collectOffers(t *testing.T, c *nclient4.Client, mac net.HardwareAddr, d time.Duration, mods ...dhcpv4.Modifier) []*dhcpv4.DHCPv4 {
	t.Helper()
	disc, err := dhcpv4.NewDiscovery(mac, mods...)
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var got []*dhcpv4.DHCPv4
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	_, _ = c.SendAndRead(ctx, c.RemoteAddr(), disc, func(m *dhcpv4.DHCPv4) bool {
		if m.MessageType() == dhcpv4.MessageTypeOffer {
			mu.Lock()
			got = append(got, m)
			mu.Unlock()
		}
		return false
	})
	mu.Lock()
	defer mu.Unlock()
	return got
}
