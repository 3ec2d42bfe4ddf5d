package dhcp

import (
	"net"
	"testing"
	"time"

	"github.com/insomniacslk/dhcp/dhcpv4"
)

// TestRelayedClientGetsAnAddressOfTheRelaySubnet plays a relay agent (RFC
// 1542) in the client namespace: its DISCOVER and REQUEST carry giaddr
// 198.18.0.1; the server must pick the 198.18.0.0/24 subnet and answer the
// relay on port 67.
func TestRelayedClientGetsAnAddressOfTheRelaySubnet(t *testing.T) {
	l := newLink(t)
	sh(t, "ip", "-n", l.cli, "addr", "add", "192.0.2.2/24", "dev", "vc")
	sh(t, "ip", "-n", l.cli, "addr", "add", "198.18.0.1/24", "dev", "lo")
	sh(t, "ip", "-n", l.srv, "route", "add", "198.18.0.0/24", "via", "192.0.2.2")
	st := openStore(t)
	cfg := fullConfig("vs", UnknownPool)
	cfg.Subnets = append(cfg.Subnets, SubnetConfig{CIDR: "198.18.0.0/24", Pools: []string{"198.18.0.100-198.18.0.110"}, Router: "198.18.0.1", Lease: "30m"})
	cfg.Relays = []string{"198.18.0.1"}
	startServer(t, l.srv, cfg, st)

	var relay *net.UDPConn
	if err := inNetns(t, l.cli, func() error {
		var err error
		relay, err = net.ListenUDP("udp4", &net.UDPAddr{IP: net.ParseIP("198.18.0.1"), Port: 67})
		return err
	}); err != nil {
		t.Fatal(err)
	}
	defer relay.Close()
	server := &net.UDPAddr{IP: net.ParseIP("192.0.2.1"), Port: 67}
	mac, _ := net.ParseMAC("52:54:00:00:50:01")
	exchange := func(req *dhcpv4.DHCPv4, want dhcpv4.MessageType) *dhcpv4.DHCPv4 {
		t.Helper()
		req.GatewayIPAddr = net.ParseIP("198.18.0.1").To4()
		req.HopCount = 1
		if _, err := relay.WriteTo(req.ToBytes(), server); err != nil {
			t.Fatal(err)
		}
		buf := make([]byte, 1500)
		relay.SetReadDeadline(time.Now().Add(5 * time.Second))
		n, from, err := relay.ReadFromUDP(buf)
		if err != nil {
			t.Fatalf("relay got no %s: %v", want, err)
		}
		if from.Port != 67 || !from.IP.Equal(net.ParseIP("192.0.2.1")) {
			t.Errorf("reply came from %v, want 192.0.2.1:67", from)
		}
		resp, err := dhcpv4.FromBytes(buf[:n])
		if err != nil {
			t.Fatal(err)
		}
		if resp.MessageType() != want || resp.TransactionID != req.TransactionID {
			t.Fatalf("relay got %s xid %s, want %s xid %s", resp.MessageType(), resp.TransactionID, want, req.TransactionID)
		}
		if !resp.GatewayIPAddr.Equal(net.ParseIP("198.18.0.1")) {
			t.Errorf("giaddr not kept: %v", resp.GatewayIPAddr)
		}
		return resp
	}
	disc, _ := dhcpv4.NewDiscovery(mac)
	offer := exchange(disc, dhcpv4.MessageTypeOffer)
	yi := offer.YourIPAddr.To4()
	if yi == nil || yi[0] != 198 || yi[1] != 18 || yi[3] < 100 || yi[3] > 110 {
		t.Fatalf("relayed offer yiaddr = %v, want 198.18.0.100-110", offer.YourIPAddr)
	}
	if r := offer.Router(); len(r) != 1 || !r[0].Equal(net.ParseIP("198.18.0.1")) {
		t.Errorf("router = %v, want 198.18.0.1", r)
	}
	if lt := offer.IPAddressLeaseTime(0); lt != 30*time.Minute {
		t.Errorf("lease time = %v, want the relay subnet's 30m", lt)
	}
	req, _ := dhcpv4.NewRequestFromOffer(offer)
	ack := exchange(req, dhcpv4.MessageTypeAck)
	if !ack.YourIPAddr.Equal(yi) {
		t.Errorf("ACK yiaddr %v, offer %v", ack.YourIPAddr, yi)
	}
	if le := leaseOf(t, st, mac.String()); le.IP != yi.String() {
		t.Errorf("stored lease %+v, want %s", le, yi)
	}
	// A relay from a network the server does not serve gets nothing.
	other, _ := dhcpv4.NewDiscovery(mac)
	other.GatewayIPAddr = net.ParseIP("198.19.0.1").To4()
	relay.WriteTo(other.ToBytes(), server)
	relay.SetReadDeadline(time.Now().Add(500 * time.Millisecond))
	if _, _, err := relay.ReadFromUDP(make([]byte, 1500)); err == nil {
		t.Errorf("server answered a relay from an unserved network")
	}
}
