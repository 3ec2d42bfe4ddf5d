package dhcp

import (
	"bytes"
	"context"
	"math/rand/v2"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/insomniacslk/dhcp/dhcpv4"
	"github.com/netkick/netkick/internal/pgtest"
	"github.com/netkick/netkick/inventory"
)

// newSharedServer is an offline server (HandleBytes only) allocating
// through the shared PostgreSQL store at url, answering as serverIP.
func newSharedServer(t *testing.T, url, serverIP string, cfg Config) (*Server, *inventory.Postgres) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	st, err := inventory.OpenPostgres(ctx, url)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	s, err := New(ctx, Options{Config: cfg, Store: st, Shared: st, ServerIP: serverIP, Logger: quietLogger()})
	if err != nil {
		cancel()
		st.Close()
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { s.commit.run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done; st.Close() })
	return s, st
}

func sharedConfig(pool string) Config {
	return Config{Interface: "vs", Mode: ModeFull, Unknown: UnknownPool, OfferRate: 1e6, OfferBurst: 1e6,
		Subnets: []SubnetConfig{{CIDR: "192.0.2.0/24", Pools: []string{pool}, Router: "192.0.2.1", Lease: "1h"}}}
}

func packetOf(t *testing.T, mac net.HardwareAddr, mt dhcpv4.MessageType, mods ...dhcpv4.Modifier) []byte {
	t.Helper()
	m, err := dhcpv4.New(append([]dhcpv4.Modifier{dhcpv4.WithHwAddr(mac), dhcpv4.WithMessageType(mt)}, mods...)...)
	if err != nil {
		t.Fatal(err)
	}
	return m.ToBytes()
}

// TestSharedPoolThreeServers runs three servers on one segment (every
// client's broadcast reaches all three) allocating from one pool in one
// PostgreSQL: 60 clients race for 40 addresses. Each takes the first offer,
// and the servers it did not choose free theirs when they see its REQUEST.
// No address may be ACKed to two clients, every ACK must be what the table
// holds, no offer may be left held, and the pool must end full.
func TestSharedPoolThreeServers(t *testing.T) {
	pg := pgtest.Start(t)
	url := pg.NewDatabase(t)
	cfg := sharedConfig("192.0.2.100-192.0.2.139")
	var servers []*Server
	var store *inventory.Postgres
	for _, ip := range []string{"192.0.2.1", "192.0.2.2", "192.0.2.3"} {
		s, st := newSharedServer(t, url, ip, cfg)
		servers, store = append(servers, s), st
	}
	ctx := context.Background()
	peer := &net.UDPAddr{IP: net.IPv4zero, Port: 68}
	const clients = 60
	var mu sync.Mutex
	acked := map[string]string{} // mac → ip
	var wg sync.WaitGroup
	for c := range clients {
		wg.Go(func() {
			mac := net.HardwareAddr{0x52, 0x54, 0x00, 0x02, byte(c >> 8), byte(c)}
			for try := 0; try < 8; try++ {
				// DISCOVER reaches all three; the client takes the first offer.
				offers := make([]*dhcpv4.DHCPv4, len(servers))
				var owg sync.WaitGroup
				for i, s := range servers {
					owg.Go(func() { offers[i], _ = s.HandleBytes(ctx, packetOf(t, mac, dhcpv4.MessageTypeDiscover), peer, 67) })
				}
				owg.Wait()
				var chosen *dhcpv4.DHCPv4
				for _, i := range rand.Perm(len(offers)) {
					if offers[i] != nil && offers[i].MessageType() == dhcpv4.MessageTypeOffer {
						chosen = offers[i]
						break
					}
				}
				if chosen == nil {
					time.Sleep(20 * time.Millisecond)
					continue
				}
				req := packetOf(t, mac, dhcpv4.MessageTypeRequest,
					dhcpv4.WithOption(dhcpv4.OptRequestedIPAddress(chosen.YourIPAddr)),
					dhcpv4.WithOption(dhcpv4.OptServerIdentifier(chosen.ServerIdentifier())))
				var got *dhcpv4.DHCPv4
				for _, s := range servers {
					resp, _ := s.HandleBytes(ctx, req, peer, 67)
					if resp != nil && resp.MessageType() == dhcpv4.MessageTypeAck {
						if got != nil {
							t.Errorf("%s: two ACKs for one REQUEST", mac)
						}
						got = resp
					}
				}
				if got == nil {
					continue
				}
				if !bytes.Equal(got.ServerIdentifier().To4(), chosen.ServerIdentifier().To4()) {
					t.Errorf("%s: ACK from %s, chose %s", mac, got.ServerIdentifier(), chosen.ServerIdentifier())
				}
				mu.Lock()
				acked[mac.String()] = got.YourIPAddr.String()
				mu.Unlock()
				return
			}
		})
	}
	wg.Wait()
	byIP := map[string]string{}
	for mac, ip := range acked {
		if other, ok := byIP[ip]; ok {
			t.Errorf("%s ACKed to both %s and %s", ip, other, mac)
		}
		byIP[ip] = mac
	}
	ls, err := store.Leases(ctx)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	held := map[string]inventory.Lease{}
	for _, l := range ls {
		if l.Active(now) {
			held[l.IP] = l
		}
		if l.State == inventory.LeaseOffered && l.Active(now) {
			t.Errorf("offer left held: %+v", l)
		}
	}
	for mac, ip := range acked {
		if l := held[ip]; l.MAC != mac || l.State != inventory.LeaseBound {
			t.Errorf("%s ACKed %s, the table holds %+v", mac, ip, l)
		}
	}
	if len(acked) != 40 {
		t.Errorf("%d clients got a lease; the pool of 40 should be full with %d clients asking", len(acked), clients)
	}
	t.Logf("%d ACKs from 3 servers sharing a pool of 40, %d active rows", len(acked), len(held))
}

