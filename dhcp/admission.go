package dhcp

import (
	"context"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/insomniacslk/dhcp/dhcpv4"
	"github.com/netkick/netkick/boot"
)

// Admission: in full mode, while the boot chain is busy, a PXE ROM's
// DISCOVER waits before it is answered. A thousand machines that power on
// together would otherwise all get their address within a second and then
// all run their lock-step TFTP transfers at once, sharing the CPUs, so that
// every machine's chain is slow and they all finish at the end. Holding the
// first stage back lets the machines already booting run at full speed and
// finish one after the other; the work done is the same.

// Load is the boot chain's load: transfers in flight (tftp.Server.InFlight).
type Load interface {
	InFlight() int
}

// Admission defaults and bounds.
const (
	// HoldPerCPU times GOMAXPROCS is the default bound of dhcp.hold_load.
	// A lock-step TFTP transfer keeps a CPU busy only while its block is
	// being sent (~14 µs of server CPU a block);
	// the rest of each block's round trip is wire and firmware time, so a
	// CPU needs some tens of transfers at once to stay busy: 64 keep it
	// busy up to about a millisecond a block. Fewer give each machine a
	// faster chain while the round trip stays short, but as soon as it
	// grows (a slow firmware, a shared CPU) the CPUs idle and the machines
	// wait: measured in the boot storm on 2 CPUs (docs/dhcp.md), 32 a CPU
	// had under half the TFTP p99 of 64 a CPU on a quiet machine, and on a
	// busy one let its machines wait up to hold_max.
	HoldPerCPU = 64
	// DefaultHoldMax is dhcp.hold_max's default: below the 4 + 8 s of a
	// PXE ROM's first retransmits and well below the ~60 s after which
	// firmware gives up (retransmits at 4, 8, 16, 32 s).
	DefaultHoldMax = 20 * time.Second
	// maxHoldMax bounds dhcp.hold_max: firmware gives up after about 60 s.
	maxHoldMax = 45 * time.Second
	// maxWaiting bounds the waiting set; beyond it DISCOVERs are answered
	// at once (unknown MACs still meet offer_rate), so a spray of MACs
	// costs memory once, never without bound.
	maxWaiting = 8192
	// A machine let through counts as a transfer until it can have
	// started one (pendingStart): between its OFFER and its first TFTP
	// request it is not in the load yet, and a storm would otherwise all
	// pass at once. It counts until ackLinger after its ACK went out (the
	// firmware ARPs for the server and sends its request within that), and
	// at most creditMax (a client that never REQUESTs).
	ackLinger = 100 * time.Millisecond
	creditMax = 2 * time.Second
	// admitTick is how often the waiting DISCOVERs are looked at.
	admitTick = 10 * time.Millisecond
)

