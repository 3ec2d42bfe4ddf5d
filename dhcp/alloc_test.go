package dhcp

import (
	"context"
	"errors"
	"net/netip"
	"testing"
	"time"

	"github.com/netkick/netkick/inventory"
)

func testSubnets(t *testing.T, pools ...string) []*subnet {
	t.Helper()
	sc := SubnetConfig{CIDR: "192.0.2.0/24", Pools: pools, Router: "192.0.2.1", Lease: "1h"}
	s, err := sc.parse()
	if err != nil {
		t.Fatal(err)
	}
	return []*subnet{s}
}

func ip(s string) uint32 { return u32(netip.MustParseAddr(s)) }

const (
	macA = "52:54:00:00:00:0a"
	macB = "52:54:00:00:00:0b"
)

func TestAllocator(t *testing.T) {
	t0 := time.Unix(1_700_000_000, 0)
	type step func(t *testing.T, a *allocator)
	offer := func(mac string, res, req uint32, now time.Time, want string, wantErr error) step {
		return func(t *testing.T, a *allocator) {
			t.Helper()
			got, err := a.offer(0, mac, res, req, now)
			if wantErr != nil {
				if !errors.Is(err, wantErr) {
					t.Fatalf("offer(%s) err = %v, want %v", mac, err, wantErr)
				}
				return
			}
			if err != nil || addrOf(got).String() != want {
				t.Fatalf("offer(%s) = %s, %v; want %s", mac, addrOf(got), err, want)
			}
		}
	}
	bind := func(mac, addr string, res uint32, now time.Time, wantErr error) step {
		return func(t *testing.T, a *allocator) {
			t.Helper()
			ls, err := a.bind(0, mac, ip(addr), res, "", now)
			if wantErr != nil {
				if !errors.Is(err, wantErr) {
					t.Fatalf("bind(%s, %s) err = %v, want %v", mac, addr, err, wantErr)
				}
				return
			}
			if err != nil || ls[0].IP != addr || ls[0].MAC != mac || ls[0].State != inventory.LeaseBound {
				t.Fatalf("bind(%s, %s) = %+v, %v", mac, addr, ls, err)
			}
		}
	}
	reserve := func(addr string, macs ...string) step {
		return func(t *testing.T, a *allocator) { a.reserved[ip(addr)] = macs }
	}
	tests := []struct {
		name  string
		pools []string
		steps []step
	}{
		{"first client gets the first pool address", []string{"192.0.2.100-192.0.2.101"}, []step{
			offer(macA, 0, 0, t0, "192.0.2.100", nil),
		}},
		{"an offered address is not offered to another client", []string{"192.0.2.100-192.0.2.101"}, []step{
			offer(macA, 0, 0, t0, "192.0.2.100", nil),
			offer(macB, 0, 0, t0, "192.0.2.101", nil),
		}},
		{"the same client gets its offer again", []string{"192.0.2.100-192.0.2.101"}, []step{
			offer(macA, 0, 0, t0, "192.0.2.100", nil),
			bind(macA, "192.0.2.100", 0, t0, nil),
			offer(macA, 0, 0, t0.Add(time.Minute), "192.0.2.100", nil),
		}},
		{"pool exhausted", []string{"192.0.2.100"}, []step{
			offer(macA, 0, 0, t0, "192.0.2.100", nil),
			offer(macB, 0, 0, t0, "", errPoolFull),
		}},
		{"an expired offer frees the address", []string{"192.0.2.100"}, []step{
			offer(macA, 0, 0, t0, "192.0.2.100", nil),
			offer(macB, 0, 0, t0.Add(offerHold+time.Second), "192.0.2.100", nil),
		}},
		{"a bound address is never bound to a second MAC", []string{"192.0.2.100-192.0.2.101"}, []step{
			bind(macA, "192.0.2.100", 0, t0, nil),
			bind(macB, "192.0.2.100", 0, t0.Add(time.Minute), errAddrTaken),
		}},
		{"an expired lease may go to another MAC", []string{"192.0.2.100"}, []step{
			bind(macA, "192.0.2.100", 0, t0, nil),
			offer(macB, 0, 0, t0.Add(2*time.Hour), "192.0.2.100", nil),
			bind(macB, "192.0.2.100", 0, t0.Add(2*time.Hour), nil),
		}},
		{"requested address honoured when free", []string{"192.0.2.100-192.0.2.110"}, []step{
			offer(macA, 0, ip("192.0.2.105"), t0, "192.0.2.105", nil),
		}},
		{"address outside the pools is refused", []string{"192.0.2.100-192.0.2.110"}, []step{
			bind(macA, "192.0.2.50", 0, t0, errNotOurs),
		}},
		{"address outside the subnet is refused", []string{"192.0.2.100-192.0.2.110"}, []step{
			bind(macA, "198.18.0.5", 0, t0, errWrongSubnet),
		}},
		{"reservation outside the pools is offered and bound", []string{"192.0.2.100-192.0.2.110"}, []step{
			offer(macA, ip("192.0.2.20"), 0, t0, "192.0.2.20", nil),
			bind(macA, "192.0.2.20", ip("192.0.2.20"), t0, nil),
		}},
		{"host with a reservation may not take a pool address", []string{"192.0.2.100-192.0.2.110"}, []step{
			bind(macA, "192.0.2.100", ip("192.0.2.20"), t0, errReservedElse),
		}},
		{"reservation held by another MAC is refused", []string{"192.0.2.100-192.0.2.110"}, []step{
			bind(macB, "192.0.2.100", 0, t0, nil),
			offer(macA, ip("192.0.2.100"), 0, t0, "", errReservedInUse),
		}},
		{"a host's other MAC takes its reservation from a lease and an offer of the first", []string{"192.0.2.100-192.0.2.110"}, []step{
			reserve("192.0.2.20", macA, macB),
			bind(macA, "192.0.2.20", ip("192.0.2.20"), t0, nil),
			offer(macB, ip("192.0.2.20"), 0, t0.Add(time.Second), "192.0.2.20", nil),
			bind(macB, "192.0.2.20", ip("192.0.2.20"), t0.Add(time.Second), nil),
			offer(macA, ip("192.0.2.20"), 0, t0.Add(2*time.Second), "192.0.2.20", nil),
			func(t *testing.T, a *allocator) {
				if _, ok := a.bound(0, macB, t0.Add(2*time.Second)); !ok {
					t.Fatal("an offer to the first MAC ended the second MAC's lease")
				}
				if _, ok := a.bound(0, macA, t0.Add(2*time.Second)); ok {
					t.Fatal("the first MAC still holds the lease the second took")
				}
			},
		}},
		{"a MAC of another host may not take a reservation", []string{"192.0.2.100-192.0.2.110"}, []step{
			reserve("192.0.2.20", macA),
			bind(macB, "192.0.2.20", ip("192.0.2.20"), t0, errAddrTaken),
			offer(macB, ip("192.0.2.20"), 0, t0, "", errReservedInUse),
		}},
		{"a reservation the host declined is refused as declined, not as another client's", []string{"192.0.2.100-192.0.2.110"}, []step{
			bind(macA, "192.0.2.20", ip("192.0.2.20"), t0, nil),
			func(t *testing.T, a *allocator) { a.decline(macA, ip("192.0.2.20"), time.Hour, t0) },
			offer(macA, ip("192.0.2.20"), 0, t0.Add(time.Second), "", errReservedDeclined),
		}},
		{"a repeated DISCOVER gets its held offer again, not the next address", []string{"192.0.2.100-192.0.2.110"}, []step{
			offer(macA, 0, 0, t0, "192.0.2.100", nil),
			func(t *testing.T, a *allocator) {
				for i := 0; i < 5; i++ {
					if got, err := a.offerAgain(0, macA, ip("192.0.2.100"), 0, t0.Add(time.Second)); err != nil || got != ip("192.0.2.100") {
						t.Fatalf("offerAgain = %s, %v", addrOf(got), err)
					}
				}
				if len(a.offers) != 1 || len(a.offerOf) != 1 {
					t.Fatalf("%d offers, %d offer index entries; want 1, 1", len(a.offers), len(a.offerOf))
				}
			},
		}},
		{"a new offer of another address drops the MAC's old one", []string{"192.0.2.100-192.0.2.110"}, []step{
			offer(macA, 0, 0, t0, "192.0.2.100", nil),
			offer(macA, 0, ip("192.0.2.105"), t0.Add(offerHold+time.Second), "192.0.2.105", nil),
			func(t *testing.T, a *allocator) {
				if _, held := a.offers[ip("192.0.2.100")]; held || len(a.offerOf) != 1 {
					t.Fatalf("old offer still held: offers %v", a.offers)
				}
			},
		}},
		{"binding a lapsed offer of another MAC leaves no stale index", []string{"192.0.2.100"}, []step{
			offer(macA, 0, 0, t0, "192.0.2.100", nil),
			bind(macB, "192.0.2.100", 0, t0.Add(offerHold+time.Second), nil),
			func(t *testing.T, a *allocator) {
				if len(a.offers) != 0 || len(a.offerOf) != 0 {
					t.Fatalf("offers %v, index %v; want none", a.offers, a.offerOf)
				}
			},
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a := newAllocator(testSubnets(t, tc.pools...), nil)
			for _, s := range tc.steps {
				s(t, a)
			}
		})
	}
}

