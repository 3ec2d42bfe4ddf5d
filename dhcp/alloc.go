package dhcp

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/netkick/netkick/inventory"
)

// offerHold is how long an offered address stays reserved for its client
// before another client may be offered it.
const offerHold = 30 * time.Second

// maxOffersPerMAC bounds the offers one MAC holds at once, over all subnets
// (within a subnet a MAC holds one: a repeated DISCOVER gets it again).
const maxOffersPerMAC = 2

// Errors the allocator returns; the server turns them into NAKs or silence.
var (
	errPoolFull      = errors.New("no free address in the pools")
	errAddrTaken     = errors.New("address is held by another client")
	errNotOurs       = errors.New("address is not in this subnet's pools nor the host's reservation")
	errNoRecord      = errors.New("no lease on record for this client and address")
	errReservedElse  = errors.New("host has a reserved address and asked for another")
	errWrongSubnet   = errors.New("address is outside the client's subnet")
	errReservedInUse = errors.New("the host's reserved address is held by another client")
	// errReservedDeclined: the host itself (its MAC) declined its reserved
	// address; it is kept out until a probe finds it free (or the hold ends).
	errReservedDeclined = errors.New("the host's reserved address was declined with its own MAC; it is kept out until a probe finds it free or the decline hold ends")
)

type macKey struct {
	mac string
	sub int
}

type pending struct {
	mac   string
	until time.Time
}

// allocator is the in-memory view of every lease, rebuilt from the store at
// start. It is not safe for concurrent use: the server holds its lock.
// Invariant: an address is held (bound and unexpired, declined, offered, or
// reserved) by at most one MAC.
type allocator struct {
	subnets  []*subnet
	leases   map[uint32]*inventory.Lease
	byMAC    map[macKey]uint32
	offers   map[uint32]pending
	offerOf  map[macKey]uint32   // last address offered to a MAC in a subnet
	reserved map[uint32][]string // host reservations: address → the host's MACs (its ID first)
	// declinedSet indexes the addresses whose lease is declined.
	declinedSet map[uint32]struct{}
	cursor      []uint32 // next pool index to try, per subnet
}

func newAllocator(subs []*subnet, stored []inventory.Lease) *allocator {
	a := &allocator{
		subnets:     subs,
		leases:      map[uint32]*inventory.Lease{},
		byMAC:       map[macKey]uint32{},
		offers:      map[uint32]pending{},
		offerOf:     map[macKey]uint32{},
		reserved:    map[uint32][]string{},
		cursor:      make([]uint32, len(subs)),
		declinedSet: map[uint32]struct{}{},
	}
	for i := range stored {
		l := stored[i]
		ip, ok := parseIPv4(l.IP)
		if !ok {
			continue
		}
		a.leases[ip] = &l
		if l.State == inventory.LeaseDeclined {
			a.declinedSet[ip] = struct{}{}
		}
		if l.State == inventory.LeaseBound && l.MAC != "" {
			if si := a.subnetOf(ip); si >= 0 {
				a.byMAC[macKey{l.MAC, si}] = ip
			}
		}
	}
	return a
}

// subnetOf returns the index of the subnet containing ip, or -1.
func (a *allocator) subnetOf(ip uint32) int {
	for i, s := range a.subnets {
		if s.prefix.Contains(addrOf(ip)) {
			return i
		}
	}
	return -1
}

// free reports whether mac may take ip at now. The reservation of a host
// with several MACs is one machine's: any of its MACs may take it, also from
// a lease or offer another of its MACs holds (the machine booted from its
// other NIC), as dnsmasq does for a dhcp-host with several MACs.
func (a *allocator) free(ip uint32, mac string, now time.Time) bool {
	own := a.reservedTo(ip, mac)
	if l := a.leases[ip]; l != nil && l.MAC != mac && l.Active(now) && !(own && l.State == inventory.LeaseBound && a.reservedTo(ip, l.MAC)) {
		return false
	}
	if l := a.leases[ip]; l != nil && l.State == inventory.LeaseDeclined && l.Active(now) {
		return false
	}
	if o, ok := a.offers[ip]; ok && o.mac != mac && now.Before(o.until) && !(own && a.reservedTo(ip, o.mac)) {
		return false
	}
	if _, ok := a.reserved[ip]; ok && !own {
		return false
	}
	return true
}