// holdBound parses dhcp.hold_load: "" derives the bound from the CPUs,
// "off" or "0" turns holding off (0), else a positive number of transfers.
func holdBound(v string, cpus int) (int, bool) {
	switch v = strings.ToLower(strings.TrimSpace(v)); v {
	case "":
		return HoldPerCPU * max(cpus, 1), true
	case "off", "0":
		return 0, true
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 {
		return 0, false
	}
	return n, true
}

// HoldBound is the load (transfers in flight) at and above which a
// first-stage PXE DISCOVER waits; 0: never. Call it after Normalize.
func (c Config) HoldBound() int {
	n, _ := holdBound(c.HoldLoad, runtime.GOMAXPROCS(0))
	return n
}

// firstStage reports whether a DISCOVER is a PXE ROM's (vendor class
// PXEClient): not iPXE's own DHCP (user class iPXE), not an installer's,
// not a UEFI HTTP boot client's. Only those are held: a machine past its
// first stage is mid-chain and never waits.
func firstStage(req *dhcpv4.DHCPv4) bool {
	if req.MessageType() != dhcpv4.MessageTypeDiscover || !strings.HasPrefix(req.ClassIdentifier(), boot.ClassPXE) {
		return false
	}
	return !req.Options.Has(dhcpv4.OptionUserClassInformation) || !boot.IsIPXE(req.UserClass())
}

// holdFacts are what arrive decides on for one DISCOVER.
type holdFacts struct {
	// FirstStage: a PXE ROM's DISCOVER (firstStage).
	FirstStage bool
	// Offered: the MAC holds a live offer already (a retransmit after its
	// OFFER was sent).
	Offered bool
	// Ignored: a MAC the inventory does not know and the server ignores.
	Ignored bool
	// Waiting: the MAC waits already.
	Waiting bool
	// Queued is how many MACs wait; Capacity how many may.
	Queued, Capacity int
	// Load is the transfers in flight plus the machines just answered;
	// Bound the hold bound (0: holding is off).
	Load, Bound int
}

type holdVerdict int

const (
	// answerNow: decide and answer at once.
	answerNow holdVerdict = iota
	// answerAdmitted: answer at once, counting the machine into the load.
	answerAdmitted
	// holdNew: the MAC joins the waiting set.
	holdNew
	// holdUpdate: a retransmit of a waiting MAC; its entry keeps its
	// place and takes the newer packet (its xid).
	holdUpdate
)

// arrive decides what happens to an arriving DISCOVER.
func arrive(f holdFacts) holdVerdict {
	switch {
	case f.Bound <= 0 || !f.FirstStage || f.Offered || f.Ignored:
		return answerNow
	case f.Waiting:
		return holdUpdate
	case f.Queued == 0 && f.Load < f.Bound:
		return answerAdmitted
	case f.Queued >= f.Capacity:
		// Full: answered rather than left to fail.
		return answerAdmitted
	}
	return holdNew
}

// waitView is one waiting DISCOVER as releases sees it.
type waitView struct {
	Known bool
	First time.Time // when its MAC's first DISCOVER came
}

// release is one waiting DISCOVER to answer now: its index in the
// waiting list, and whether it is answered because it waited hold_max.
type release struct {
	Index   int
	Expired bool
}

// releases picks the waiting DISCOVERs to answer at now, in the order to
// answer them: every one first seen holdMax ago or more, whatever the
// load, then as many as the load leaves room for below the bound, known
// hosts first, each in the order they came. ws is in first-seen order.
func releases(ws []waitView, load, bound int, holdMax time.Duration, now time.Time) []release {
	var out []release
	room := bound - load
	for i, w := range ws {
		if now.Sub(w.First) >= holdMax {
			out = append(out, release{Index: i, Expired: true})
			room--
		}
	}
	for _, known := range []bool{true, false} {
		for i, w := range ws {
			if room <= 0 {
				return out
			}
			if w.Known == known && now.Sub(w.First) < holdMax {
				out = append(out, release{Index: i})
				room--
			}
		}
	}
	return out
}

// pendingStart reports whether a machine let through at at, its ACK sent
// at acked (zero: not yet), still counts into the load at now: it may not
// have begun its first transfer.
func pendingStart(at, acked, now time.Time) bool {
	if now.Sub(at) >= creditMax {
		return false
	}
	return acked.IsZero() || now.Sub(acked) < ackLinger
}

// credit is a machine let through, counted until it can have started.
type credit struct {
	mac       string
	at, acked time.Time
}

// waiter is one MAC's waiting DISCOVER.
type waiter struct {
	p     packet // the newest DISCOVER from the MAC
	mac   string
	known bool
	first time.Time
}

// admission holds first-stage DISCOVERs while the load is at its bound.
type admission struct {
	load    Load
	bound   int
	holdMax time.Duration

	mu    sync.Mutex
	byMAC map[string]*waiter
	queue []*waiter // in first-seen order
	// credits are the machines let through in the last creditMax,
	// oldest first (at most maxWaiting), creditOf the newest by MAC.
	credits  []*credit
	creditOf map[string]*credit
	wake     chan struct{}
}

func newAdmission(load Load, bound int, holdMax time.Duration) *admission {
	return &admission{load: load, bound: bound, holdMax: holdMax, byMAC: map[string]*waiter{}, creditOf: map[string]*credit{}, wake: make(chan struct{}, 1)}
}

// loadLocked is the transfers in flight plus the machines let through
// that may not have started one yet, counted up to the bound (beyond it
// the exact figure changes nothing). Call it under a.mu.
func (a *admission) loadLocked(now time.Time) int {
	i := 0
	for i < len(a.credits) && now.Sub(a.credits[i].at) >= creditMax {
		if c := a.credits[i]; a.creditOf[c.mac] == c {
			delete(a.creditOf, c.mac)
		}
		a.credits[i] = nil
		i++
	}
	a.credits = a.credits[i:]
	n := a.load.InFlight()
	for _, c := range a.credits {
		if n >= a.bound {
			break
		}
		if pendingStart(c.at, c.acked, now) {
			n++
		}
	}
	return n
}

// letThrough counts mac into the load until it can have started. Call
// it under a.mu.
func (a *admission) letThrough(mac string, now time.Time) {
	if len(a.credits) >= maxWaiting {
		return // the load is at its bound anyway
	}
	c := &credit{mac: mac, at: now}
	a.credits = append(a.credits, c)
	a.creditOf[mac] = c
}

// acked notes that mac's ACK went out: it starts its transfer now.
func (a *admission) acked(mac string, now time.Time) {
	a.mu.Lock()
	if c := a.creditOf[mac]; c != nil && c.acked.IsZero() {
		c.acked = now
	}
	a.mu.Unlock()
}

// offer decides on an arriving DISCOVER (facts f lacking only the
// waiting set's and the load's); true when the packet is held.
func (a *admission) offer(p packet, f holdFacts, known bool, m *Metrics) bool {
	mac := p.req.ClientHWAddr.String()
	a.mu.Lock()
	defer a.mu.Unlock()
	now := time.Now()
	w := a.byMAC[mac]
	f.Waiting, f.Queued, f.Capacity, f.Bound = w != nil, len(a.byMAC), maxWaiting, a.bound
	if f.Bound > 0 && f.FirstStage && !f.Offered && !f.Ignored && !f.Waiting && f.Queued == 0 {
		f.Load = a.loadLocked(now) // arrive weighs the load only when nobody waits
	}
	switch arrive(f) {
	case answerAdmitted:
		a.letThrough(mac, now)
		return false
	case holdUpdate:
		w.p = p
		return true
	case holdNew:
		w = &waiter{p: p, mac: mac, known: known, first: p.at}
		a.byMAC[mac] = w
		a.queue = append(a.queue, w)
		m.admHeld.Add(1)
		select {
		case a.wake <- struct{}{}:
		default:
		}
		return true
	}
	return false
}

// due takes the DISCOVERs to answer now out of the waiting set; waiting
// is how many are left.
func (a *admission) due(now time.Time, m *Metrics) (ps []packet, waiting int) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if len(a.queue) == 0 {
		return nil, 0
	}
	load := a.loadLocked(now)
	if load >= a.bound && now.Sub(a.queue[0].first) < a.holdMax {
		return nil, len(a.queue) // nothing can go: skip building the views
	}
	ws := make([]waitView, len(a.queue))
	for i, w := range a.queue {
		ws[i] = waitView{Known: w.known, First: w.first}
	}
	rs := releases(ws, load, a.bound, a.holdMax, now)
	if len(rs) == 0 {
		return nil, len(a.queue)
	}
	gone := make([]bool, len(a.queue))
	for _, r := range rs {
		w := a.queue[r.Index]
		gone[r.Index] = true
		delete(a.byMAC, w.mac)
		// netkick_dhcp_reply_seconds measures the server's own work from
		// here; the wait is the admission metrics'.
		w.p.at = now
		ps = append(ps, w.p)
		a.letThrough(w.mac, now)
		if r.Expired {
			m.admExpired.Add(1)
		} else {
			m.admReleased.Add(1)
		}
	}
	kept := a.queue[:0]
	for i, w := range a.queue {
		if !gone[i] {
			kept = append(kept, w)
		}
	}
	clear(a.queue[len(kept):])
	a.queue = kept
	return ps, len(a.queue)
}