func TestAllocatorReleaseDeclineReload(t *testing.T) {
	t0 := time.Unix(1_700_000_000, 0)
	a := newAllocator(testSubnets(t, "192.0.2.100-192.0.2.101"), nil)
	ls, err := a.bind(0, macA, ip("192.0.2.100"), 0, "a", t0)
	if err != nil {
		t.Fatal(err)
	}
	// Reload from what the store would hold: the lease survives, still MAC A's.
	b := newAllocator(testSubnets(t, "192.0.2.100-192.0.2.101"), ls)
	if _, err := b.bind(0, macB, ip("192.0.2.100"), 0, "", t0.Add(time.Minute)); !errors.Is(err, errAddrTaken) {
		t.Fatalf("after reload, another MAC bound a held address: %v", err)
	}
	if got, _ := b.offer(0, macA, 0, 0, t0.Add(time.Minute)); got != ip("192.0.2.100") {
		t.Fatalf("after reload, A offered %s", addrOf(got))
	}
	// RELEASE frees it for B.
	if r := b.release(macA, ip("192.0.2.100"), t0.Add(2*time.Minute)); len(r) != 1 || r[0].State != inventory.LeaseReleased {
		t.Fatalf("release = %+v", r)
	}
	if r := b.release(macB, ip("192.0.2.100"), t0.Add(2*time.Minute)); r != nil {
		t.Fatalf("B released A's address: %+v", r)
	}
	b.forget(0, macA)
	if _, err := b.bind(0, macB, ip("192.0.2.100"), 0, "", t0.Add(3*time.Minute)); err != nil {
		t.Fatalf("bind after release: %v", err)
	}
	// DECLINE takes the address out of the pool; B gets the other one.
	if d := b.decline(macB, ip("192.0.2.100"), time.Hour, t0.Add(4*time.Minute)); len(d) != 1 || d[0].State != inventory.LeaseDeclined {
		t.Fatalf("decline = %+v", d)
	}
	got, err := b.offer(0, macB, 0, 0, t0.Add(5*time.Minute))
	if err != nil || got != ip("192.0.2.101") {
		t.Fatalf("offer after decline = %s, %v", addrOf(got), err)
	}
	if _, err := b.offer(0, macA, 0, 0, t0.Add(5*time.Minute)); !errors.Is(err, errPoolFull) {
		t.Fatalf("declined address offered again: %v", err)
	}
}