// TestSharedStoreOutage stops the real PostgreSQL under a serving server:
// a renewal is ACKed only for the time its stored lease has left (never
// extended), a new client gets nothing, /metrics says the store is down,
// and once PostgreSQL is back leases are given again.
func TestSharedStoreOutage(t *testing.T) {
	pg := pgtest.Start(t)
	url := pg.NewDatabase(t)
	s, st := newSharedServer(t, url, "192.0.2.1", sharedConfig("192.0.2.100-192.0.2.139"))
	ctx := context.Background()
	macA, _ := net.ParseMAC("52:54:00:00:71:0a")
	a := exchange{t, s, macA}
	ip := a.dora()
	// Half the lease has gone by, in the store and in the server's view.
	half := 30 * time.Minute
	stored := storedLease(t, s, ip)
	stored.Expires = stored.Expires.Add(-half)
	stored.Updated = stored.Updated.Add(-half)
	if err := st.SaveLeases(ctx, []inventory.Lease{stored}); err != nil {
		t.Fatal(err)
	}
	s.mu.Lock()
	l := s.alloc.leases[ipv4Of(ip)]
	l.Expires, l.Updated = stored.Expires, stored.Updated
	s.mu.Unlock()

	pg.Stop(t)
	stopped := true
	t.Cleanup(func() {
		if stopped {
			pg.Restart(t)
		}
	})
	renew := packetOf(t, macA, dhcpv4.MessageTypeRequest, dhcpv4.WithClientIP(ip))
	resp, _ := s.HandleBytes(ctx, renew, &net.UDPAddr{IP: ip, Port: 68}, 67)
	if resp == nil || resp.MessageType() != dhcpv4.MessageTypeAck {
		t.Fatalf("renewal during the outage got %v, want an ACK up to the stored expiry", resp)
	}
	left := time.Until(stored.Expires)
	if got := resp.IPAddressLeaseTime(0); got > left || got < left-5*time.Second {
		t.Errorf("renewal ACK states %v; the stored lease has %v left: it must not be extended", got, left)
	}
	macB, _ := net.ParseMAC("52:54:00:00:71:0b")
	if off, _ := s.HandleBytes(ctx, packetOf(t, macB, dhcpv4.MessageTypeDiscover), &net.UDPAddr{IP: net.IPv4zero, Port: 68}, 67); off != nil {
		t.Errorf("a new client was offered %s with the store down", off.YourIPAddr)
	}
	if m := exposition(s.Metrics); !strings.Contains(m, "netkick_dhcp_lease_store_up 0") {
		t.Errorf("metrics during the outage lack netkick_dhcp_lease_store_up 0:\n%s", m)
	}

	pg.Restart(t)
	stopped = false
	if got := storedLease(t, s, ip).Expires; !got.Equal(stored.Expires) {
		t.Errorf("stored expiry changed during the outage: %v, was %v", got, stored.Expires)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		off, _ := s.HandleBytes(ctx, packetOf(t, macB, dhcpv4.MessageTypeDiscover), &net.UDPAddr{IP: net.IPv4zero, Port: 68}, 67)
		if off != nil && off.MessageType() == dhcpv4.MessageTypeOffer {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("no offer 10 s after PostgreSQL came back")
		}
		time.Sleep(100 * time.Millisecond)
	}
	if m := exposition(s.Metrics); !strings.Contains(m, "netkick_dhcp_lease_store_up 1") {
		t.Errorf("metrics after the outage lack netkick_dhcp_lease_store_up 1")
	}
}
