package dhcp

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
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
	// lost is sent instead of resp when a shared store's claim lost (a
	// NAK: another server gave the address); down when the store failed
	// (an ACK up to the expiry already stored, an offer of the client's own
	// lease). Nil: no answer then.
	lost, down *dhcpv4.DHCPv4
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
	r := s.decide(ctx, req, origin{peer: peer, port: port})
	if r.commit != nil {
		select {
		case err = <-r.commit:
		case <-ctx.Done():
			err = ctx.Err()
		}
		var ok bool
		if r, ok = s.committed(req, r, err); !ok {
			return nil, nil
		}
	}
	s.Metrics.count(typeOf(req), r.out)
	return r.resp, r.dst
}

// committed returns the reply to send after r's commit ended with err, and
// false when nothing is sent.
func (s *Server) committed(req *dhcpv4.DHCPv4, r reply, err error) (reply, bool) {
	if err == nil {
		return r, true
	}
	mac := req.ClientHWAddr.String()
	if errors.Is(err, errClaimLost) {
		if r.lost != nil {
			s.log.Info("dhcp: NAK", "mac", mac, "err", err)
			return reply{resp: r.lost, dst: r.dst, out: outNak}, true
		}
		s.log.Debug("dhcp: no offer: another server took the address", "mac", mac, "err", err)
		s.Metrics.count(typeOf(req), outNoAddress)
		return r, false
	}
	if r.down != nil && s.shared != nil {
		s.log.Warn("dhcp: lease store unreachable; answered from the lease already stored", "mac", mac, "type", req.MessageType().String(), "err", err)
		return reply{resp: r.down, dst: r.dst, out: r.out}, true
	}
	s.Metrics.count(typeOf(req), outError)
	s.log.Error("dhcp: lease change not saved; no reply sent", "mac", mac, "type", req.MessageType().String(), "err", err)
	return r, false
}

// origin is where a packet came from.
type origin struct {
	peer *net.UDPAddr
	port int
	// broadcast is true when the packet was sent to a broadcast address.
	broadcast bool
}

func (s *Server) decide(ctx context.Context, req *dhcpv4.DHCPv4, from origin) reply {
	defer s.Metrics.decided(time.Now())
	mac := req.ClientHWAddr.String()
	host, prof := s.lookup(mac)
	breq := bootRequest(req, mac)
	bd := boot.DecideDHCP(breq, host, prof, boot.DHCPServer{IP: s.serverIP.String(), HTTPPort: s.httpPort, PublicURL: s.publicURL})

	if s.cfg.Mode == ModeProxy {
		return s.decideProxy(ctx, req, from.peer, from.port, host, bd)
	}
	return s.full(ctx, req, from, mac, host, bd)
}

// full answers a request in full mode: it gathers the facts under the
// allocator lock, lets boot.DecideLease decide, and applies the decision.
func (s *Server) full(ctx context.Context, req *dhcpv4.DHCPv4, from origin, mac string, host *inventory.Host, bd boot.DHCPBoot) reply {
	si := s.subnetFor(req)
	now := time.Now()
	s.mu.Lock()
	if s.shared != nil {
		s.applyFixes()
	}
	f := s.facts(req, from, si, mac, host, now)
	d := boot.DecideLease(f)
	if d.NewOffer {
		s.rates.take(s.ingress(req, from), now)
	}
	ap := s.applyLocked(ctx, d, si, mac, host, f.Reservation, now)
	s.mu.Unlock()
	if d.Discover {
		// Seen, even when the pools are full; the address once it is bound.
		var addr netip.Addr
		if d.Action == boot.ActAck && ap.err == nil {
			addr = addrOf(ap.ip)
		}
		s.sight(sightingOf(req, mac, bd.Firmware, addr, now))
	}
	return s.answer(req, d, ap, si, mac, host, bd, from)
}

