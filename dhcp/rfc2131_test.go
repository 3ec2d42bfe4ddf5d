package dhcp

import (
	"context"
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/insomniacslk/dhcp/dhcpv4"
	"github.com/netkick/netkick/inventory"
)

// exchange drives the offline server with one client's messages.
type exchange struct {
	t   *testing.T
	s   *Server
	mac net.HardwareAddr
}

func (e exchange) send(mt dhcpv4.MessageType, mods ...dhcpv4.Modifier) *dhcpv4.DHCPv4 {
	e.t.Helper()
	return e.sendFrom(net.IPv4zero, mt, mods...)
}

// sendFrom is send from source address src.
func (e exchange) sendFrom(src net.IP, mt dhcpv4.MessageType, mods ...dhcpv4.Modifier) *dhcpv4.DHCPv4 {
	e.t.Helper()
	m, err := dhcpv4.New(append([]dhcpv4.Modifier{dhcpv4.WithHwAddr(e.mac), dhcpv4.WithMessageType(mt)}, mods...)...)
	if err != nil {
		e.t.Fatal(err)
	}
	resp, _ := e.s.HandleBytes(context.Background(), m.ToBytes(), &net.UDPAddr{IP: src, Port: 68}, 67)
	return resp
}

func (e exchange) dora() net.IP {
	e.t.Helper()
	off := e.send(dhcpv4.MessageTypeDiscover)
	if off == nil || off.MessageType() != dhcpv4.MessageTypeOffer {
		e.t.Fatalf("DISCOVER got %v", off)
	}
	ack := e.send(dhcpv4.MessageTypeRequest, dhcpv4.WithOption(dhcpv4.OptRequestedIPAddress(off.YourIPAddr)),
		dhcpv4.WithOption(dhcpv4.OptServerIdentifier(net.IPv4(192, 0, 2, 1))))
	if ack == nil || ack.MessageType() != dhcpv4.MessageTypeAck || !ack.YourIPAddr.Equal(off.YourIPAddr) {
		e.t.Fatalf("REQUEST got %v", ack)
	}
	return ack.YourIPAddr
}

