package dhcp

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"time"

	"github.com/netkick/netkick/inventory"
)

// A declined reservation is probed declineProbeAfter after the DECLINE,
// then every declineProbeEvery while another machine answers for it; each
// probe waits up to probeWait for an answer.
const (
	declineProbeAfter = time.Second
	declineProbeEvery = 10 * time.Second
	probeWait         = time.Second
)

// prober tells which link-layer addresses answer for ip on the served
// segment: none and no error when nobody does.
type prober interface {
	whoHas(ip netip.Addr, wait time.Duration) ([]net.HardwareAddr, error)
}

var errNotOnLink = errors.New("address is not on the interface's subnet (behind a relay): it cannot be probed")

// declinedAddr is a reservation a DECLINE named: waiting for the probe
// that confirms the DECLINE (confirmed false: the lease is untouched), or
// declined and waiting to be given back (confirmed true).
type declinedAddr struct {
	confirmed bool
	mac       string           // the host's MAC that declined it
	hostID    string           // the host's id, for its timeline ("" unknown)
	macs      []string         // every MAC of the host
	prev      *inventory.Lease // the host's lease before the DECLINE, if known
	next      time.Time        // when to probe
	seen      string           // MAC last seen answering, to report once
}

// probeable reports whether ip can be ARP-probed (a prober, on the
// interface's own subnet).
func (s *Server) probeable(ip uint32) bool {
	return s.prober != nil && s.local >= 0 && s.subnets[s.local].prefix.Contains(addrOf(ip))
}

// probeLater schedules the probe of a reservation a DECLINE named; confirmed
// says whether it is already declined. Call it under s.mu.
func (s *Server) probeLater(ip uint32, mac string, host *inventory.Host, prev *inventory.Lease, confirmed bool, now time.Time) {
	if d := s.declined[ip]; d != nil {
		return // a probe is already due
	}
	d := &declinedAddr{confirmed: confirmed, mac: mac, prev: prev, next: now.Add(declineProbeAfter)}
	if host != nil {
		d.hostID, d.macs = host.ID(), host.MACs
	}
	s.declined[ip] = d
}

// scheduleDeclined picks up declined reservations read from the store (a
// DECLINE before a restart). Call it under s.mu.
func (s *Server) scheduleDeclined(now time.Time) {
	for ip := range s.alloc.declinedSet {
		if !s.alloc.isDeclined(ip) {
			delete(s.alloc.declinedSet, ip)
			continue
		}
		macs, ok := s.alloc.reserved[ip]
		if !ok || len(macs) == 0 || s.declined[ip] != nil {
			continue
		}
		mac := macs[0]
		d := &declinedAddr{confirmed: true, mac: mac, next: now.Add(declineProbeAfter)}
		if h, _ := s.lookup(mac); h != nil {
			d.hostID, d.macs = h.ID(), h.MACs
		}
		s.declined[ip] = d
	}
}

func (s *Server) probeLoop(ctx context.Context) {
	every(ctx, 500*time.Millisecond, func() { s.probeDue(ctx, time.Now()) })
}

