package dhcp

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"time"

	"github.com/insomniacslk/dhcp/dhcpv4"
	"github.com/netkick/netkick/boot"
	"github.com/netkick/netkick/inventory"
)

// declineHold is how long a declined address is kept out of the pools.
const declineHold = time.Hour

// decode parses a packet and drops what is not a DHCP request from an
// Ethernet client: wrong op code, hardware type or length, no message type.
func decode(b []byte) (*dhcpv4.DHCPv4, error) {
	req, err := dhcpv4.FromBytes(b)
	if err != nil {
		return nil, err
	}
	if req.OpCode != dhcpv4.OpcodeBootRequest {
		return nil, fmt.Errorf("op code %v is not a request", req.OpCode)
	}
	if len(req.ClientHWAddr) != 6 {
		return nil, fmt.Errorf("hardware address %x is not 6 bytes of Ethernet", []byte(req.ClientHWAddr))
	}
	if req.MessageType() == dhcpv4.MessageTypeNone {
		return nil, errors.New("no DHCP message type (option 53): BOOTP is not served")
	}
	return req, nil
}

// reply is the server's answer to one request.
type reply struct {
	resp *dhcpv4.DHCPv4 // nil: no answer
	dst  *net.UDPAddr
	out  outcome
	// commit, when set, yields the result of making the lease change
	// durable; resp may be sent only after it yields nil.
	commit chan error
}

// HandleBytes runs one raw packet through the server's decisions and returns
// the reply and where to send it (nil when the packet gets no answer), after
// any lease change is durable. Serve takes the same path without waiting in
// the worker; tests and the fuzzer call it directly.
func (s *Server) HandleBytes(ctx context.Context, b []byte, peer *net.UDPAddr, port int) (*dhcpv4.DHCPv4, *net.UDPAddr) {
	req, err := decode(b)
	if err != nil {
		s.Metrics.count(typeInvalid, outBad)
		return nil, nil
	}
	r := s.decide(ctx, req, peer, port)
	if r.commit != nil {
		select {
		case err = <-r.commit:
		case <-ctx.Done():
			err = ctx.Err()
		}
		if !s.committed(req, r, err) {
			return nil, nil
		}
	}
	s.Metrics.count(typeOf(req), r.out)
	return r.resp, r.dst
}

// committed reports whether r may be sent after its commit ended with err.
func (s *Server) committed(req *dhcpv4.DHCPv4, r reply, err error) bool {
	if err == nil {
		return true
	}
	s.Metrics.count(typeOf(req), outError)
	s.log.Error("dhcp: lease change not saved; no reply sent", "mac", req.ClientHWAddr.String(), "type", req.MessageType().String(), "err", err)
	return false
}

