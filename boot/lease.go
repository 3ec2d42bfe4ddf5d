package boot

import (
	"fmt"
	"net/netip"
)

// DHCP message types (option 53) full mode decides on besides those of
// the proxyDHCP decision.
const (
	MsgDecline uint8 = 4
	MsgRelease uint8 = 7
)

// ServerID says whom option 54 of a request names.
type ServerID int

// What option 54 names.
const (
	ServerIDNone  ServerID = iota // absent: INIT-REBOOT, RENEWING, REBINDING
	ServerIDOurs                  // this server: SELECTING our offer
	ServerIDOther                 // another server: the client took its offer
)

// Unknown-MAC policies (the server's dhcp.unknown setting).
const (
	UnknownIgnore   = "ignore"
	UnknownPool     = "pool"
	UnknownDiscover = "discover"
)

// LeaseFacts are what a full-mode DHCP server knows when a request arrives:
// what the packet says, where it came from, and the server's records of
// this client in the subnet that serves it. Addresses are the zero Addr when
// absent. The server gathers them under its allocator lock.
type LeaseFacts struct {
	// Msg is option 53 (MsgDiscover, …).
	Msg uint8
	// ServerPort is true for packets that arrived on port 67.
	ServerPort bool
	// Relayed is true when giaddr is set; TrustedRelay when the packet also
	// came unicast from an address in dhcp.relays.
	Relayed, TrustedRelay bool
	// Served is true when a configured subnet serves the client (the relay's
	// by giaddr, or the interface's); Subnet is that subnet.
	Served bool
	Subnet netip.Prefix
	// Known is true when the inventory has a host with this MAC; Unknown is
	// the policy for MACs it does not have (UnknownIgnore, …).
	Known   bool
	Unknown string
	// DiscoverHere is true when dhcp.discover names the interface and the
	// subnet this request arrived on: only there does policy discover
	// answer unknown MACs.
	DiscoverHere bool
	// ServerID is what option 54 names; Requested is option 50; CIAddr the
	// ciaddr field.
	ServerID  ServerID
	Requested netip.Addr
	CIAddr    netip.Addr
	// Reservation is the host's reserved address.
	Reservation netip.Addr
	// Bound is the client's active lease in Subnet.
	Bound netip.Addr
	// Offered is the last address offered to the client in Subnet (its hold
	// may have lapsed); OfferHeld is true while the hold lasts.
	Offered   netip.Addr
	OfferHeld bool
	// RecordRequested and RecordCIAddr are true when a lease record of this
	// client (bound, expired or released) exists on Requested or CIAddr.
	RecordRequested, RecordCIAddr bool
	// CIAddrTaken is true when another client holds CIAddr.
	CIAddrTaken bool
	// FromCIAddr is true when the packet's source address is CIAddr (a
	// client that holds an address sends from it).
	FromCIAddr bool
	// OffersHeld counts the client's offers still held in other subnets;
	// MaxOffers bounds them.
	OffersHeld, MaxOffers int
	// RateAllows is false when the ingress (the interface, or the relay)
	// has used up its bound of new offers to unknown MACs.
	RateAllows bool
}

// LeaseAction is what the server does with a request.
type LeaseAction int

// Actions. Every one but ActIgnore and ActForget may change the lease store.
const (
	ActIgnore  LeaseAction = iota // no answer
	ActOffer                      // OFFER: Addr when set, else an address the allocator picks
	ActAck                        // bind Addr, ACK once the lease is durable
	ActNak                        // NAK with Reason
	ActForget                     // drop the client's offer in the subnet, no answer
	ActRelease                    // end the client's lease on Addr, no answer
	ActDecline                    // mark Addr declined, no answer
	ActInform                     // ACK with options and no address
)

var actionNames = [...]string{"ignore", "offer", "ack", "nak", "forget", "release", "decline", "inform"}

func (a LeaseAction) String() string {
	if int(a) < len(actionNames) {
		return actionNames[a]
	}
	return fmt.Sprintf("action(%d)", int(a))
}

// Dest is where a reply goes.
type Dest int

// Destinations.
const (
	DestBroadcast Dest = iota // 255.255.255.255:68 on the interface
	DestRelay                 // giaddr:67 (trusted relays only)
	DestClient                // ciaddr:68 (RENEWING ACK, INFORM inside a served subnet)
)

// LeaseDecision is the server's answer to one full-mode request.
type LeaseDecision struct {
	Action LeaseAction
	// Addr is the address the action is about (zero for an OFFER the
	// allocator picks).
	Addr netip.Addr
	Dest Dest
	// Discover is true when the unknown MAC's sighting is recorded in the
	// discovered table: before its OFFER, and with the address of its ACK.
	Discover bool
	// NewOffer is true when the offer uses one of the ingress's new-offer
	// budget (an unknown MAC with no lease nor held offer).
	NewOffer bool
	// Reason says why: the NAK's message, or the log of a silence.
	Reason string
}