// facts reads what boot.DecideLease needs. Call it under s.mu.
func (s *Server) facts(req *dhcpv4.DHCPv4, from origin, si int, mac string, host *inventory.Host, now time.Time) boot.LeaseFacts {
	f := boot.LeaseFacts{
		Msg:        uint8(req.MessageType()),
		ServerPort: from.port == dhcpv4.ServerPort,
		Relayed:    ipv4Of(req.GatewayIPAddr) != 0,
		Known:      host != nil,
		Unknown:    s.cfg.Unknown,
		Requested:  optAddr(req.RequestedIPAddress()),
		CIAddr:     optAddr(req.ClientIPAddr),
		MaxOffers:  maxOffersPerMAC,
	}
	f.TrustedRelay = f.Relayed && !from.broadcast && from.peer != nil && s.trustedRelay(from.peer.IP)
	f.FromCIAddr = f.CIAddr.IsValid() && from.peer != nil && from.peer.IP.Equal(req.ClientIPAddr)
	if sid := req.ServerIdentifier(); sid != nil && !sid.IsUnspecified() {
		f.ServerID = boot.ServerIDOther
		if sid.Equal(s.serverIP.AsSlice()) {
			f.ServerID = boot.ServerIDOurs
		}
	}
	if host != nil {
		if r, ok := parseIPv4(host.IP); ok {
			f.Reservation = addrOf(r)
		}
	}
	if si < 0 {
		return f
	}
	f.Served, f.Subnet = true, s.subnets[si].prefix
	f.DiscoverHere = s.discoverHere(si)
	a := s.alloc
	if ip, ok := a.bound(si, mac, now); ok {
		f.Bound = addrOf(ip)
	}
	if ip, held, ok := a.offered(si, mac, now); ok {
		f.Offered, f.OfferHeld = addrOf(ip), held
	}
	if f.Requested.IsValid() {
		f.RecordRequested = a.hasRecord(u32(f.Requested), mac)
	}
	if f.CIAddr.IsValid() {
		ci := u32(f.CIAddr)
		f.RecordCIAddr = a.hasRecord(ci, mac)
		f.CIAddrTaken = !a.free(ci, mac, now)
	}
	if f.Msg == boot.MsgDiscover {
		f.OffersHeld = a.heldOffers(si, mac, now)
		// Untrusted relays never reach the buckets: their keys stay few.
		if host == nil && (!f.Relayed || f.TrustedRelay) {
			f.RateAllows = s.rates.allows(s.ingress(req, from), now)
		}
	}
	return f
}

// applied is what applying a decision to the allocator yielded.
type applied struct {
	ip     uint32
	err    error
	commit chan error
	leases []inventory.Lease
	// left is the time left on a lease given again unchanged (0: a new lease).
	left time.Duration
	// suspect is true for a DECLINE of a reservation kept until a probe confirms it.
	suspect bool
	// downLeft is the time left on the client's stored lease of ip when the
	// shared store cannot take the write: the ACK then says only that.
	// downOffer is true for an offer of the client's own bound lease,
	// which may go out without the store.
	downLeft  time.Duration
	downOffer bool
}

