package dhcp

import (
	"context"
	"net"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/insomniacslk/dhcp/dhcpv4"
	"github.com/netkick/netkick/inventory"
)

// gauge is a boot-chain load the test sets (the TFTP server's transfers
// in flight, in netkick serve).
type gauge struct{ n atomic.Int64 }

func (g *gauge) InFlight() int { return int(g.n.Load()) }

// seen is a reply the test's client socket received.
type seen struct {
	typ dhcpv4.MessageType
	xid dhcpv4.TransactionID
	ip  string
	at  time.Time
}

// replies records every reply broadcast to port 68, by MAC.
type replies struct {
	mu sync.Mutex
	m  map[string][]seen
}

func listenReplies(c *net.UDPConn) *replies {
	r := &replies{m: map[string][]seen{}}
	go func() {
		buf := make([]byte, 1500)
		for {
			n, _, err := c.ReadFromUDP(buf)
			if err != nil {
				return
			}
			if p, err := dhcpv4.FromBytes(buf[:n]); err == nil && p.OpCode == dhcpv4.OpcodeBootReply {
				r.mu.Lock()
				mac := p.ClientHWAddr.String()
				r.m[mac] = append(r.m[mac], seen{p.MessageType(), p.TransactionID, p.YourIPAddr.String(), time.Now()})
				r.mu.Unlock()
			}
		}
	}()
	return r
}

func (r *replies) of(mac string) []seen {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]seen(nil), r.m[mac]...)
}

// first is mac's first reply of type typ, waiting up to d for it.
func (r *replies) first(mac string, typ dhcpv4.MessageType, d time.Duration) (seen, bool) {
	var got seen
	ok := waitFor(d, func() bool {
		for _, s := range r.of(mac) {
			if s.typ == typ {
				got = s
				return true
			}
		}
		return false
	})
	return got, ok
}

func xid(n byte) dhcpv4.Modifier {
	return dhcpv4.WithTransactionID(dhcpv4.TransactionID{0, 0, 0x5a, n})
}

