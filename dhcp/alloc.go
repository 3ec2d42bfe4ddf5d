package dhcp

import (
	"errors"
	"fmt"
	"time"

	"github.com/netkick/netkick/inventory"
)

// offerHold is how long an offered address stays reserved for its client
// before another client may be offered it.
const offerHold = 30 * time.Second

// Errors the allocator returns; the server turns them into NAKs or silence.
var (
	errPoolFull      = errors.New("no free address in the pools")
	errAddrTaken     = errors.New("address is held by another client")
	errNotOurs       = errors.New("address is not in this subnet's pools nor the host's reservation")
	errNoRecord      = errors.New("no lease on record for this client and address")
	errReservedElse  = errors.New("host has a reserved address and asked for another")
	errWrongSubnet   = errors.New("address is outside the client's subnet")
	errReservedInUse = errors.New("the host's reserved address is held by another client")
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
	reserved map[uint32]string // host reservations: address → MAC
	cursor   []uint32          // next pool index to try, per subnet
}

func newAllocator(subs []*subnet, stored []inventory.Lease) *allocator {
	a := &allocator{
		subnets:  subs,
		leases:   map[uint32]*inventory.Lease{},
		byMAC:    map[macKey]uint32{},
		offers:   map[uint32]pending{},
		reserved: map[uint32]string{},
		cursor:   make([]uint32, len(subs)),
	}
	for i := range stored {
		l := stored[i]
		ip, ok := parseIPv4(l.IP)
		if !ok {
			continue
		}
		a.leases[ip] = &l
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

// free reports whether mac may take ip at now.
func (a *allocator) free(ip uint32, mac string, now time.Time) bool {
	if l := a.leases[ip]; l != nil && l.MAC != mac && l.Active(now) {
		return false
	}
	if l := a.leases[ip]; l != nil && l.State == inventory.LeaseDeclined && l.Active(now) {
		return false
	}
	if o, ok := a.offers[ip]; ok && o.mac != mac && now.Before(o.until) {
		return false
	}
	if r, ok := a.reserved[ip]; ok && r != mac {
		return false
	}
	return true
}

// offer picks an address for mac in subnet si: its reservation, its current
// lease, the address it asked for, or the next free pool address. The
// address is held for offerHold.
func (a *allocator) offer(si int, mac string, reservation, requested uint32, now time.Time) (uint32, error) {
	s := a.subnets[si]
	hold := func(ip uint32) (uint32, error) {
		a.offers[ip] = pending{mac: mac, until: now.Add(offerHold)}
		return ip, nil
	}
	if reservation != 0 {
		if !s.prefix.Contains(addrOf(reservation)) {
			return 0, fmt.Errorf("reservation %s: %w %s", addrOf(reservation), errWrongSubnet, s.prefix)
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
	delete(a.offers, ip)
	return out, nil
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
	delete(a.offers, ip)
	nl := &inventory.Lease{IP: addrOf(ip).String(), MAC: "", State: inventory.LeaseDeclined,
		Expires: now.Add(hold), Updated: now, Hostname: "declined by " + mac}
	a.leases[ip] = nl
	return []inventory.Lease{*nl}
}

// forget drops mac's pending offer on ip (the client chose another server).
func (a *allocator) forget(mac string, ip uint32) {
	if o, ok := a.offers[ip]; ok && o.mac == mac {
		delete(a.offers, ip)
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