// reservedTo reports whether ip is the reservation of the host mac belongs to.
func (a *allocator) reservedTo(ip uint32, mac string) bool {
	for _, m := range a.reserved[ip] {
		if m == mac {
			return true
		}
	}
	return false
}

// offer picks an address for mac in subnet si: its reservation, its current
// lease, the address it asked for, or the next free pool address. The
// address is held for offerHold.
func (a *allocator) offer(si int, mac string, reservation, requested uint32, now time.Time) (uint32, error) {
	s := a.subnets[si]
	hold := func(ip uint32) (uint32, error) { return a.hold(si, mac, ip, now), nil }
	if reservation != 0 {
		if !s.prefix.Contains(addrOf(reservation)) {
			return 0, fmt.Errorf("reservation %s: %w %s", addrOf(reservation), errWrongSubnet, s.prefix)
		}
		if l := a.leases[reservation]; l != nil && l.State == inventory.LeaseDeclined && l.Active(now) {
			return 0, fmt.Errorf("%s (%s, %s): %w", addrOf(reservation), l.Hostname, l.Updated.Format(time.RFC3339), errReservedDeclined)
		}
		if !a.free(reservation, mac, now) {
			return 0, fmt.Errorf("%s: %w", addrOf(reservation), errReservedInUse)
		}
		return hold(reservation)
	}
	if ip, ok := a.byMAC[macKey{mac, si}]; ok && s.inPool(ip) && a.free(ip, mac, now) {
		return hold(ip)
	}
	if requested != 0 && s.inPool(requested) && a.free(requested, mac, now) {
		return hold(requested)
	}
	n := s.poolSize()
	for i := 0; i < n; i++ {
		ip := s.poolAt(int((a.cursor[si] + uint32(i)) % uint32(n)))
		if a.free(ip, mac, now) {
			a.cursor[si] = (a.cursor[si] + uint32(i) + 1) % uint32(n)
			return hold(ip)
		}
	}
	return 0, fmt.Errorf("subnet %s: %w (%d addresses; widen dhcp.subnets[].pools or shorten the lease)", s.prefix, errPoolFull, n)
}

// hold reserves ip for mac's offer in subnet si for offerHold: the MAC's
// one offer there, replacing any other it held.
func (a *allocator) hold(si int, mac string, ip uint32, now time.Time) uint32 {
	key := macKey{mac, si}
	if prev, ok := a.offerOf[key]; ok && prev != ip {
		a.dropOffer(prev)
	}
	a.dropOffer(ip) // another MAC's offer of ip, lapsed, is gone
	a.offers[ip] = pending{mac: mac, until: now.Add(offerHold)}
	a.offerOf[key] = ip
	return ip
}

// dropOffer forgets the offer of ip, whoever holds it.
func (a *allocator) dropOffer(ip uint32) {
	o, ok := a.offers[ip]
	if !ok {
		return
	}
	delete(a.offers, ip)
	if si := a.subnetOf(ip); si >= 0 && a.offerOf[macKey{o.mac, si}] == ip {
		delete(a.offerOf, macKey{o.mac, si})
	}
}

// offerAgain offers mac the address it was offered before, when it may
// still have it, and otherwise picks as offer does.
func (a *allocator) offerAgain(si int, mac string, ip, reservation uint32, now time.Time) (uint32, error) {
	s := a.subnets[si]
	if (reservation == 0 || ip == reservation) && (s.inPool(ip) || ip == reservation) && a.free(ip, mac, now) {
		return a.hold(si, mac, ip, now), nil
	}
	return a.offer(si, mac, reservation, 0, now)
}

// offered returns the last address offered to mac in subnet si and whether
// its hold lasts; ok is false when there is none.
func (a *allocator) offered(si int, mac string, now time.Time) (ip uint32, held, ok bool) {
	ip, ok = a.offerOf[macKey{mac, si}]
	if !ok {
		return 0, false, false
	}
	o, has := a.offers[ip]
	if !has || o.mac != mac {
		return 0, false, false
	}
	return ip, now.Before(o.until), true
}