func (s *Server) decide(ctx context.Context, req *dhcpv4.DHCPv4, peer *net.UDPAddr, port int) reply {
	mac := req.ClientHWAddr.String()
	host, prof := s.lookup(mac)
	breq := bootRequest(req, mac)
	bd := boot.DecideDHCP(breq, host, prof, boot.DHCPServer{IP: s.serverIP.String(), HTTPPort: s.httpPort})

	if s.cfg.Mode == ModeProxy {
		return s.decideProxy(ctx, req, peer, port, host, bd)
	}
	if port != dhcpv4.ServerPort {
		return reply{nil, nil, outIgnored, nil}
	}
	si := s.subnetFor(req)
	if si < 0 {
		return reply{nil, nil, outIgnored, nil}
	}
	if host == nil {
		switch s.cfg.Unknown {
		case UnknownIgnore:
			return reply{nil, nil, outIgnored, nil}
		case UnknownDiscover:
			if req.MessageType() == dhcpv4.MessageTypeDiscover {
				h, err := s.discoverHost(ctx, mac, bd.Firmware)
				if err != nil {
					s.log.Warn("dhcp: record discovered host", "mac", mac, "err", err)
					return reply{nil, nil, outError, nil}
				}
				host = h
			}
		}
	}
	var reservation uint32
	hostname := ""
	if host != nil {
		reservation, _ = parseIPv4(host.IP)
		hostname = host.Hostname
	}
	sub := s.subnets[si]
	now := time.Now()

	switch req.MessageType() {
	case dhcpv4.MessageTypeDiscover:
		s.mu.Lock()
		ip, err := s.alloc.offer(si, mac, reservation, ipv4Of(req.RequestedIPAddress()), now)
		s.mu.Unlock()
		if err != nil {
			if errors.Is(err, errReservedInUse) || errors.Is(err, errWrongSubnet) {
				s.log.Warn("dhcp: host not answered", "mac", mac, "host", hostname, "err", err)
			} else {
				s.log.Debug("dhcp: no offer", "mac", mac, "err", err)
			}
			return reply{nil, nil, outNoAddress, nil}
		}
		resp := s.reply(req, dhcpv4.MessageTypeOffer, addrOf(ip).AsSlice(), sub, bd, hostname)
		if host != nil {
			s.noteFirmware(host, bd.Firmware)
			s.event(inventory.Event{HostID: host.ID(), Kind: "dhcp-offer", Detail: bootDetail(addrOf(ip).String(), bd)})
		}
		return reply{resp, s.dest(req, false), outOffer, nil}

	case dhcpv4.MessageTypeRequest:
		sid := req.ServerIdentifier()
		requested := ipv4Of(req.RequestedIPAddress())
		ciaddr := ipv4Of(req.ClientIPAddr)
		var ip uint32
		switch {
		case sid != nil && !sid.IsUnspecified():
			// SELECTING: the client answers an offer.
			if !sid.Equal(s.serverIP.AsSlice()) {
				s.mu.Lock()
				s.alloc.forget(mac, requested)
				s.mu.Unlock()
				return reply{nil, nil, outIgnored, nil}
			}
			ip = requested
		case requested != 0:
			// INIT-REBOOT: silent unless we have a record or it is wrong here.
			if !sub.prefix.Contains(addrOf(requested)) {
				return reply{s.nak(req, "requested address is not on this network"), s.dest(req, true), outNak, nil}
			}
			s.mu.Lock()
			rec := s.alloc.hasRecord(requested, mac) || requested == reservation
			free := s.alloc.free(requested, mac, now)
			s.mu.Unlock()
			if !rec {
				if !free {
					return reply{s.nak(req, "address is in use"), s.dest(req, true), outNak, nil}
				}
				return reply{nil, nil, outIgnored, nil}
			}
			ip = requested
		case ciaddr != 0:
			// RENEWING or REBINDING.
			ip = ciaddr
		default:
			return reply{nil, nil, outIgnored, nil}
		}
		s.mu.Lock()
		ls, err := s.alloc.bind(si, mac, ip, reservation, hostname, now)
		var done chan error
		if err == nil {
			done = s.commit.enqueue(ctx, ls)
		}
		s.mu.Unlock()
		if err != nil {
			s.log.Info("dhcp: NAK", "mac", mac, "err", err)
			return reply{s.nak(req, err.Error()), s.dest(req, true), outNak, nil}
		}
		resp := s.reply(req, dhcpv4.MessageTypeAck, addrOf(ip).AsSlice(), sub, bd, hostname)
		if host != nil {
			s.event(inventory.Event{HostID: host.ID(), Kind: "dhcp-ack", Detail: bootDetail(addrOf(ip).String(), bd)})
		}
		// The ACK leaves only once the lease is on disk (see Server.sender).
		return reply{resp, s.dest(req, false), outAck, done}

	case dhcpv4.MessageTypeRelease:
		s.mu.Lock()
		ls := s.alloc.release(mac, ipv4Of(req.ClientIPAddr), now)
		done := s.commit.enqueue(ctx, ls)
		s.mu.Unlock()
		return reply{nil, nil, outReleased, done}

	case dhcpv4.MessageTypeDecline:
		s.mu.Lock()
		ls := s.alloc.decline(mac, ipv4Of(req.RequestedIPAddress()), declineHold, now)
		done := s.commit.enqueue(ctx, ls)
		s.mu.Unlock()
		if len(ls) > 0 {
			s.log.Warn("dhcp: address declined: another machine uses it", "ip", ls[0].IP, "by", mac)
		}
		return reply{nil, nil, outDeclined, done}

	case dhcpv4.MessageTypeInform:
		if req.ClientIPAddr.IsUnspecified() {
			return reply{nil, nil, outIgnored, nil}
		}
		resp := s.reply(req, dhcpv4.MessageTypeAck, nil, sub, bd, hostname)
		resp.Options.Del(dhcpv4.OptionIPAddressLeaseTime)
		resp.Options.Del(dhcpv4.OptionRenewTimeValue)
		resp.Options.Del(dhcpv4.OptionRebindingTimeValue)
		return reply{resp, s.dest(req, false), outAck, nil}
	}
	return reply{nil, nil, outIgnored, nil}
}