// probeDue probes the declined reservations whose time has come and gives
// back those nobody else answers for.
func (s *Server) probeDue(ctx context.Context, now time.Time) {
	type job struct {
		ip uint32
		d  declinedAddr
	}
	var due []job
	s.mu.Lock()
	s.scheduleDeclined(now)
	for ip, d := range s.declined {
		if !now.Before(d.next) {
			due = append(due, job{ip, *d})
		}
	}
	s.mu.Unlock()
	for _, j := range due {
		addr := addrOf(j.ip)
		hws, err := s.probe(addr)
		var hw, stranger net.HardwareAddr // an answer; one not of the host
		for _, h := range hws {
			hw = h
			if !slices.Contains(j.d.macs, h.String()) && h.String() != j.d.mac {
				stranger = h
			}
		}
		switch {
		case err != nil:
			s.Metrics.probed(probeError)
			s.log.Warn("dhcp: declined reservation not probed; it stays out for the decline hold", "ip", addr.String(), "mac", j.d.mac, "err", err)
			var done chan error
			s.mu.Lock()
			if !j.d.confirmed {
				done = s.confirmDecline(ctx, j.ip, j.d.mac)
			}
			if d := s.declined[j.ip]; d != nil {
				d.confirmed = true
				d.next = now.Add(declineHold) // the hold ends by then anyway
			}
			s.mu.Unlock()
			s.logCommit(done, addr)
		case stranger == nil && !j.d.confirmed:
			why, res := freeResult(hw)
			s.Metrics.probed(res)
			s.mu.Lock()
			delete(s.declined, j.ip)
			s.mu.Unlock()
			s.log.Info("dhcp: DECLINE of a reservation not confirmed; the host keeps its address", "ip", addr.String(), "mac", j.d.mac, "why", why)
			if j.d.hostID != "" {
				s.event(inventory.Event{HostID: j.d.hostID, Kind: "dhcp-decline-cleared", Detail: fmt.Sprintf("%s kept: the DECLINE was not confirmed, %s", addr, why)})
			}
		case stranger == nil:
			why, res := freeResult(hw)
			s.Metrics.probed(res)
			s.mu.Lock()
			ls := s.alloc.giveBack(j.ip, j.d.mac, j.d.prev, now)
			done := s.commit.giveBack(ctx, j.d.mac, ls)
			delete(s.declined, j.ip)
			s.mu.Unlock()
			if err := <-done; err != nil {
				s.log.Error("dhcp: declined reservation not given back: lease not saved", "ip", addr.String(), "err", err)
				continue
			}
			s.log.Info("dhcp: declined reservation given back", "ip", addr.String(), "mac", j.d.mac, "why", why)
			if j.d.hostID != "" {
				s.event(inventory.Event{HostID: j.d.hostID, Kind: "dhcp-decline-cleared", Detail: fmt.Sprintf("%s given back: %s", addr, why)})
			}
		default:
			hw = stranger
			s.Metrics.probed(probeInUse)
			var done chan error
			s.mu.Lock()
			if !j.d.confirmed {
				done = s.confirmDecline(ctx, j.ip, j.d.mac)
			}
			if d := s.declined[j.ip]; d != nil {
				d.confirmed = true
				d.next = now.Add(declineProbeEvery)
				d.seen = hw.String()
			}
			s.mu.Unlock()
			s.logCommit(done, addr)
			if j.d.seen != hw.String() {
				s.log.Warn("dhcp: declined reservation is in use by another machine; probing again", "ip", addr.String(), "host_mac", j.d.mac, "answered_by", hw.String())
				if j.d.hostID != "" {
					s.event(inventory.Event{HostID: j.d.hostID, Kind: "dhcp-decline-in-use", Detail: fmt.Sprintf("%s answered by %s, not this host: kept out, probed every %s", addr, hw, declineProbeEvery)})
				}
			}
		}
	}
}

// freeResult says why a probe that no stranger answered frees the address:
// nobody answered (hw nil), or only the host itself did.
func freeResult(hw net.HardwareAddr) (string, int) {
	if hw == nil {
		return "no machine answered ARP for it", probeFree
	}
	return "only the host itself (" + hw.String() + ") answers for it", probeOwner
}

// confirmDecline takes a reservation out after a probe confirmed (or could
// not refute) its DECLINE, keeping the host's lease to give back later.
// Call it under s.mu.
func (s *Server) confirmDecline(ctx context.Context, ip uint32, mac string) chan error {
	prev := s.alloc.lease(ip)
	ls := s.alloc.decline(mac, ip, declineHold, time.Now())
	if d := s.declined[ip]; d != nil {
		d.prev = prev
	}
	return s.commit.enqueue(ctx, mac, ls)
}

// logCommit logs a failed lease write of a probe's outcome.
func (s *Server) logCommit(done chan error, ip netip.Addr) {
	if done == nil {
		return
	}
	if err := <-done; err != nil {
		s.log.Error("dhcp: declined reservation not recorded: lease not saved", "ip", ip.String(), "err", err)
	}
}

// probe asks who answers for addr, on the interface's own subnet only.
func (s *Server) probe(addr netip.Addr) ([]net.HardwareAddr, error) {
	if s.prober == nil {
		return nil, errors.New("no prober (the interface has no ARP socket)")
	}
	if !s.probeable(u32(addr)) {
		return nil, errNotOnLink
	}
	return s.prober.whoHas(addr, probeWait)
}