func storedLease(t *testing.T, s *Server, ip net.IP) inventory.Lease {
	t.Helper()
	ls, err := s.store.Leases(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range ls {
		if l.IP == ip.String() {
			return l
		}
	}
	t.Fatalf("no stored lease for %s", ip)
	return inventory.Lease{}
}

func TestRFC2131(t *testing.T) {
	macA, _ := net.ParseMAC("52:54:00:00:70:0a")
	macB, _ := net.ParseMAC("52:54:00:00:70:0b")
	sid := dhcpv4.WithOption(dhcpv4.OptServerIdentifier(net.IPv4(192, 0, 2, 1)))
	tests := []struct {
		name string
		run  func(t *testing.T, s *Server)
	}{
		{"renewal at T1 extends the lease and is unicast to ciaddr", func(t *testing.T, s *Server) {
			a := exchange{t, s, macA}
			ip := a.dora()
			// Half the lease time has gone by (the allocator's view of it).
			s.mu.Lock()
			l := s.alloc.leases[u32(netip.AddrFrom4([4]byte(ip.To4())))]
			l.Expires = l.Expires.Add(-30 * time.Minute)
			before := l.Expires
			s.mu.Unlock()
			m, _ := dhcpv4.New(dhcpv4.WithHwAddr(macA), dhcpv4.WithMessageType(dhcpv4.MessageTypeRequest), dhcpv4.WithClientIP(ip))
			resp, dst := s.HandleBytes(context.Background(), m.ToBytes(), &net.UDPAddr{IP: ip, Port: 68}, 67)
			if resp == nil || resp.MessageType() != dhcpv4.MessageTypeAck || !resp.YourIPAddr.Equal(ip) {
				t.Fatalf("renew got %v", resp)
			}
			if !dst.IP.Equal(ip) || dst.Port != 68 {
				t.Errorf("renew ACK sent to %v, want %s:68", dst, ip)
			}
			if after := storedLease(t, s, ip).Expires; !after.After(before) {
				t.Errorf("expiry %v not extended past %v", after, before)
			}
		}},
		{"a REQUEST soon after the ACK repeats the lease: no write, the ACK states the time left", func(t *testing.T, s *Server) {
			a := exchange{t, s, macA}
			ip := a.dora()
			stored := storedLease(t, s, ip)
			time.Sleep(1100 * time.Millisecond)
			resp := a.send(dhcpv4.MessageTypeRequest, dhcpv4.WithClientIP(ip))
			if resp == nil || resp.MessageType() != dhcpv4.MessageTypeAck || !resp.YourIPAddr.Equal(ip) {
				t.Fatalf("REQUEST got %v", resp)
			}
			if after := storedLease(t, s, ip); !after.Expires.Equal(stored.Expires) || !after.Updated.Equal(stored.Updated) {
				t.Errorf("stored lease rewritten: %+v, was %+v", after, stored)
			}
			left := time.Until(stored.Expires)
			if got := resp.IPAddressLeaseTime(0); got > left || got < left-2*time.Second {
				t.Errorf("ACK lease time %v, want the %v left on the stored lease", got, left)
			}
		}},
		{"renewal of another client's address is NAKed", func(t *testing.T, s *Server) {
			ip := exchange{t, s, macA}.dora()
			resp := exchange{t, s, macB}.send(dhcpv4.MessageTypeRequest, dhcpv4.WithClientIP(ip))
			if resp == nil || resp.MessageType() != dhcpv4.MessageTypeNak {
				t.Fatalf("got %v, want NAK", resp)
			}
			if l := storedLease(t, s, ip); l.MAC != macA.String() {
				t.Errorf("lease now %+v", l)
			}
		}},
		{"REQUEST for another server drops our offer", func(t *testing.T, s *Server) {
			a := exchange{t, s, macA}
			off := a.send(dhcpv4.MessageTypeDiscover)
			resp := a.send(dhcpv4.MessageTypeRequest, dhcpv4.WithOption(dhcpv4.OptRequestedIPAddress(off.YourIPAddr)),
				dhcpv4.WithOption(dhcpv4.OptServerIdentifier(net.IPv4(192, 0, 2, 9))))
			if resp != nil {
				t.Fatalf("answered a REQUEST meant for another server: %v", resp)
			}
			s.mu.Lock()
			_, held := s.alloc.offers[ipv4Of(off.YourIPAddr)]
			s.mu.Unlock()
			if held {
				t.Errorf("offer still held after the client chose another server")
			}
		}},
		{"INIT-REBOOT with a known lease is ACKed", func(t *testing.T, s *Server) {
			a := exchange{t, s, macA}
			ip := a.dora()
			resp := a.send(dhcpv4.MessageTypeRequest, dhcpv4.WithOption(dhcpv4.OptRequestedIPAddress(ip)))
			if resp == nil || resp.MessageType() != dhcpv4.MessageTypeAck {
				t.Fatalf("got %v, want ACK", resp)
			}
		}},
		{"INIT-REBOOT on the wrong network is NAKed", func(t *testing.T, s *Server) {
			resp := exchange{t, s, macA}.send(dhcpv4.MessageTypeRequest, dhcpv4.WithOption(dhcpv4.OptRequestedIPAddress(net.IPv4(10, 1, 2, 3))))
			if resp == nil || resp.MessageType() != dhcpv4.MessageTypeNak {
				t.Fatalf("got %v, want NAK", resp)
			}
		}},
		{"INIT-REBOOT for another client's address from a client with no record is silent", func(t *testing.T, s *Server) {
			ip := exchange{t, s, macA}.dora()
			resp := exchange{t, s, macB}.send(dhcpv4.MessageTypeRequest, dhcpv4.WithOption(dhcpv4.OptRequestedIPAddress(ip)))
			if resp != nil {
				t.Fatalf("got %v, want silence (RFC 2131 4.3.2)", resp)
			}
			if l := storedLease(t, s, ip); l.MAC != macA.String() || l.State != inventory.LeaseBound {
				t.Errorf("lease now %+v", l)
			}
		}},
		{"INIT-REBOOT without a record is silent", func(t *testing.T, s *Server) {
			resp := exchange{t, s, macA}.send(dhcpv4.MessageTypeRequest, dhcpv4.WithOption(dhcpv4.OptRequestedIPAddress(net.IPv4(192, 0, 2, 150))))
			if resp != nil {
				t.Fatalf("got %v, want silence", resp)
			}
		}},
		{"REQUEST for an address outside the pools is NAKed", func(t *testing.T, s *Server) {
			resp := exchange{t, s, macA}.send(dhcpv4.MessageTypeRequest, dhcpv4.WithOption(dhcpv4.OptRequestedIPAddress(net.IPv4(192, 0, 2, 50))), sid)
			if resp == nil || resp.MessageType() != dhcpv4.MessageTypeNak {
				t.Fatalf("got %v, want NAK", resp)
			}
		}},
		{"RELEASE frees the address durably", func(t *testing.T, s *Server) {
			a := exchange{t, s, macA}
			ip := a.dora()
			if resp := a.sendFrom(ip, dhcpv4.MessageTypeRelease, dhcpv4.WithClientIP(ip), sid); resp != nil {
				t.Fatalf("RELEASE got a reply: %v", resp)
			}
			if l := storedLease(t, s, ip); l.State != inventory.LeaseReleased {
				t.Errorf("after RELEASE the store has %+v", l)
			}
		}},
		{"RELEASE not sent from the released address changes nothing", func(t *testing.T, s *Server) {
			a := exchange{t, s, macA}
			ip := a.dora()
			a.sendFrom(net.IPv4(192, 0, 2, 2), dhcpv4.MessageTypeRelease, dhcpv4.WithClientIP(ip), sid)
			if l := storedLease(t, s, ip); l.State != inventory.LeaseBound || l.MAC != macA.String() {
				t.Errorf("spoofed RELEASE changed the lease: %+v", l)
			}
		}},
		{"RELEASE by another MAC changes nothing", func(t *testing.T, s *Server) {
			ip := exchange{t, s, macA}.dora()
			exchange{t, s, macB}.send(dhcpv4.MessageTypeRelease, dhcpv4.WithClientIP(ip), sid)
			if l := storedLease(t, s, ip); l.State != inventory.LeaseBound || l.MAC != macA.String() {
				t.Errorf("foreign RELEASE changed the lease: %+v", l)
			}
		}},
		{"DECLINE keeps the address out and the client gets another", func(t *testing.T, s *Server) {
			a := exchange{t, s, macA}
			ip := a.dora()
			a.send(dhcpv4.MessageTypeDecline, dhcpv4.WithOption(dhcpv4.OptRequestedIPAddress(ip)), sid)
			if l := storedLease(t, s, ip); l.State != inventory.LeaseDeclined || l.MAC != "" {
				t.Errorf("after DECLINE the store has %+v", l)
			}
			if ip2 := a.dora(); ip2.Equal(ip) {
				t.Errorf("declined address %s handed out again", ip)
			}
			if off := (exchange{t, s, macB}).send(dhcpv4.MessageTypeDiscover); off != nil && off.YourIPAddr.Equal(ip) {
				t.Errorf("declined address offered to another client")
			}
		}},
		{"INFORM gets options without an address or lease time", func(t *testing.T, s *Server) {
			resp := exchange{t, s, macA}.send(dhcpv4.MessageTypeInform, dhcpv4.WithClientIP(net.IPv4(192, 0, 2, 60)))
			if resp == nil || resp.MessageType() != dhcpv4.MessageTypeAck {
				t.Fatalf("got %v, want ACK", resp)
			}
			if !resp.YourIPAddr.IsUnspecified() || resp.Options.Has(dhcpv4.OptionIPAddressLeaseTime) {
				t.Errorf("INFORM ACK carries yiaddr %v or a lease time", resp.YourIPAddr)
			}
			if r := resp.Router(); len(r) != 1 || !r[0].Equal(net.IPv4(192, 0, 2, 1)) {
				t.Errorf("INFORM ACK router %v", r)
			}
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.run(t, newOfflineServer(t, fullConfig("vs", UnknownPool)))
		})
	}
}