// heldOffers counts the offers mac holds in subnets other than si.
func (a *allocator) heldOffers(si int, mac string, now time.Time) int {
	n := 0
	for i := range a.subnets {
		if i == si {
			continue
		}
		if _, held, ok := a.offered(i, mac, now); ok && held {
			n++
		}
	}
	return n
}

// bound returns mac's active lease in subnet si.
func (a *allocator) bound(si int, mac string, now time.Time) (uint32, bool) {
	ip, ok := a.byMAC[macKey{mac, si}]
	if !ok {
		return 0, false
	}
	l := a.leases[ip]
	if l == nil || l.MAC != mac || l.State != inventory.LeaseBound || !l.Active(now) {
		return 0, false
	}
	return ip, true
}

// bind gives ip to mac for the subnet's lease time. It returns the leases to
// make durable before the ACK: the new one, and the client's previous
// address in this subnet, released.
func (a *allocator) bind(si int, mac string, ip, reservation uint32, hostname string, now time.Time) ([]inventory.Lease, error) {
	s := a.subnets[si]
	if !s.prefix.Contains(addrOf(ip)) {
		return nil, fmt.Errorf("%s: %w %s", addrOf(ip), errWrongSubnet, s.prefix)
	}
	if reservation != 0 && ip != reservation {
		return nil, fmt.Errorf("%s (reserved %s): %w", addrOf(ip), addrOf(reservation), errReservedElse)
	}
	if ip != reservation && !s.inPool(ip) {
		return nil, fmt.Errorf("%s: %w", addrOf(ip), errNotOurs)
	}
	if !a.free(ip, mac, now) {
		return nil, fmt.Errorf("%s: %w", addrOf(ip), errAddrTaken)
	}
	l := &inventory.Lease{IP: addrOf(ip).String(), MAC: mac, State: inventory.LeaseBound,
		Expires: now.Add(s.lease), Hostname: hostname, Updated: now}
	out := []inventory.Lease{*l}
	key := macKey{mac, si}
	if old, ok := a.byMAC[key]; ok && old != ip {
		if ol := a.leases[old]; ol != nil && ol.MAC == mac && ol.State == inventory.LeaseBound {
			ol.State, ol.Expires, ol.Updated = inventory.LeaseReleased, now, now
			out = append(out, *ol)
		}
	}
	a.leases[ip] = l
	a.byMAC[key] = ip
	a.dropOffer(ip)
	if prev, ok := a.offerOf[key]; ok {
		a.dropOffer(prev)
	}
	return out, nil
}

// reuseShare is the part of the lease time within which a lease granted or
// renewed is given again as it stands, with no write (Kea's lease caching
// uses the same default).
const reuseShare = 4

// leaseReusable decides whether a REQUEST by mac for the address of lease l
// can be answered with l unchanged: l is mac's bound lease under the same
// hostname, granted less than a quarter of the lease time ago (the
// firmware, iPXE and the installer each ask within seconds). It returns the
// whole seconds left on l, which the ACK then states, so what the store
// holds is exactly what the client is told.
func leaseReusable(l *inventory.Lease, mac, hostname string, leaseTime time.Duration, now time.Time) (time.Duration, bool) {
	if l == nil || l.MAC != mac || l.State != inventory.LeaseBound || l.Hostname != hostname {
		return 0, false
	}
	left := l.Expires.Sub(now).Truncate(time.Second)
	if left <= 0 || left > leaseTime || leaseTime-left > leaseTime/reuseShare {
		return 0, false
	}
	return left, true
}

// reuse keeps mac's lease on ip as it stands when leaseReusable allows it
// (and the address is still the one mac is bound to, within the subnet and
// its reservation), dropping the offer it answers; it returns the time left.
func (a *allocator) reuse(si int, mac string, ip, reservation uint32, hostname string, now time.Time) (time.Duration, bool) {
	s := a.subnets[si]
	key := macKey{mac, si}
	if !s.prefix.Contains(addrOf(ip)) || reservation != 0 && ip != reservation || a.byMAC[key] != ip {
		return 0, false
	}
	left, ok := leaseReusable(a.leases[ip], mac, hostname, s.lease, now)
	if !ok {
		return 0, false
	}
	a.dropOffer(ip)
	if prev, ok := a.offerOf[key]; ok {
		a.dropOffer(prev)
	}
	return left, true
}

