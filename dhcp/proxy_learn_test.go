package dhcp

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/insomniacslk/dhcp/dhcpv4"
	"github.com/netkick/netkick/inventory"
)

func TestLearnedAddress(t *testing.T) {
	self := netip.MustParseAddr("192.0.2.1")
	site := netip.MustParseAddr("192.0.2.3")
	ip := func(s string) uint32 { v, _ := parseIPv4(s); return v }
	tests := []struct {
		name      string
		port      int
		mt        dhcpv4.MessageType
		ciaddr    string
		requested string
		sid       netip.Addr
		want      string
		how       string
	}{
		{"4011 REQUEST: ciaddr", 4011, dhcpv4.MessageTypeRequest, "192.0.2.150", "", self, "192.0.2.150", "ciaddr of its request to port 4011"},
		{"4011 INFORM: ciaddr", 4011, dhcpv4.MessageTypeInform, "192.0.2.150", "", netip.Addr{}, "192.0.2.150", "ciaddr"},
		{"4011 REQUEST without ciaddr teaches nothing", 4011, dhcpv4.MessageTypeRequest, "0.0.0.0", "192.0.2.150", self, "", ""},
		{"SELECTING REQUEST to the site's server: option 50", 67, dhcpv4.MessageTypeRequest, "0.0.0.0", "192.0.2.151", site, "192.0.2.151", "DHCPREQUEST to 192.0.2.3"},
		{"INIT-REBOOT REQUEST: option 50", 67, dhcpv4.MessageTypeRequest, "0.0.0.0", "192.0.2.152", netip.Addr{}, "192.0.2.152", "INIT-REBOOT"},
		{"REBINDING REQUEST: ciaddr", 67, dhcpv4.MessageTypeRequest, "192.0.2.153", "", netip.Addr{}, "192.0.2.153", "rebinding"},
		{"REQUEST naming netkick teaches nothing (netkick offered no address)", 67, dhcpv4.MessageTypeRequest, "0.0.0.0", "192.0.2.154", self, "", ""},
		{"DISCOVER's option 50 is only a wish", 67, dhcpv4.MessageTypeDiscover, "0.0.0.0", "192.0.2.155", netip.Addr{}, "", ""},
		{"broadcast option 50 is refused", 67, dhcpv4.MessageTypeRequest, "0.0.0.0", "255.255.255.255", site, "", ""},
		{"multicast option 50 is refused", 67, dhcpv4.MessageTypeRequest, "0.0.0.0", "224.0.0.1", site, "", ""},
		{"loopback ciaddr is refused", 4011, dhcpv4.MessageTypeRequest, "127.0.0.1", "", self, "", ""},
		{"RELEASE teaches nothing", 67, dhcpv4.MessageTypeRelease, "192.0.2.156", "", site, "", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, how := learnedAddress(tc.port, tc.mt, ip(tc.ciaddr), ip(tc.requested), tc.sid, self)
			gotS := ""
			if got != 0 {
				gotS = addrOf(got).String()
			}
			if gotS != tc.want || !strings.Contains(how, tc.how) {
				t.Errorf("learnedAddress = %q (%q), want %q (%q)", gotS, how, tc.want, tc.how)
			}
		})
	}
}