// DecideLease is full mode's answer to a request (RFC 2131 §4.3), given the
// facts the server gathered. It is pure: the server applies the decision
// (allocator, store, events, reply).
func DecideLease(f LeaseFacts) LeaseDecision {
	ignore := func(why string) LeaseDecision { return LeaseDecision{Action: ActIgnore, Reason: why} }
	if !f.ServerPort {
		return ignore("not on port 67")
	}
	if f.Relayed && !f.TrustedRelay {
		return ignore("giaddr set but not sent unicast by a relay in dhcp.relays")
	}
	if !f.Served {
		return ignore("no configured subnet serves this client")
	}
	discover := false
	if !f.Known {
		switch f.Unknown {
		case UnknownPool:
		case UnknownDiscover:
			if !f.DiscoverHere {
				return ignore("unknown MAC on an interface or subnet dhcp.discover does not name")
			}
			discover = true
		default:
			return ignore("MAC not in the inventory (dhcp.unknown: ignore)")
		}
	}
	dest := DestBroadcast
	if f.Relayed {
		dest = DestRelay
	}
	nak := func(why string) LeaseDecision { return LeaseDecision{Action: ActNak, Dest: dest, Reason: why} }
	ack := func(a netip.Addr, d Dest) LeaseDecision {
		return LeaseDecision{Action: ActAck, Addr: a, Dest: d, Discover: discover}
	}
	// own is the address the server gives this client: its reservation,
	// else its active lease.
	own := f.Reservation
	if !own.IsValid() {
		own = f.Bound
	}

	switch f.Msg {
	case MsgDiscover:
		d := LeaseDecision{Action: ActOffer, Dest: dest, Discover: discover}
		if f.OfferHeld && (!f.Reservation.IsValid() || f.Offered == f.Reservation) {
			// The same address for as long as the offer is held, however
			// often the client asks.
			d.Addr = f.Offered
			return d
		}
		if f.OffersHeld >= f.MaxOffers {
			return ignore(fmt.Sprintf("client already holds %d offers in other subnets", f.OffersHeld))
		}
		if !f.Known && !f.Bound.IsValid() {
			if !f.RateAllows {
				return ignore("new-offer bound of this interface or relay reached (dhcp.offer_rate)")
			}
			d.NewOffer = true
		}
		return d

	case MsgRequest:
		switch {
		case f.ServerID == ServerIDOther:
			return LeaseDecision{Action: ActForget, Reason: "client chose another server's offer"}
		case f.ServerID == ServerIDOurs: // SELECTING
			if !f.Requested.IsValid() {
				return nak("SELECTING REQUEST without a requested address (option 50)")
			}
			if f.Requested == f.Offered || f.Requested == f.Bound {
				return ack(f.Requested, dest)
			}
			return nak(fmt.Sprintf("%s was not offered to this client", f.Requested))
		case f.Requested.IsValid(): // INIT-REBOOT
			if !f.Subnet.Contains(f.Requested) {
				return nak("requested address is not on this network")
			}
			if own.IsValid() && own != f.Requested {
				return nak(fmt.Sprintf("this client's address here is %s", own))
			}
			if own == f.Requested || f.RecordRequested {
				return ack(f.Requested, dest)
			}
			return ignore("INIT-REBOOT from a client with no record here (RFC 2131 4.3.2: silence)")
		case f.CIAddr.IsValid(): // RENEWING, REBINDING
			to := DestClient
			if f.Relayed {
				to = DestRelay
			}
			if f.CIAddr == own || (!own.IsValid() && f.RecordCIAddr) {
				return ack(f.CIAddr, to)
			}
			if own.IsValid() {
				return nak(fmt.Sprintf("this client's address here is %s", own))
			}
			if f.CIAddrTaken {
				return nak("address is held by another client")
			}
			return ignore("renewal from a client with no record of ciaddr")
		}
		return ignore("REQUEST names no address")

	case MsgRelease:
		if !f.CIAddr.IsValid() || f.CIAddr != f.Bound {
			return ignore("RELEASE of an address the client does not hold")
		}
		if !f.FromCIAddr && !f.Relayed {
			return ignore("RELEASE not sent from the address it releases")
		}
		return LeaseDecision{Action: ActRelease, Addr: f.CIAddr}

	case MsgDecline:
		if f.Requested.IsValid() && f.Requested == f.Bound {
			return LeaseDecision{Action: ActDecline, Addr: f.Requested}
		}
		return ignore("DECLINE of an address the client does not hold")

	case MsgInform:
		if !f.CIAddr.IsValid() {
			return ignore("INFORM without ciaddr")
		}
		if !f.Subnet.Contains(f.CIAddr) {
			return ignore("INFORM from a ciaddr outside the serving subnet (no reflection)")
		}
		to := DestClient
		if f.Relayed {
			to = DestRelay
		}
		return LeaseDecision{Action: ActInform, Addr: f.CIAddr, Dest: to}
	}
	return ignore("message type not served")
}