// discoverHost records an unknown MAC as a host in state discovered.
func (s *Server) discoverHost(ctx context.Context, mac, firmware string) (*inventory.Host, error) {
	h := &inventory.Host{
		MACs:     []string{mac},
		Hostname: "host-" + strings.ReplaceAll(mac, ":", ""),
		State:    inventory.StateDiscovered,
		Arch:     firmware,
	}
	if err := s.store.PutHost(ctx, h); err != nil {
		return nil, err
	}
	s.addKnown(h)
	s.event(inventory.Event{HostID: h.ID(), Kind: "discovered", Detail: "first DHCP request, firmware " + firmware})
	return h, nil
}

// subnetFor picks the subnet: the relay's (by giaddr) or the interface's.
func (s *Server) subnetFor(req *dhcpv4.DHCPv4) int {
	if gi := ipv4Of(req.GatewayIPAddr); gi != 0 {
		for i, sub := range s.subnets {
			if sub.prefix.Contains(addrOf(gi)) {
				return i
			}
		}
		return -1
	}
	return s.local
}

// dest is where a reply goes: the relay's port 67, the client's address when
// it has one (renew, inform), or broadcast (the socket has no raw access to
// unicast to a client without an address).
func (s *Server) dest(req *dhcpv4.DHCPv4, nak bool) *net.UDPAddr {
	if !req.GatewayIPAddr.IsUnspecified() && req.GatewayIPAddr != nil {
		return &net.UDPAddr{IP: req.GatewayIPAddr, Port: dhcpv4.ServerPort}
	}
	if !nak && req.ClientIPAddr != nil && !req.ClientIPAddr.IsUnspecified() {
		return &net.UDPAddr{IP: req.ClientIPAddr, Port: dhcpv4.ClientPort}
	}
	return &net.UDPAddr{IP: net.IPv4bcast, Port: dhcpv4.ClientPort}
}

