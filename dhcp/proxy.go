package dhcp

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"time"

	"github.com/insomniacslk/dhcp/dhcpv4"
	"github.com/netkick/netkick/boot"
	"github.com/netkick/netkick/inventory"
)

// learnedFor is how long an address learned in proxy mode is held as the
// host's lease. netkick never sees the site server's lease time, nor the
// renewals (unicast to that server); this covers a slow install, after
// which the host's next broadcast REQUEST is seen again.
const learnedFor = 6 * time.Hour

// learnedRefresh is how often a repeated sighting of the same address
// rewrites its lease (to move the expiry), so a chatty client costs no
// fsync per packet.
const learnedRefresh = 30 * time.Minute

// sighting is the last address learned for a MAC in proxy mode.
type sighting struct {
	ip uint32
	at time.Time
}

// newSightings seeds the proxy mode's memory of learned addresses from the
// stored leases, so a restart neither repeats "address" events nor leaves
// a host's previous address bound when it moves.
func newSightings(leases []inventory.Lease, now time.Time) map[string]sighting {
	m := map[string]sighting{}
	for _, l := range leases {
		ip, ok := parseIPv4(l.IP)
		if !ok || l.MAC == "" || l.State != inventory.LeaseBound || !l.Active(now) {
			continue
		}
		if prev, ok := m[l.MAC]; !ok || l.Updated.After(prev.at) {
			m[l.MAC] = sighting{ip: ip, at: l.Updated}
		}
	}
	return m
}

// learnedAddress decides which address, if any, a request seen in proxy
// mode shows its sender holds, and says how it was seen: the ciaddr of a
// request to port 4011 (the client is configured by then), the requested
// address (option 50) of a broadcast REQUEST to the site's server
// (SELECTING, or INIT-REBOOT without option 54), or the ciaddr of a
// broadcast REQUEST (REBINDING). A DISCOVER's option 50 is only a wish and
// teaches nothing; neither does a REQUEST netkick itself is named in
// (there netkick offered no address).
func learnedAddress(port int, mt dhcpv4.MessageType, ciaddr, requested uint32, sid, self netip.Addr) (uint32, string) {
	switch {
	case port == boot.PortPXE && (mt == dhcpv4.MessageTypeRequest || mt == dhcpv4.MessageTypeInform):
		if usable(ciaddr) {
			return ciaddr, "ciaddr of its request to port 4011"
		}
	case port == dhcpv4.ServerPort && mt == dhcpv4.MessageTypeRequest:
		if sid.IsValid() && sid == self {
			return 0, ""
		}
		if usable(requested) {
			if sid.IsValid() {
				return requested, "requested address (option 50) of its DHCPREQUEST to " + sid.String()
			}
			return requested, "requested address (option 50) of its DHCPREQUEST (INIT-REBOOT)"
		}
		if usable(ciaddr) {
			return ciaddr, "ciaddr of its broadcast DHCPREQUEST (rebinding)"
		}
	}
	return 0, ""
}

// usable is false for addresses no host holds: 0.0.0.0, loopback,
// multicast, class E and broadcast.
func usable(ip uint32) bool {
	a := addrOf(ip)
	return ip != 0 && !a.IsLoopback() && !a.IsMulticast() && ip>>28 != 0xf
}

// learn records the address a proxy-mode request shows a known host holds
// as that host's lease (state bound, learnedFor long), the same record a
// full-mode ACK leaves, so inventory.HostIDByLease and LeaseIP answer for
// it; a move releases the previous address. A new address is also an
// "address" event on the host's timeline. The returned channel yields the
// commit (nil: nothing to write).
func (s *Server) learn(ctx context.Context, req *dhcpv4.DHCPv4, port int, host *inventory.Host) chan error {
	if host == nil {
		return nil
	}
	var sid netip.Addr
	if ip := req.ServerIdentifier(); ip != nil {
		sid, _ = netip.AddrFromSlice(ip.To4())
	}
	ip, how := learnedAddress(port, req.MessageType(), ipv4Of(req.ClientIPAddr), ipv4Of(req.RequestedIPAddress()), sid, s.serverIP)
	if ip == 0 {
		return nil
	}
	mac := req.ClientHWAddr.String()
	now := time.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	prev, seen := s.sightings[mac]
	if seen && prev.ip == ip && now.Sub(prev.at) < learnedRefresh {
		return nil
	}
	ls := []inventory.Lease{{IP: addrOf(ip).String(), MAC: mac, State: inventory.LeaseBound,
		Expires: now.Add(learnedFor), Hostname: host.Hostname, Updated: now}}
	if seen && prev.ip != ip {
		ls = append(ls, inventory.Lease{IP: addrOf(prev.ip).String(), MAC: mac, State: inventory.LeaseReleased, Expires: now, Updated: now})
	}
	s.sightings[mac] = sighting{ip: ip, at: now}
	done := s.commit.enqueue(ctx, mac, ls)
	if !seen || prev.ip != ip {
		s.event(inventory.Event{HostID: host.ID(), Kind: "address", Detail: fmt.Sprintf("%s: %s", addrOf(ip), how)})
	}
	return done
}