// TestProxyLearnsAddresses drives the proxy-mode handler with the REQUESTs a
// machine sends beside a site DHCP server and checks that the store answers
// the lookups full-mode leases answer (HostIDByLease, LeaseIP), with one
// "address" event per new address.
func TestProxyLearnsAddresses(t *testing.T) {
	s := newOfflineServer(t, Config{Interface: "vs", Mode: ModeProxy, Unknown: UnknownIgnore})
	st := s.store.(*inventory.SQLite)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { s.jobLoop(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	mac, _ := net.ParseMAC("52:54:00:00:70:01")
	h := &inventory.Host{MACs: []string{mac.String()}, Hostname: "p01", State: inventory.StateBuild}
	if err := st.PutHost(ctx, h); err != nil {
		t.Fatal(err)
	}
	if err := s.reloadHosts(ctx); err != nil {
		t.Fatal(err)
	}
	site := net.IPv4(192, 0, 2, 3)
	peer := &net.UDPAddr{IP: net.IPv4zero, Port: 68}

	// The installer's own DHCP client: a SELECTING REQUEST to the site's server.
	req, _ := dhcpv4.New(dhcpv4.WithHwAddr(mac), dhcpv4.WithMessageType(dhcpv4.MessageTypeRequest),
		dhcpv4.WithOption(dhcpv4.OptServerIdentifier(site)),
		dhcpv4.WithOption(dhcpv4.OptRequestedIPAddress(net.IPv4(192, 0, 2, 150))),
		dhcpv4.WithOption(dhcpv4.OptClassIdentifier("udhcp 1.35.0")))
	if resp, _ := s.HandleBytes(ctx, req.ToBytes(), peer, 67); resp != nil {
		t.Fatalf("proxy mode answered a REQUEST to the site's server: %v", resp)
	}
	wantHolder(t, st, "192.0.2.150", h.ID())
	if ip, err := st.LeaseIP(ctx, mac.String()); err != nil || ip != "192.0.2.150" {
		t.Errorf("LeaseIP = %q, %v; want 192.0.2.150", ip, err)
	}
	// The same REQUEST again writes nothing new and adds no event.
	s.HandleBytes(ctx, req.ToBytes(), peer, 67)

	// Firmware at another address asks port 4011: ciaddr moves the lease.
	pxe, _ := dhcpv4.New(dhcpv4.WithHwAddr(mac), dhcpv4.WithMessageType(dhcpv4.MessageTypeRequest),
		dhcpv4.WithClientIP(net.IPv4(192, 0, 2, 151)),
		dhcpv4.WithOption(dhcpv4.OptServerIdentifier(net.IPv4(192, 0, 2, 1))),
		dhcpv4.WithOption(dhcpv4.OptClassIdentifier("PXEClient:Arch:00000:UNDI:002001")))
	resp, dst := s.HandleBytes(ctx, pxe.ToBytes(), &net.UDPAddr{IP: net.IPv4(192, 0, 2, 151), Port: 68}, 4011)
	if resp == nil || resp.MessageType() != dhcpv4.MessageTypeAck || dst.Port != 68 || !dst.IP.Equal(net.IPv4(192, 0, 2, 151)) {
		t.Fatalf("4011 REQUEST: %v to %v", resp, dst)
	}
	wantHolder(t, st, "192.0.2.151", h.ID())
	if _, err := st.HostIDByLease(ctx, "192.0.2.150"); !errors.Is(err, inventory.ErrNotFound) {
		t.Errorf("the previous address still names the host: %v", err)
	}

	// An unknown MAC teaches nothing.
	other, _ := net.ParseMAC("52:54:00:00:70:02")
	req.ClientHWAddr = other
	req.UpdateOption(dhcpv4.OptRequestedIPAddress(net.IPv4(192, 0, 2, 160)))
	s.HandleBytes(ctx, req.ToBytes(), peer, 67)
	if id, err := st.HostIDByLease(ctx, "192.0.2.160"); err == nil {
		t.Errorf("an unknown MAC's address names host %s", id)
	}

	var evs []inventory.Event
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		all, err := st.Events(ctx, h.ID(), 0)
		if err != nil {
			t.Fatal(err)
		}
		evs = evs[:0]
		for _, e := range all {
			if e.Kind == "address" {
				evs = append(evs, e)
			}
		}
		if len(evs) >= 2 {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if len(evs) != 2 || !strings.HasPrefix(evs[0].Detail, "192.0.2.150: requested address (option 50)") ||
		!strings.HasPrefix(evs[1].Detail, "192.0.2.151: ciaddr") {
		t.Errorf("address events = %+v, want one for .150 (option 50) and one for .151 (ciaddr)", evs)
	}

	// A restarted server remembers the sighting: the same address again is no new event.
	s2, err := New(ctx, Options{Config: Config{Interface: "vs", Mode: ModeProxy}, Store: st, ServerIP: "192.0.2.1", Logger: quietLogger()})
	if err != nil {
		t.Fatal(err)
	}
	if got := s2.sightings[mac.String()]; addrOf(got.ip).String() != "192.0.2.151" {
		t.Errorf("restarted server's sighting of %s = %v, want 192.0.2.151", mac, addrOf(got.ip))
	}
}

func wantHolder(t *testing.T, st *inventory.SQLite, ip, hostID string) {
	t.Helper()
	id, err := st.HostIDByLease(context.Background(), ip)
	if err != nil || id != hostID {
		t.Errorf("HostIDByLease(%s) = %q, %v; want %q", ip, id, err, hostID)
	}
}