// reply builds a full-mode OFFER or ACK (proxy replies: proxyPacket); sub
// gives the address options.
func (s *Server) reply(req *dhcpv4.DHCPv4, mt dhcpv4.MessageType, yiaddr net.IP, sub *subnet, bd boot.DHCPBoot, hostname string) *dhcpv4.DHCPv4 {
	self := net.IP(s.serverIP.AsSlice())
	mods := []dhcpv4.Modifier{
		dhcpv4.WithMessageType(mt),
		dhcpv4.WithOption(dhcpv4.OptServerIdentifier(self)),
	}
	if yiaddr != nil {
		mods = append(mods, dhcpv4.WithYourIP(yiaddr))
	}
	if sub != nil {
		mods = append(mods,
			dhcpv4.WithNetmask(net.CIDRMask(sub.prefix.Bits(), 32)),
			dhcpv4.WithOption(dhcpv4.OptIPAddressLeaseTime(sub.lease)),
			dhcpv4.WithOption(dhcpv4.OptRenewTimeValue(sub.lease/2)),
			dhcpv4.WithOption(dhcpv4.OptRebindingTimeValue(sub.lease*7/8)),
		)
		if sub.router.IsValid() {
			mods = append(mods, dhcpv4.WithOption(dhcpv4.OptRouter(sub.router.AsSlice())))
		}
		if len(sub.dns) > 0 {
			ips := make([]net.IP, len(sub.dns))
			for i, d := range sub.dns {
				ips[i] = d.AsSlice()
			}
			mods = append(mods, dhcpv4.WithOption(dhcpv4.OptDNS(ips...)))
		}
		if sub.domain != "" {
			mods = append(mods, dhcpv4.WithOption(dhcpv4.OptDomainName(sub.domain)))
		}
		if hostname != "" {
			mods = append(mods, dhcpv4.WithOption(dhcpv4.OptHostName(hostname)))
		}
	}
	if bd.NetBoot {
		if bd.NextServer != "" {
			mods = append(mods, dhcpv4.WithServerIP(self),
				dhcpv4.WithOption(dhcpv4.OptTFTPServerName(bd.NextServer)))
		}
		mods = append(mods, dhcpv4.WithOption(dhcpv4.OptBootFileName(bd.File)))
		if boot.IsNetBootClass(req.ClassIdentifier()) || bd.VendorClass == boot.ClassHTTP {
			mods = append(mods, dhcpv4.WithOption(dhcpv4.OptClassIdentifier(bd.VendorClass)))
		}
		if req.Options.Has(dhcpv4.OptionClientMachineIdentifier) {
			mods = append(mods, dhcpv4.WithOptionCopied(req, dhcpv4.OptionClientMachineIdentifier))
		}
		vendor := bd.PXEVendor
		if len(vendor) > 0 && boot.IsNetBootClass(req.ClassIdentifier()) {
			// PXE discovery control: boot the file named in this offer.
			// Without it EDK II's PXE client takes a full-mode offer for a
			// BINL one and asks port 4011 for its boot file (PXE-E16).
			mods = append(mods, dhcpv4.WithGeneric(dhcpv4.OptionVendorSpecificInformation, vendor))
		}
	}
	resp, err := dhcpv4.NewReplyFromRequest(req, mods...)
	if err != nil { // only fails generating a transaction ID, which a reply copies
		return nil
	}
	if bd.NetBoot {
		resp.BootFileName = bd.File
	}
	return resp
}

func (s *Server) nak(req *dhcpv4.DHCPv4, msg string) *dhcpv4.DHCPv4 {
	resp, err := dhcpv4.NewReplyFromRequest(req,
		dhcpv4.WithMessageType(dhcpv4.MessageTypeNak),
		dhcpv4.WithOption(dhcpv4.OptServerIdentifier(s.serverIP.AsSlice())),
		dhcpv4.WithOption(dhcpv4.OptMessage(msg)),
	)
	if err != nil {
		return nil
	}
	return resp
}

// bootDetail is the detail of a dhcp-offer or dhcp-ack event.
func bootDetail(ip string, bd boot.DHCPBoot) string {
	if bd.LocalBoot {
		return fmt.Sprintf("%s %s local boot: %s (refused, not in build mode)", ip, bd.Firmware, bd.File)
	}
	return fmt.Sprintf("%s %s %s", ip, bd.Firmware, bd.File)
}

// bootRequest extracts the facts boot decides on.
func bootRequest(req *dhcpv4.DHCPv4, mac string) boot.DHCPRequest {
	br := boot.DHCPRequest{MAC: mac, VendorClass: req.ClassIdentifier()}
	if req.Options.Has(dhcpv4.OptionClientSystemArchitectureType) {
		for _, a := range req.ClientArch() {
			br.Arch = append(br.Arch, uint16(a))
		}
	}
	if req.Options.Has(dhcpv4.OptionUserClassInformation) {
		br.UserClass = req.UserClass()
	}
	return br
}