// TestAdmissionHoldsPXEFirmwareWhileTheBootChainIsBusy plays the boot
// chain's load over the wire: at the bound a PXE ROM's DISCOVER waits and
// is answered (to its newest xid) once the load drops, the known host
// before the unknown one that came first; iPXE's and the installer's
// DISCOVERs and a REQUEST are answered at once; one that waits hold_max is
// answered whatever the load; and holding leaves no event of its own.
func TestAdmissionHoldsPXEFirmwareWhileTheBootChainIsBusy(t *testing.T) {
	l := newLink(t)
	st := openStore(t)
	ctx := context.Background()
	known, other := "52:54:00:00:61:01", "52:54:00:00:61:02"
	for _, h := range []inventory.Host{{MACs: []string{known}, Hostname: "adm01", IP: "192.0.2.41"}, {MACs: []string{other}, Hostname: "adm02", IP: "192.0.2.42"}} {
		if err := st.PutHost(ctx, &h); err != nil {
			t.Fatal(err)
		}
	}
	load := &gauge{}
	load.n.Store(10)
	cfg := fullConfig("vs", UnknownPool)
	cfg.HoldLoad, cfg.HoldMax = "4", 2*time.Second
	s := startServerWith(t, l.srv, Options{Config: cfg, Store: st, Load: load})
	a := newAttacker(t, l.cli, "vc", "0.0.0.0", 68)
	rs := listenReplies(a.conn)

	pxe := dhcpv4.WithOption(dhcpv4.OptClassIdentifier("PXEClient:Arch:00000:UNDI:002001"))
	mac := func(s string) net.HardwareAddr { m, _ := net.ParseMAC(s); return m }
	unknown, ipxe, installer := "02:00:00:00:61:01", "02:00:00:00:61:02", "02:00:00:00:61:03"

	// Over the bound: the PXE ROMs wait (the unknown one first), the
	// machines mid-chain do not.
	a.send(toBroadcast, mac(unknown), dhcpv4.MessageTypeDiscover, pxe, xid(1))
	time.Sleep(50 * time.Millisecond)
	a.send(toBroadcast, mac(known), dhcpv4.MessageTypeDiscover, pxe, xid(2))
	a.send(toBroadcast, mac(ipxe), dhcpv4.MessageTypeDiscover, pxe, dhcpv4.WithUserClass("iPXE", false), xid(3))
	a.send(toBroadcast, mac(installer), dhcpv4.MessageTypeDiscover, dhcpv4.WithOption(dhcpv4.OptClassIdentifier("anaconda-Linux 3.10.0-1160.el7.x86_64 x86_64")), xid(4))
	a.send(toBroadcast, mac(other), dhcpv4.MessageTypeRequest, pxe, xid(5), dhcpv4.WithOption(dhcpv4.OptRequestedIPAddress(net.IPv4(192, 0, 2, 42))))
	for _, m := range []string{ipxe, installer} {
		if _, ok := rs.first(m, dhcpv4.MessageTypeOffer, time.Second); !ok {
			t.Errorf("%s (not a PXE ROM) got no OFFER within 1s while the load was at the bound: %+v", m, rs.of(m))
		}
	}
	if _, ok := rs.first(other, dhcpv4.MessageTypeAck, time.Second); !ok {
		t.Errorf("a REQUEST got no ACK within 1s while the load was at the bound: %+v", rs.of(other))
	}
	if !waitFor(time.Second, func() bool { w, _, _, _ := s.Metrics.Admission(); return w == 2 }) {
		w, h, _, _ := s.Metrics.Admission()
		t.Fatalf("waiting %d, held %d; want the two PXE ROMs waiting", w, h)
	}
	// A retransmit with a new xid updates the entry, not its place.
	a.send(toBroadcast, mac(unknown), dhcpv4.MessageTypeDiscover, pxe, xid(11))
	time.Sleep(300 * time.Millisecond)
	for _, m := range []string{unknown, known} {
		if got := rs.of(m); len(got) != 0 {
			t.Fatalf("%s answered while the load was at the bound: %+v", m, got)
		}
	}
	if w, h, _, _ := s.Metrics.Admission(); w != 2 || h != 2 {
		t.Fatalf("after a retransmit: waiting %d, held %d; want 2 and 2", w, h)
	}

	// Room for one: the known host goes first; the unknown one waits
	// while the known host counts into the load, until its ACK has gone
	// out (its transfer would begin then).
	load.n.Store(3)
	k, ok := rs.first(known, dhcpv4.MessageTypeOffer, 2*time.Second)
	if !ok || k.ip != "192.0.2.41" || k.xid != (dhcpv4.TransactionID{0, 0, 0x5a, 2}) {
		t.Fatalf("known host after the load fell: %+v, want an OFFER of its reservation 192.0.2.41 to xid 2", rs.of(known))
	}
	time.Sleep(300 * time.Millisecond)
	if got := rs.of(unknown); len(got) != 0 {
		t.Fatalf("unknown machine answered while the known host just let through filled the bound: %+v", got)
	}
	a.send(toBroadcast, mac(known), dhcpv4.MessageTypeRequest, pxe, xid(2), serverID, dhcpv4.WithOption(dhcpv4.OptRequestedIPAddress(net.IPv4(192, 0, 2, 41))))
	ka, ok := rs.first(known, dhcpv4.MessageTypeAck, time.Second)
	if !ok {
		t.Fatalf("known host's REQUEST not ACKed: %+v", rs.of(known))
	}
	u, ok := rs.first(unknown, dhcpv4.MessageTypeOffer, 3*time.Second)
	if !ok {
		t.Fatalf("unknown machine never answered after the load fell: %+v", rs.of(unknown))
	}
	if d := u.at.Sub(ka.at); d > time.Second {
		t.Errorf("unknown machine answered %s after the known host's ACK, want within ackLinger (%s) and a tick", d, ackLinger)
	}
	if u.xid != (dhcpv4.TransactionID{0, 0, 0x5a, 11}) {
		t.Errorf("held OFFER went to xid %v, want the newest DISCOVER's 0x00005a0b", u.xid)
	}
	if !u.at.After(k.at) {
		t.Errorf("unknown machine (first seen earlier) answered at %s, before the known host at %s", u.at.Format(time.StampMicro), k.at.Format(time.StampMicro))
	}
	if n := len(rs.of(unknown)); n != 1 {
		t.Errorf("unknown machine got %d replies, want 1 (its retransmit is not answered twice): %+v", n, rs.of(unknown))
	}
	if w, _, rel, exp := s.Metrics.Admission(); w != 0 || rel != 2 || exp != 0 {
		t.Errorf("waiting %d, released %d, expired %d; want 0, 2, 0", w, rel, exp)
	}

	// Never fewer: one that waits hold_max is answered over the bound.
	load.n.Store(100)
	late := "02:00:00:00:61:04"
	sent := time.Now()
	a.send(toBroadcast, mac(late), dhcpv4.MessageTypeDiscover, pxe, xid(6))
	o, ok := rs.first(late, dhcpv4.MessageTypeOffer, 5*time.Second)
	if !ok {
		t.Fatalf("a DISCOVER held past hold_max (2s) was never answered: %+v", rs.of(late))
	}
	if waited := o.at.Sub(sent); waited < 1900*time.Millisecond || waited > 3*time.Second {
		t.Errorf("expired DISCOVER answered after %s, want about hold_max (2s)", waited)
	}
	if _, held, rel, exp := s.Metrics.Admission(); held != 3 || rel != 2 || exp != 1 {
		t.Errorf("held %d, released %d, expired %d; want 3, 2, 1", held, rel, exp)
	}

	// The timeline has the offer and the ack once each, as without holding.
	var kinds []string
	waitFor(2*time.Second, func() bool {
		evs, err := st.Events(ctx, known, 100)
		if err != nil {
			t.Fatal(err)
		}
		kinds = kinds[:0]
		for _, e := range evs {
			kinds = append(kinds, e.Kind)
		}
		return len(kinds) >= 2
	})
	if !slices.Equal(kinds, []string{"dhcp-offer", "dhcp-ack"}) {
		t.Errorf("known host's timeline %q, want one dhcp-offer then one dhcp-ack", kinds)
	}
}

// TestAdmissionOffInProxyMode: proxy mode never holds (a client collects
// offers for a few seconds only), whatever the load.
func TestAdmissionOffInProxyMode(t *testing.T) {
	st := openStore(t)
	load := &gauge{}
	load.n.Store(1000)
	cfg := Config{Interface: "lo", Mode: ModeProxy, HoldLoad: "4"}
	s, err := New(context.Background(), Options{Config: cfg, Store: st, Load: load, Logger: quietLogger(), ServerIP: "192.0.2.1"})
	if err != nil {
		t.Fatal(err)
	}
	if s.adm != nil {
		t.Fatal("proxy mode set up admission")
	}
	full := fullConfig("vs", UnknownPool)
	full.HoldLoad = "off"
	if s, err = New(context.Background(), Options{Config: full, Store: st, Load: load, Logger: quietLogger(), ServerIP: "192.0.2.1"}); err != nil || s.adm != nil {
		t.Fatalf("hold_load off: admission %v, err %v", s.adm != nil, err)
	}
}