func TestConfigNormalize(t *testing.T) {
	tests := []struct {
		name    string
		cfg     Config
		wantErr bool
	}{
		{"off needs nothing", Config{}, false},
		{"full needs an interface", Config{Mode: "full", Subnets: []SubnetConfig{{CIDR: "192.0.2.0/24"}}}, true},
		{"full needs a subnet", Config{Mode: "full", Interface: "eth1"}, true},
		{"proxy needs no subnet", Config{Mode: "proxy", Interface: "eth1"}, false},
		{"bad mode", Config{Mode: "on"}, true},
		{"bad unknown policy", Config{Unknown: "allow"}, true},
		{"valid full", Config{Mode: "full", Interface: "eth1", Subnets: []SubnetConfig{{CIDR: "192.0.2.0/24", Pools: []string{"192.0.2.100-192.0.2.200"}, Router: "192.0.2.1", DNS: []string{"192.0.2.1"}, Lease: "1h"}}}, false},
		{"pool outside cidr", Config{Mode: "full", Interface: "eth1", Subnets: []SubnetConfig{{CIDR: "192.0.2.0/24", Pools: []string{"198.18.0.10-198.18.0.20"}}}}, true},
		{"pool reversed", Config{Mode: "full", Interface: "eth1", Subnets: []SubnetConfig{{CIDR: "192.0.2.0/24", Pools: []string{"192.0.2.20-192.0.2.10"}}}}, true},
		{"pools overlap", Config{Mode: "full", Interface: "eth1", Subnets: []SubnetConfig{{CIDR: "192.0.2.0/24", Pools: []string{"192.0.2.10-192.0.2.20", "192.0.2.15-192.0.2.30"}}}}, true},
		{"router outside cidr", Config{Mode: "full", Interface: "eth1", Subnets: []SubnetConfig{{CIDR: "192.0.2.0/24", Router: "198.18.0.1"}}}, true},
		{"lease too short", Config{Mode: "full", Interface: "eth1", Subnets: []SubnetConfig{{CIDR: "192.0.2.0/24", Lease: "5s"}}}, true},
		{"subnets overlap", Config{Mode: "full", Interface: "eth1", Subnets: []SubnetConfig{{CIDR: "192.0.2.0/24"}, {CIDR: "192.0.2.128/25"}}}, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := tc.cfg
			err := c.Normalize()
			if (err != nil) != tc.wantErr {
				t.Fatalf("Normalize() = %v, wantErr %v", err, tc.wantErr)
			}
		})
	}
}