// applyLocked makes the allocator change a decision asks for and queues
// its lease writes. Call it under s.mu (the commit queue keeps its order).
func (s *Server) applyLocked(ctx context.Context, d boot.LeaseDecision, si int, mac string, host *inventory.Host, res netip.Addr, now time.Time) applied {
	var reservation uint32
	if res.IsValid() {
		reservation = u32(res)
	}
	hostname := ""
	if host != nil {
		hostname = host.Hostname
	}
	var ap applied
	switch d.Action {
	case boot.ActOffer:
		if d.Addr.IsValid() {
			ap.ip, ap.err = s.alloc.offerAgain(si, mac, u32(d.Addr), reservation, now)
		} else {
			ap.ip, ap.err = s.alloc.offer(si, mac, reservation, 0, now)
		}
		if ap.err == nil && s.shared != nil {
			// The offer holds the address in the shared store too, so the
			// other servers offer and give other addresses.
			own, ok := s.alloc.bound(si, mac, now)
			ap.downOffer = ok && own == ap.ip
			ap.commit = s.commit.claims(ctx, []inventory.LeaseClaim{{
				Lease: inventory.Lease{IP: addrOf(ap.ip).String(), MAC: mac, State: inventory.LeaseOffered,
					Expires: now.Add(offerHold), Hostname: s.offerTag, Updated: now},
				By: mac, Rule: inventory.ClaimOffer}}, undoOffer(mac, ap.ip))
		}
	case boot.ActAck:
		ap.ip = u32(d.Addr)
		if left, ok := s.alloc.reuse(si, mac, ap.ip, reservation, hostname, now); ok {
			// Nothing to write, but the ACK still waits for the writes
			// queued before it (the lease it repeats may be one of them).
			ap.left = left
			ap.commit = s.commit.barrier(ctx)
			break
		}
		if s.shared == nil {
			ap.leases, ap.err = s.alloc.bind(si, mac, ap.ip, reservation, hostname, now)
			if ap.err == nil {
				ap.commit = s.commit.enqueue(ctx, mac, ap.leases)
			}
			break
		}
		prev := s.alloc.lease(ap.ip)
		ap.downLeft = storedLeft(prev, mac, s.subnets[si].lease, now)
		undo := s.alloc.undoBind(si, mac, ap.ip)
		ap.leases, ap.err = s.alloc.bind(si, mac, ap.ip, reservation, hostname, now)
		if ap.err == nil {
			ap.commit = s.commit.claims(ctx, claimsOf(mac, ap.leases), undo)
		}
	case boot.ActForget:
		if ip, _, ok := s.alloc.offered(si, mac, now); ok && s.shared != nil {
			// Free this server's offer in the shared store (only if it is
			// still this server's offer to this client); nobody waits.
			s.commit.claims(ctx, []inventory.LeaseClaim{{
				Lease: inventory.Lease{IP: addrOf(ip).String(), MAC: mac, State: inventory.LeaseReleased,
					Expires: now, Hostname: s.offerTag, Updated: now},
				By: mac, Rule: inventory.ClaimOwnOffer}}, nil)
		}
		s.alloc.forget(si, mac)
	case boot.ActRelease:
		ap.ip = u32(d.Addr)
		ap.leases = s.alloc.release(mac, ap.ip, now)
		ap.commit = s.commit.enqueue(ctx, mac, ap.leases)
	case boot.ActDecline:
		ap.ip = u32(d.Addr)
		if ap.ip == reservation && s.probeable(ap.ip) {
			// A reservation is probed before it is taken out: a DECLINE
			// nobody else's answer confirms changes nothing.
			ap.suspect = true
			s.probeLater(ap.ip, mac, host, nil, false, now)
			ap.commit = s.commit.enqueue(ctx, mac, nil)
			break
		}
		prev := s.alloc.lease(ap.ip)
		ap.leases = s.alloc.decline(mac, ap.ip, declineHold, now)
		ap.commit = s.commit.enqueue(ctx, mac, ap.leases)
		if len(ap.leases) > 0 && ap.ip == reservation {
			s.probeLater(ap.ip, mac, host, prev, true, now)
		}
	}
	return ap
}

