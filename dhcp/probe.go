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

// declinedAddr is a declined reservation waiting to be given back.
type declinedAddr struct {
	mac    string           // the host's MAC that declined it
	hostID string           // the host's id, for its timeline ("" unknown)
	macs   []string         // every MAC of the host
	prev   *inventory.Lease // the host's lease before the DECLINE, if known
	next   time.Time        // when to probe
	seen   string           // MAC last seen answering, to report once
}

// probeLater schedules the probe of a declined reservation. Call it under s.mu.
func (s *Server) probeLater(ip uint32, mac string, host *inventory.Host, prev *inventory.Lease, now time.Time) {
	d := &declinedAddr{mac: mac, prev: prev, next: now.Add(declineProbeAfter)}
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
		mac, ok := s.alloc.reserved[ip]
		if !ok || s.declined[ip] != nil {
			continue
		}
		d := &declinedAddr{mac: mac, next: now.Add(declineProbeAfter)}
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
			s.mu.Lock()
			if d := s.declined[j.ip]; d != nil {
				d.next = now.Add(declineHold) // the hold ends by then anyway
			}
			s.mu.Unlock()
		case stranger == nil:
			why := "no machine answered ARP for it"
			res := probeFree
			if hw != nil {
				why = "only the host itself (" + hw.String() + ") answers for it: the DECLINE was not true"
				res = probeOwner
			}
			s.Metrics.probed(res)
			s.mu.Lock()
			ls := s.alloc.giveBack(j.ip, j.d.mac, j.d.prev, now)
			done := s.commit.enqueue(ctx, ls)
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
			s.mu.Lock()
			if d := s.declined[j.ip]; d != nil {
				d.next = now.Add(declineProbeEvery)
				d.seen = hw.String()
			}
			s.mu.Unlock()
			if j.d.seen != hw.String() {
				s.log.Warn("dhcp: declined reservation is in use by another machine; probing again", "ip", addr.String(), "host_mac", j.d.mac, "answered_by", hw.String())
				if j.d.hostID != "" {
					s.event(inventory.Event{HostID: j.d.hostID, Kind: "dhcp-decline-in-use", Detail: fmt.Sprintf("%s answered by %s, not this host: kept out, probed every %s", addr, hw, declineProbeEvery)})
				}
			}
		}
	}
}

// probe asks who answers for addr, on the interface's own subnet only.
func (s *Server) probe(addr netip.Addr) ([]net.HardwareAddr, error) {
	if s.prober == nil {
		return nil, errors.New("no prober (the interface has no ARP socket)")
	}
	if s.local < 0 || !s.subnets[s.local].prefix.Contains(addr) {
		return nil, errNotOnLink
	}
	return s.prober.whoHas(addr, probeWait)
}