func TestLeaseReusable(t *testing.T) {
	now := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	const mac = "52:54:00:00:00:01"
	bound := func(granted time.Duration, f func(*inventory.Lease)) *inventory.Lease {
		l := &inventory.Lease{IP: "192.0.2.10", MAC: mac, State: inventory.LeaseBound, Hostname: "h1",
			Expires: now.Add(-granted).Add(time.Hour), Updated: now.Add(-granted)}
		if f != nil {
			f(l)
		}
		return l
	}
	tests := []struct {
		name string
		l    *inventory.Lease
		ok   bool
		left time.Duration
	}{
		{"granted 3 s ago: the firmware's lease, asked again by iPXE", bound(3*time.Second, nil), true, time.Hour - 3*time.Second},
		{"granted just now, sub-second left over is dropped", bound(300*time.Millisecond, nil), true, time.Hour - time.Second},
		{"granted 15 min ago: still a quarter", bound(15*time.Minute, nil), true, 45 * time.Minute},
		{"granted 16 min ago: renewed with a write", bound(16*time.Minute, nil), false, 0},
		{"no lease", nil, false, 0},
		{"another MAC's lease", bound(time.Second, func(l *inventory.Lease) { l.MAC = "52:54:00:00:00:02" }), false, 0},
		{"released", bound(time.Second, func(l *inventory.Lease) { l.State = inventory.LeaseReleased }), false, 0},
		{"hostname changed", bound(time.Second, func(l *inventory.Lease) { l.Hostname = "old" }), false, 0},
		{"expired", bound(2*time.Hour, nil), false, 0},
		{"longer than the lease time (the subnet's lease was shortened)", bound(0, func(l *inventory.Lease) { l.Expires = now.Add(2 * time.Hour) }), false, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			left, ok := leaseReusable(tc.l, mac, "h1", time.Hour, now)
			if ok != tc.ok || left != tc.left {
				t.Errorf("leaseReusable = %v, %v; want %v, %v", left, ok, tc.left, tc.ok)
			}
		})
	}
}

