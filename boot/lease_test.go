package boot

import (
	"net/netip"
	"testing"
)

func TestDecideLease(t *testing.T) {
	a := netip.MustParseAddr
	sub := netip.MustParsePrefix("192.0.2.0/24")
	// base is a known client on the interface's subnet, port 67.
	base := func(m uint8) LeaseFacts {
		return LeaseFacts{Msg: m, ServerPort: true, Served: true, Subnet: sub, Known: true, Unknown: UnknownIgnore, MaxOffers: 2, RateAllows: true}
	}
	with := func(f LeaseFacts, fn func(*LeaseFacts)) LeaseFacts { fn(&f); return f }
	tests := []struct {
		name string
		f    LeaseFacts
		want LeaseDecision
	}{
		// Where packets come from.
		{"port 4011 in full mode is ignored", with(base(MsgDiscover), func(f *LeaseFacts) { f.ServerPort = false }),
			LeaseDecision{Action: ActIgnore, Reason: "not on port 67"}},
		{"giaddr from a source not in dhcp.relays is ignored", with(base(MsgDiscover), func(f *LeaseFacts) { f.Relayed = true }),
			LeaseDecision{Action: ActIgnore, Reason: "giaddr set but not sent unicast by a relay in dhcp.relays"}},
		{"trusted relay's DISCOVER is offered via the relay", with(base(MsgDiscover), func(f *LeaseFacts) { f.Relayed, f.TrustedRelay = true, true }),
			LeaseDecision{Action: ActOffer, Dest: DestRelay}},
		{"no subnet serves the client", with(base(MsgDiscover), func(f *LeaseFacts) { f.Served = false }),
			LeaseDecision{Action: ActIgnore, Reason: "no configured subnet serves this client"}},
		{"unknown MAC with policy ignore", with(base(MsgDiscover), func(f *LeaseFacts) { f.Known = false }),
			LeaseDecision{Action: ActIgnore, Reason: "MAC not in the inventory (dhcp.unknown: ignore)"}},
		{"unknown MAC with policy discover is recorded and offered, using the rate", with(base(MsgDiscover), func(f *LeaseFacts) { f.Known, f.Unknown, f.DiscoverHere = false, UnknownDiscover, true }),
			LeaseDecision{Action: ActOffer, Discover: true, NewOffer: true}},
		{"unknown MAC with policy discover on an interface or subnet dhcp.discover does not name gets silence", with(base(MsgDiscover), func(f *LeaseFacts) { f.Known, f.Unknown = false, UnknownDiscover }),
			LeaseDecision{Action: ActIgnore, Reason: "unknown MAC on an interface or subnet dhcp.discover does not name"}},
		{"unknown MAC with policy discover over the new-offer bound is neither recorded nor offered", with(base(MsgDiscover), func(f *LeaseFacts) {
			f.Known, f.Unknown, f.DiscoverHere, f.RateAllows = false, UnknownDiscover, true, false
		}), LeaseDecision{Action: ActIgnore, Reason: "new-offer bound of this interface or relay reached (dhcp.offer_rate)"}},
		{"discovered MAC's SELECTING is ACKed and its address recorded", with(base(MsgRequest), func(f *LeaseFacts) {
			f.Known, f.Unknown, f.DiscoverHere, f.ServerID, f.Requested, f.Offered = false, UnknownDiscover, true, ServerIDOurs, a("192.0.2.120"), a("192.0.2.120")
		}), LeaseDecision{Action: ActAck, Addr: a("192.0.2.120"), Discover: true}},
		{"discovered MAC's renewal is ACKed and recorded", with(base(MsgRequest), func(f *LeaseFacts) {
			f.Known, f.Unknown, f.DiscoverHere, f.CIAddr, f.Bound = false, UnknownDiscover, true, a("192.0.2.120"), a("192.0.2.120")
		}), LeaseDecision{Action: ActAck, Addr: a("192.0.2.120"), Dest: DestClient, Discover: true}},
		{"known host in discover mode is not recorded", with(base(MsgDiscover), func(f *LeaseFacts) { f.Unknown, f.DiscoverHere = UnknownDiscover, true }),
			LeaseDecision{Action: ActOffer}},
		{"known host in discover mode on a subnet dhcp.discover does not name is served", with(base(MsgDiscover), func(f *LeaseFacts) { f.Unknown = UnknownDiscover }),
			LeaseDecision{Action: ActOffer}},

		// DISCOVER: one offer per client.
		{"known client is offered an address the allocator picks", base(MsgDiscover),
			LeaseDecision{Action: ActOffer}},
		{"repeated DISCOVER gets the held offer again", with(base(MsgDiscover), func(f *LeaseFacts) {
			f.Known, f.Unknown, f.Offered, f.OfferHeld, f.RateAllows = false, UnknownPool, a("192.0.2.120"), true, false
		}), LeaseDecision{Action: ActOffer, Addr: a("192.0.2.120")}},
		{"a lapsed offer is not simply repeated", with(base(MsgDiscover), func(f *LeaseFacts) { f.Offered = a("192.0.2.120") }),
			LeaseDecision{Action: ActOffer}},
		{"held offer of another address than a new reservation is replaced", with(base(MsgDiscover), func(f *LeaseFacts) {
			f.Offered, f.OfferHeld, f.Reservation = a("192.0.2.120"), true, a("192.0.2.40")
		}), LeaseDecision{Action: ActOffer}},
		{"unknown MAC over the interface's new-offer bound gets silence", with(base(MsgDiscover), func(f *LeaseFacts) { f.Known, f.Unknown, f.RateAllows = false, UnknownPool, false }),
			LeaseDecision{Action: ActIgnore, Reason: "new-offer bound of this interface or relay reached (dhcp.offer_rate)"}},
		{"unknown MAC with a lease is not counted against the bound", with(base(MsgDiscover), func(f *LeaseFacts) {
			f.Known, f.Unknown, f.RateAllows, f.Bound = false, UnknownPool, false, a("192.0.2.130")
		}), LeaseDecision{Action: ActOffer}},
		{"known host is not counted against the bound", with(base(MsgDiscover), func(f *LeaseFacts) { f.RateAllows = false }),
			LeaseDecision{Action: ActOffer}},
		{"MAC holding the most offers elsewhere gets silence", with(base(MsgDiscover), func(f *LeaseFacts) { f.OffersHeld = 2 }),
			LeaseDecision{Action: ActIgnore, Reason: "client already holds 2 offers in other subnets"}},

		// SELECTING.
		{"SELECTING the offered address is ACKed", with(base(MsgRequest), func(f *LeaseFacts) {
			f.ServerID, f.Requested, f.Offered = ServerIDOurs, a("192.0.2.120"), a("192.0.2.120")
		}), LeaseDecision{Action: ActAck, Addr: a("192.0.2.120")}},
		{"SELECTING the client's own lease is ACKed", with(base(MsgRequest), func(f *LeaseFacts) {
			f.ServerID, f.Requested, f.Bound = ServerIDOurs, a("192.0.2.130"), a("192.0.2.130")
		}), LeaseDecision{Action: ActAck, Addr: a("192.0.2.130")}},
		{"SELECTING an address not offered is NAKed and moves nothing", with(base(MsgRequest), func(f *LeaseFacts) {
			f.ServerID, f.Requested, f.Offered, f.Bound = ServerIDOurs, a("192.0.2.199"), a("192.0.2.120"), a("192.0.2.130")
		}), LeaseDecision{Action: ActNak, Reason: "192.0.2.199 was not offered to this client"}},
		{"SELECTING without option 50 is NAKed", with(base(MsgRequest), func(f *LeaseFacts) { f.ServerID = ServerIDOurs }),
			LeaseDecision{Action: ActNak, Reason: "SELECTING REQUEST without a requested address (option 50)"}},
		{"REQUEST naming another server frees the offer in silence", with(base(MsgRequest), func(f *LeaseFacts) {
			f.ServerID, f.Requested, f.Offered, f.OfferHeld = ServerIDOther, a("192.0.2.120"), a("192.0.2.120"), true
		}), LeaseDecision{Action: ActForget, Reason: "client chose another server's offer"}},

		// INIT-REBOOT (RFC 2131 4.3.2).
		{"INIT-REBOOT with the client's binding is ACKed", with(base(MsgRequest), func(f *LeaseFacts) {
			f.Requested, f.Bound = a("192.0.2.130"), a("192.0.2.130")
		}), LeaseDecision{Action: ActAck, Addr: a("192.0.2.130")}},
		{"INIT-REBOOT with a wrong address for a known binding is NAKed", with(base(MsgRequest), func(f *LeaseFacts) {
			f.Requested, f.Bound = a("192.0.2.150"), a("192.0.2.130")
		}), LeaseDecision{Action: ActNak, Reason: "this client's address here is 192.0.2.130"}},
		{"INIT-REBOOT with another address than the reservation is NAKed", with(base(MsgRequest), func(f *LeaseFacts) {
			f.Requested, f.Reservation = a("192.0.2.150"), a("192.0.2.40")
		}), LeaseDecision{Action: ActNak, Reason: "this client's address here is 192.0.2.40"}},
		{"INIT-REBOOT from a client with no record is silent", with(base(MsgRequest), func(f *LeaseFacts) { f.Requested = a("192.0.2.150") }),
			LeaseDecision{Action: ActIgnore, Reason: "INIT-REBOOT from a client with no record here (RFC 2131 4.3.2: silence)"}},
		{"INIT-REBOOT with an expired record of the client is ACKed", with(base(MsgRequest), func(f *LeaseFacts) {
			f.Requested, f.RecordRequested = a("192.0.2.150"), true
		}), LeaseDecision{Action: ActAck, Addr: a("192.0.2.150")}},
		{"INIT-REBOOT on the wrong network is NAKed", with(base(MsgRequest), func(f *LeaseFacts) { f.Requested = a("10.1.2.3") }),
			LeaseDecision{Action: ActNak, Reason: "requested address is not on this network"}},

		// RENEWING and REBINDING.
		{"renewal of the client's lease is ACKed to ciaddr", with(base(MsgRequest), func(f *LeaseFacts) {
			f.CIAddr, f.Bound = a("192.0.2.130"), a("192.0.2.130")
		}), LeaseDecision{Action: ActAck, Addr: a("192.0.2.130"), Dest: DestClient}},
		{"relayed renewal is ACKed to the relay", with(base(MsgRequest), func(f *LeaseFacts) {
			f.CIAddr, f.Bound, f.Relayed, f.TrustedRelay = a("192.0.2.130"), a("192.0.2.130"), true, true
		}), LeaseDecision{Action: ActAck, Addr: a("192.0.2.130"), Dest: DestRelay}},
		{"renewal of another address than the client's is NAKed by broadcast", with(base(MsgRequest), func(f *LeaseFacts) {
			f.CIAddr, f.Bound = a("192.0.2.131"), a("192.0.2.130")
		}), LeaseDecision{Action: ActNak, Reason: "this client's address here is 192.0.2.130"}},
		{"renewal of an address another client holds is NAKed", with(base(MsgRequest), func(f *LeaseFacts) {
			f.CIAddr, f.CIAddrTaken = a("192.0.2.131"), true
		}), LeaseDecision{Action: ActNak, Reason: "address is held by another client"}},
		{"renewal of a free address with no record is silent (no lease moves)", with(base(MsgRequest), func(f *LeaseFacts) { f.CIAddr = a("192.0.2.131") }),
			LeaseDecision{Action: ActIgnore, Reason: "renewal from a client with no record of ciaddr"}},
		{"REQUEST with no address at all is ignored", base(MsgRequest),
			LeaseDecision{Action: ActIgnore, Reason: "REQUEST names no address"}},

		// RELEASE, DECLINE, INFORM.
		{"RELEASE of the client's lease, sent from it", with(base(MsgRelease), func(f *LeaseFacts) {
			f.CIAddr, f.Bound, f.FromCIAddr = a("192.0.2.130"), a("192.0.2.130"), true
		}), LeaseDecision{Action: ActRelease, Addr: a("192.0.2.130")}},
		{"relayed RELEASE of the client's lease", with(base(MsgRelease), func(f *LeaseFacts) {
			f.CIAddr, f.Bound, f.Relayed, f.TrustedRelay = a("192.0.2.130"), a("192.0.2.130"), true, true
		}), LeaseDecision{Action: ActRelease, Addr: a("192.0.2.130")}},
		{"RELEASE of the client's lease from another source address is ignored", with(base(MsgRelease), func(f *LeaseFacts) {
			f.CIAddr, f.Bound = a("192.0.2.130"), a("192.0.2.130")
		}), LeaseDecision{Action: ActIgnore, Reason: "RELEASE not sent from the address it releases"}},
		{"RELEASE of another address is ignored", with(base(MsgRelease), func(f *LeaseFacts) { f.CIAddr = a("192.0.2.131") }),
			LeaseDecision{Action: ActIgnore, Reason: "RELEASE of an address the client does not hold"}},
		{"DECLINE of the client's lease is honoured", with(base(MsgDecline), func(f *LeaseFacts) { f.Requested, f.Bound = a("192.0.2.130"), a("192.0.2.130") }),
			LeaseDecision{Action: ActDecline, Addr: a("192.0.2.130")}},
		{"DECLINE of an address the client does not hold is ignored", with(base(MsgDecline), func(f *LeaseFacts) {
			f.Requested, f.Bound, f.Reservation = a("192.0.2.40"), a("192.0.2.130"), a("192.0.2.40")
		}), LeaseDecision{Action: ActIgnore, Reason: "DECLINE of an address the client does not hold"}},
		{"INFORM from inside the subnet is answered at ciaddr", with(base(MsgInform), func(f *LeaseFacts) { f.CIAddr = a("192.0.2.60") }),
			LeaseDecision{Action: ActInform, Addr: a("192.0.2.60"), Dest: DestClient}},
		{"INFORM naming a ciaddr outside the subnet is ignored (no reflection)", with(base(MsgInform), func(f *LeaseFacts) { f.CIAddr = a("203.0.113.9") }),
			LeaseDecision{Action: ActIgnore, Reason: "INFORM from a ciaddr outside the serving subnet (no reflection)"}},
		{"INFORM without ciaddr is ignored", base(MsgInform),
			LeaseDecision{Action: ActIgnore, Reason: "INFORM without ciaddr"}},
		{"other message types are ignored", base(MsgAck),
			LeaseDecision{Action: ActIgnore, Reason: "message type not served"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := DecideLease(tc.f); got != tc.want {
				t.Errorf("DecideLease(%+v)\n got %+v\nwant %+v", tc.f, got, tc.want)
			}
		})
	}
}