// hasRecord reports whether mac holds (or was last given) ip.
func (a *allocator) hasRecord(ip uint32, mac string) bool {
	l := a.leases[ip]
	return l != nil && l.MAC == mac
}

// release ends mac's lease on ip (DHCPRELEASE); nil when there is nothing to end.
func (a *allocator) release(mac string, ip uint32, now time.Time) []inventory.Lease {
	l := a.leases[ip]
	if l == nil || l.MAC != mac || l.State != inventory.LeaseBound {
		return nil
	}
	l.State, l.Expires, l.Updated = inventory.LeaseReleased, now, now
	return []inventory.Lease{*l}
}

// decline marks ip as in use by someone else (DHCPDECLINE): nobody gets it
// for hold, and mac will be offered another address.
func (a *allocator) decline(mac string, ip uint32, hold time.Duration, now time.Time) []inventory.Lease {
	l := a.leases[ip]
	o, offered := a.offers[ip]
	if !(l != nil && l.MAC == mac) && !(offered && o.mac == mac) {
		return nil
	}
	if si := a.subnetOf(ip); si >= 0 {
		if a.byMAC[macKey{mac, si}] == ip {
			delete(a.byMAC, macKey{mac, si})
		}
	}
	a.dropOffer(ip)
	nl := &inventory.Lease{IP: addrOf(ip).String(), MAC: "", State: inventory.LeaseDeclined,
		Expires: now.Add(hold), Updated: now, Hostname: "declined by " + mac}
	a.leases[ip] = nl
	a.declinedSet[ip] = struct{}{}
	return []inventory.Lease{*nl}
}

// lease returns a copy of the lease record on ip, nil when there is none.
func (a *allocator) lease(ip uint32) *inventory.Lease {
	if l := a.leases[ip]; l != nil {
		c := *l
		return &c
	}
	return nil
}

// isDeclined reports whether ip's lease is declined.
func (a *allocator) isDeclined(ip uint32) bool {
	l := a.leases[ip]
	return l != nil && l.State == inventory.LeaseDeclined
}

// giveBack ends the decline of ip, a reservation of mac: mac's lease from
// before the DECLINE comes back when prev is still unexpired, otherwise ip
// is recorded as released by mac (free for it, and it may INIT-REBOOT).
func (a *allocator) giveBack(ip uint32, mac string, prev *inventory.Lease, now time.Time) []inventory.Lease {
	delete(a.declinedSet, ip)
	if !a.isDeclined(ip) {
		return nil
	}
	l := &inventory.Lease{IP: addrOf(ip).String(), MAC: mac, State: inventory.LeaseReleased, Expires: now, Updated: now}
	if prev != nil && prev.MAC == mac && prev.State == inventory.LeaseBound && now.Before(prev.Expires) {
		c := *prev
		c.Updated = now
		l = &c
		if si := a.subnetOf(ip); si >= 0 {
			a.byMAC[macKey{mac, si}] = ip
		}
	}
	a.leases[ip] = l
	return []inventory.Lease{*l}
}

// forget drops mac's offer in subnet si (the client chose another server).
func (a *allocator) forget(si int, mac string) {
	key := macKey{mac, si}
	ip, ok := a.offerOf[key]
	if !ok {
		return
	}
	delete(a.offerOf, key)
	if o, ok := a.offers[ip]; ok && o.mac == mac {
		a.dropOffer(ip)
	}
}

// usage counts the active leases of subnet si.
func (a *allocator) usage(si int, now time.Time) (active, size int) {
	s := a.subnets[si]
	for ip, l := range a.leases {
		if l.Active(now) && s.prefix.Contains(addrOf(ip)) {
			active++
		}
	}
	return active, s.poolSize()
}