// waiting is how many DISCOVERs wait now.
func (a *admission) waiting() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return len(a.queue)
}

// hold decides whether the worker holds p instead of answering it.
func (s *Server) hold(p packet) bool {
	if s.adm == nil || !firstStage(p.req) {
		return false
	}
	mac := p.req.ClientHWAddr.String()
	known := s.isKnown(mac)
	f := holdFacts{FirstStage: true, Ignored: !known && s.cfg.Unknown == UnknownIgnore}
	if !f.Ignored {
		now := time.Now()
		s.mu.Lock()
		if si := s.subnetFor(p.req); si >= 0 {
			_, live, ok := s.alloc.offered(si, mac, now)
			f.Offered = ok && live
		}
		s.mu.Unlock()
	}
	return s.adm.offer(p, f, known, s.Metrics)
}

// admitLoop answers the held DISCOVERs as the load lets them go, through
// the same decision as any packet (the lease, the reservation, offer_rate).
func (s *Server) admitLoop(ctx context.Context) {
	for {
		ps, left := s.adm.due(time.Now(), s.Metrics)
		for _, p := range ps {
			s.handle(ctx, p)
		}
		if left == 0 {
			select {
			case <-s.adm.wake:
			case <-ctx.Done():
				return
			}
			continue
		}
		select {
		case <-time.After(admitTick):
		case <-ctx.Done():
			return
		}
	}
}