// proxyRequest extracts what boot.DecideProxy reads of a packet.
func proxyRequest(req *dhcpv4.DHCPv4, port int) boot.ProxyRequest {
	pr := boot.ProxyRequest{
		Port:        port,
		Type:        uint8(req.MessageType()),
		VendorClass: req.ClassIdentifier(),
		HasGUID:     req.Options.Has(dhcpv4.OptionClientMachineIdentifier),
	}
	if sid := req.ServerIdentifier(); sid != nil && !sid.IsUnspecified() {
		pr.ServerID = sid.String()
	}
	if item := boot.PXESubOption(req.Options.Get(dhcpv4.OptionVendorSpecificInformation), boot.PXEBootItem); item != nil {
		pr.BootItem = append([]byte(nil), item...)
	}
	return pr
}

// decideProxy answers PXE and HTTP boot clients with boot data only
// (boot.DecideProxy), and learns the addresses the site's server gave the
// hosts it knows.
func (s *Server) decideProxy(ctx context.Context, req *dhcpv4.DHCPv4, peer *net.UDPAddr, port int, host *inventory.Host, bd boot.DHCPBoot) reply {
	done := s.learn(ctx, req, port, host)
	pr := boot.DecideProxy(proxyRequest(req, port), bd, s.serverIP.String())
	if !pr.Send {
		return reply{nil, nil, outIgnored, done, nil, nil}
	}
	mac := req.ClientHWAddr.String()
	if host == nil {
		switch s.cfg.Unknown {
		case UnknownIgnore:
			return reply{nil, nil, outIgnored, nil, nil, nil}
		case UnknownDiscover:
			if !s.discoverHereProxy() {
				return reply{nil, nil, outIgnored, nil, nil, nil}
			}
			s.sight(sightingOf(req, mac, bd.Firmware, netip.Addr{}, time.Now()))
		}
	}
	resp := s.proxyPacket(req, pr)
	if resp == nil {
		return reply{nil, nil, outError, done, nil, nil}
	}
	out, kind := outOffer, "dhcp-offer"
	if pr.Type == boot.MsgAck {
		out, kind = outAck, "dhcp-ack"
	}
	if host != nil {
		s.noteFirmware(host, bd.Firmware)
		s.event(inventory.Event{HostID: host.ID(), Kind: kind, Detail: bootDetail(fmt.Sprintf("proxy (port %d)", port), bd)})
	}
	dst := s.dest(req, false)
	if pr.ToSource {
		dst = peer
	}
	return reply{resp, dst, out, done, nil, nil}
}

// proxyPacket builds the packet of a proxy reply: no address (yiaddr
// 0.0.0.0, no lease options), the boot data of pr.
func (s *Server) proxyPacket(req *dhcpv4.DHCPv4, pr boot.ProxyReply) *dhcpv4.DHCPv4 {
	self := net.ParseIP(pr.ServerID).To4()
	mods := []dhcpv4.Modifier{
		dhcpv4.WithMessageType(dhcpv4.MessageType(pr.Type)),
		dhcpv4.WithOption(dhcpv4.OptServerIdentifier(self)),
		dhcpv4.WithServerIP(net.ParseIP(pr.ServerIP).To4()),
		dhcpv4.WithOption(dhcpv4.OptBootFileName(pr.File)),
		dhcpv4.WithOption(dhcpv4.OptClassIdentifier(pr.VendorClass)),
	}
	if pr.TFTPServer != "" {
		mods = append(mods, dhcpv4.WithOption(dhcpv4.OptTFTPServerName(pr.TFTPServer)))
	}
	if pr.EchoGUID {
		mods = append(mods, dhcpv4.WithOptionCopied(req, dhcpv4.OptionClientMachineIdentifier))
	}
	if len(pr.Vendor) > 0 {
		mods = append(mods, dhcpv4.WithGeneric(dhcpv4.OptionVendorSpecificInformation, pr.Vendor))
	}
	resp, err := dhcpv4.NewReplyFromRequest(req, mods...)
	if err != nil {
		return nil
	}
	resp.BootFileName = pr.File
	return resp
}