func TestStoredLeft(t *testing.T) {
	now := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	const mac = "52:54:00:00:00:01"
	bound := func(left time.Duration) *inventory.Lease {
		return &inventory.Lease{IP: "192.0.2.100", MAC: mac, State: inventory.LeaseBound, Expires: now.Add(left)}
	}
	tests := []struct {
		name string
		prev *inventory.Lease
		mac  string
		want time.Duration
	}{
		{"no stored lease: nothing to ACK", nil, mac, 0},
		{"the client's lease: the whole seconds it has left", bound(30*time.Minute + 500*time.Millisecond), mac, 30 * time.Minute},
		{"another client's lease: nothing", bound(time.Hour), "52:54:00:00:00:02", 0},
		{"expired: nothing", bound(-time.Second), mac, 0},
		{"under a second left: nothing", bound(900 * time.Millisecond), mac, 0},
		{"released: nothing", &inventory.Lease{MAC: mac, State: inventory.LeaseReleased, Expires: now.Add(time.Hour)}, mac, 0},
		{"never more than the lease time", bound(3 * time.Hour), mac, time.Hour},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := storedLeft(tt.prev, tt.mac, time.Hour, now); got != tt.want {
				t.Errorf("storedLeft = %v, want %v", got, tt.want)
			}
		})
	}
}

// TestClaimBackoff: while the shared store fails, batches within the
// backoff fail at once without trying it, the backoff doubles up to its
// bound, and a success resets it.
func TestClaimBackoff(t *testing.T) {
	tries := 0
	fail := true
	c := newCommitter(nil)
	c.claim = func(context.Context, []inventory.LeaseClaim) ([]inventory.ClaimResult, error) {
		tries++
		if fail {
			return nil, errors.New("connection refused")
		}
		return []inventory.ClaimResult{{Won: true}}, nil
	}
	c.storeErr = func(error) {}
	one := []inventory.LeaseClaim{{Lease: inventory.Lease{IP: "192.0.2.100"}}}
	ctx := context.Background()
	if _, err := c.sendClaims(ctx, one); err == nil || tries != 1 {
		t.Fatalf("first failure: err %v, tries %d", err, tries)
	}
	if _, err := c.sendClaims(ctx, one); err == nil || tries != 1 {
		t.Errorf("within the backoff the store was tried again (tries %d) or err %v", tries, err)
	}
	if c.retry != minRetry {
		t.Errorf("backoff %v, want %v", c.retry, minRetry)
	}
	for range 10 {
		c.nextTry = time.Time{} // the backoff has passed
		c.sendClaims(ctx, one)
	}
	if c.retry != maxRetry {
		t.Errorf("backoff after 11 failures %v, want the bound %v", c.retry, maxRetry)
	}
	fail = false
	c.nextTry = time.Time{}
	if _, err := c.sendClaims(ctx, one); err != nil || c.retry != 0 || c.lastErr != nil {
		t.Errorf("after a success: err %v, backoff %v, last error %v", err, c.retry, c.lastErr)
	}
}