// poolAt returns the i-th address of the subnet's pools.
func (s *subnet) poolAt(i int) uint32 {
	for _, r := range s.pools {
		if i < r.size() {
			return r.first + uint32(i)
		}
		i -= r.size()
	}
	return 0
}

// learn records what a shared store said holds the address of a claim that
// lost (another server's lease or offer), so the next pick avoids it, and
// moves the subnet's cursor elsewhere: the other server is probably
// allocating around that address.
func (a *allocator) learn(c inventory.LeaseClaim, held *inventory.Lease) {
	ip, ok := parseIPv4(c.Lease.IP)
	if !ok {
		return
	}
	if o, ok := a.offers[ip]; ok && o.mac == c.By && c.Rule == inventory.ClaimOffer {
		a.dropOffer(ip)
	}
	if held != nil && held.MAC != c.By {
		h := *held
		a.leases[ip] = &h
		if h.State == inventory.LeaseDeclined {
			a.declinedSet[ip] = struct{}{}
		}
		if si := a.subnetOf(ip); si >= 0 {
			if a.byMAC[macKey{c.By, si}] == ip {
				delete(a.byMAC, macKey{c.By, si})
			}
			if n := a.subnets[si].poolSize(); n > 0 {
				a.cursor[si] = rand.Uint32N(uint32(n))
			}
		}
	}
}

// undoOffer returns the undo of an offer of ip to mac: the hold is dropped.
func undoOffer(mac string, ip uint32) func(*allocator) {
	return func(a *allocator) {
		if o, ok := a.offers[ip]; ok && o.mac == mac {
			a.dropOffer(ip)
		}
	}
}

// undoBind returns what puts back the records a bind of ip to mac in
// subnet si changes (the lease on ip, the MAC's previous address and its
// lease), for a bind the shared store refused or could not take: the view
// never holds a lease the store does not.
func (a *allocator) undoBind(si int, mac string, ip uint32) func(*allocator) {
	key := macKey{mac, si}
	prev := a.lease(ip)
	old, hadOld := a.byMAC[key]
	var prevOld *inventory.Lease
	if hadOld && old != ip {
		prevOld = a.lease(old)
	}
	return func(a *allocator) {
		put := func(ip uint32, l *inventory.Lease) {
			if l == nil {
				delete(a.leases, ip)
				return
			}
			c := *l
			a.leases[ip] = &c
		}
		// Only what this bind wrote is put back, not a later change.
		if l := a.leases[ip]; l != nil && l.MAC == mac && l.State == inventory.LeaseBound {
			put(ip, prev)
		}
		if prevOld != nil {
			if l := a.leases[old]; l != nil && l.MAC == mac && l.State == inventory.LeaseReleased {
				put(old, prevOld)
			}
		}
		if hadOld {
			a.byMAC[key] = old
		} else if a.byMAC[key] == ip {
			delete(a.byMAC, key)
		}
	}
}

// merge takes the leases a shared store holds into the view: a record newer
// than the view's replaces it (other servers' leases and offers; this
// server's own offers, tagged self, stay in the offers it holds).
func (a *allocator) merge(stored []inventory.Lease, self string) {
	for i := range stored {
		l := stored[i]
		ip, ok := parseIPv4(l.IP)
		if !ok || l.State == inventory.LeaseOffered && l.Hostname == self {
			continue
		}
		if cur := a.leases[ip]; cur != nil && cur.Updated.After(l.Updated) {
			continue
		}
		a.leases[ip] = &l
		if l.State == inventory.LeaseDeclined {
			a.declinedSet[ip] = struct{}{}
		}
		if l.State == inventory.LeaseBound && l.MAC != "" {
			if si := a.subnetOf(ip); si >= 0 {
				a.byMAC[macKey{l.MAC, si}] = ip
			}
		}
	}
}

// scatter starts every subnet's cursor at a random point of its pools, so
// that servers sharing a pool mostly pick different addresses.
func (a *allocator) scatter() {
	for si, s := range a.subnets {
		if n := s.poolSize(); n > 0 {
			a.cursor[si] = rand.Uint32N(uint32(n))
		}
	}
}