// answer builds the reply of an applied decision and records its events.
func (s *Server) answer(req *dhcpv4.DHCPv4, d boot.LeaseDecision, ap applied, si int, mac string, host *inventory.Host, bd boot.DHCPBoot, from origin) reply {
	hostname := ""
	if host != nil {
		hostname = host.Hostname
	}
	switch d.Action {
	case boot.ActOffer:
		if ap.err != nil {
			if errors.Is(ap.err, errReservedInUse) || errors.Is(ap.err, errWrongSubnet) || errors.Is(ap.err, errReservedDeclined) {
				s.log.Warn("dhcp: host not answered", "mac", mac, "host", hostname, "err", ap.err)
			} else {
				s.log.Debug("dhcp: no offer", "mac", mac, "err", ap.err)
			}
			return reply{nil, nil, outNoAddress, nil, nil, nil}
		}
		resp := s.reply(req, dhcpv4.MessageTypeOffer, addrOf(ap.ip).AsSlice(), s.subnets[si], bd, hostname)
		if host != nil {
			s.noteFirmware(host, bd.Firmware)
			s.event(inventory.Event{HostID: host.ID(), Kind: "dhcp-offer", Detail: bootDetail(addrOf(ap.ip).String(), bd)})
		}
		r := reply{resp: resp, dst: s.destOf(req, d.Dest), out: outOffer, commit: ap.commit}
		if ap.downOffer {
			r.down = resp
		}
		return r
	case boot.ActAck:
		if ap.err != nil {
			s.log.Info("dhcp: NAK", "mac", mac, "err", ap.err)
			return reply{s.nak(req, ap.err.Error()), s.destOf(req, nakDest(d.Dest)), outNak, nil, nil, nil}
		}
		resp := s.reply(req, dhcpv4.MessageTypeAck, addrOf(ap.ip).AsSlice(), s.subnets[si], bd, hostname)
		if ap.left > 0 {
			resp.UpdateOption(dhcpv4.OptIPAddressLeaseTime(ap.left))
			resp.UpdateOption(dhcpv4.OptRenewTimeValue(ap.left / 2))
			resp.UpdateOption(dhcpv4.OptRebindingTimeValue(ap.left * 7 / 8))
		}
		if host != nil {
			s.event(inventory.Event{HostID: host.ID(), Kind: "dhcp-ack", Detail: bootDetail(addrOf(ap.ip).String(), bd)})
		}
		// The ACK leaves only once the lease is on disk (see Server.sender).
		r := reply{resp: resp, dst: s.destOf(req, d.Dest), out: outAck, commit: ap.commit}
		if s.shared != nil {
			r.lost = s.nak(req, errAddrTaken.Error())
			if ap.downLeft > 0 {
				r.down = s.reply(req, dhcpv4.MessageTypeAck, addrOf(ap.ip).AsSlice(), s.subnets[si], bd, hostname)
				r.down.UpdateOption(dhcpv4.OptIPAddressLeaseTime(ap.downLeft))
				r.down.UpdateOption(dhcpv4.OptRenewTimeValue(ap.downLeft / 2))
				r.down.UpdateOption(dhcpv4.OptRebindingTimeValue(ap.downLeft * 7 / 8))
			}
		}
		return r
	case boot.ActNak:
		s.log.Info("dhcp: NAK", "mac", mac, "err", d.Reason)
		return reply{s.nak(req, d.Reason), s.destOf(req, d.Dest), outNak, nil, nil, nil}
	case boot.ActRelease:
		return reply{nil, nil, outReleased, ap.commit, nil, nil}
	case boot.ActDecline:
		if len(ap.leases) > 0 || ap.suspect {
			args := []any{"ip", addrOf(ap.ip).String(), "mac", mac}
			then := "kept out of the pools"
			if ap.suspect {
				then = "kept until a probe confirms it"
			}
			if host != nil {
				args = append(args, "host", host.ID())
				s.event(inventory.Event{HostID: host.ID(), Kind: "dhcp-decline",
					Detail: fmt.Sprintf("%s declined by this MAC (it says another machine answers for it): %s", addrOf(ap.ip), then)})
			}
			s.log.Warn("dhcp: client declined its address, saying another machine answers for it; "+then, args...)
		}
		return reply{nil, nil, outDeclined, ap.commit, nil, nil}
	case boot.ActInform:
		resp := s.reply(req, dhcpv4.MessageTypeAck, nil, s.subnets[si], bd, hostname)
		resp.Options.Del(dhcpv4.OptionIPAddressLeaseTime)
		resp.Options.Del(dhcpv4.OptionRenewTimeValue)
		resp.Options.Del(dhcpv4.OptionRebindingTimeValue)
		return reply{resp, s.destOf(req, d.Dest), outAck, nil, nil, nil}
	}
	if d.Reason != "" {
		s.log.Debug("dhcp: no answer", "mac", mac, "type", req.MessageType().String(), "why", d.Reason)
	}
	return reply{nil, nil, outIgnored, nil, nil, nil}
}

// storedLeft is the whole seconds left on prev, the stored lease of the
// address a client asks to renew, when it is that client's bound lease:
// what a server that cannot write may ACK (never more than is stored).
func storedLeft(prev *inventory.Lease, mac string, leaseTime time.Duration, now time.Time) time.Duration {
	if prev == nil || prev.MAC != mac || prev.State != inventory.LeaseBound {
		return 0
	}
	left := prev.Expires.Sub(now).Truncate(time.Second)
	if left < time.Second {
		return 0
	}
	return min(left, leaseTime)
}

// nakDest is where a NAK goes instead of a reply meant for dest: never to
// ciaddr (the client may not hold it).
func nakDest(d boot.Dest) boot.Dest {
	if d == boot.DestClient {
		return boot.DestBroadcast
	}
	return d
}

// destOf turns a decided destination into an address.
func (s *Server) destOf(req *dhcpv4.DHCPv4, d boot.Dest) *net.UDPAddr {
	switch d {
	case boot.DestRelay:
		return &net.UDPAddr{IP: req.GatewayIPAddr, Port: dhcpv4.ServerPort}
	case boot.DestClient:
		return &net.UDPAddr{IP: req.ClientIPAddr, Port: dhcpv4.ClientPort}
	}
	return &net.UDPAddr{IP: net.IPv4bcast, Port: dhcpv4.ClientPort}
}

// optAddr is ip as an address, the zero Addr when absent or 0.0.0.0.
func optAddr(ip net.IP) netip.Addr {
	if v := ipv4Of(ip); v != 0 {
		return addrOf(v)
	}
	return netip.Addr{}
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
