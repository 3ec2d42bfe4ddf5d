package bind

import (
	"context"
	"errors"
	"net/netip"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/netkick/netkick/boot"
	"github.com/netkick/netkick/boot/neigh"
	"github.com/netkick/netkick/inventory"
)

// table is a neighbour table with fixed answers (the interface is ours; the
// real one is tested against kernel tables in boot/neigh).
type table map[netip.Addr]neigh.Entry

func (t table) Lookup(_ context.Context, a netip.Addr) (neigh.Entry, error) {
	if e, ok := t[a]; ok {
		return e, nil
	}
	return neigh.Entry{}, errors.New("lookup failed")
}

// TestBinderGathers: the addresses come from the reservation and from the
// current lease of every MAC of the host, in a real store; the neighbour
// table is asked only about an address the host holds.
func TestBinderGathers(t *testing.T) {
	st, err := inventory.OpenSQLite(filepath.Join(t.TempDir(), "inventory.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	ctx := context.Background()
	now := time.Now()
	if err := st.SaveLeases(ctx, []inventory.Lease{
		{IP: "192.0.2.21", MAC: "52:54:00:00:b0:02", State: inventory.LeaseBound, Expires: now.Add(time.Hour)},
		{IP: "192.0.2.30", MAC: "52:54:00:00:b0:01", State: inventory.LeaseBound, Expires: now.Add(-time.Minute)}, // expired
	}); err != nil {
		t.Fatal(err)
	}
	h := &inventory.Host{MACs: []string{"52:54:00:00:b0:01", "52:54:00:00:b0:02"}, Hostname: "b01", IP: "192.0.2.20"}
	ip := netip.MustParseAddr
	nt := table{
		ip("192.0.2.20"): {Attached: true, MAC: "52:54:00:00:b0:01"},
		ip("192.0.2.21"): {Attached: true, MAC: "02:00:00:00:66:66"},
	}
	b := &Binder{Leases: st, Neigh: nt}
	tests := []struct {
		name   string
		remote string
		refuse string
	}{
		{"reservation, own MAC", "192.0.2.20", ""},
		{"second MAC's lease, attacker's MAC in the table", "192.0.2.21", "not one of the host's MACs"},
		{"expired lease is no address", "192.0.2.30", "not the host's address"},
		{"stranger: the table is not even asked", "192.0.2.66", "not the host's address"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := b.Check(ctx, h, ip(tc.remote))
			if tc.refuse == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			var r *boot.Refusal
			if !errors.As(err, &r) || !strings.Contains(r.Reason, tc.refuse) {
				t.Fatalf("got %v; want a refusal containing %q", err, tc.refuse)
			}
		})
	}
	in, err := b.Gather(ctx, h, ip("192.0.2.20"))
	if err != nil || len(in.Known) != 2 {
		t.Fatalf("known addresses %v, %v; want the reservation and the live lease", in.Known, err)
	}
	// A table that cannot answer withholds the token (an error, not a pass).
	if err := b.Check(ctx, &inventory.Host{MACs: []string{"52:54:00:00:c0:01"}, Hostname: "c01", IP: "192.0.2.40"}, ip("192.0.2.40")); err == nil {
		t.Fatal("a failed neighbour lookup bound the request")
	}
	// Address-only mode: no table.
	if err := (&Binder{Leases: st}).Check(ctx, h, ip("192.0.2.21")); err != nil {
		t.Fatalf("address-only binding refused the host's leased address: %v", err)
	}
}

// counted is a table whose answers can change, counting the lookups.
type counted struct {
	table
	asked int
}

func (c *counted) Lookup(ctx context.Context, a netip.Addr) (neigh.Entry, error) {
	c.asked++
	return c.table.Lookup(ctx, a)
}

// TestBinderMemo: over a neigh.Memo, the checks made in one request's
// context (neigh.WithMemo) ask the table once and bind on that answer; a
// check in another request asks the table again, so an attacker that took
// the address over with its own MAC a moment after the machine's request is
// refused on what the table says now.
func TestBinderMemo(t *testing.T) {
	ip := netip.MustParseAddr
	const own, attacker = "52:54:00:00:d0:01", "02:00:00:00:66:66"
	h := &inventory.Host{MACs: []string{own}, Hostname: "d01", IP: "192.0.2.50"}
	tab := &counted{table: table{ip("192.0.2.50"): {Attached: true, MAC: own}}}
	b := &Binder{Neigh: neigh.NewMemo(tab)}

	req := neigh.WithMemo(context.Background())
	if err := b.Check(req, h, ip("192.0.2.50")); err != nil || tab.asked != 1 {
		t.Fatalf("first check: %v after %d lookups; want bound, asked once", err, tab.asked)
	}
	if err := b.Check(neigh.WithMemo(req), h, ip("::ffff:192.0.2.50")); err != nil || tab.asked != 1 {
		t.Fatalf("the same request checked again: %v after %d lookups; want bound on its answer", err, tab.asked)
	}

	// The attacker takes the address: its request has its own memo, and
	// a check without a memo asks as well.
	tab.table[ip("192.0.2.50")] = neigh.Entry{Attached: true, MAC: attacker}
	var r *boot.Refusal
	if err := b.Check(neigh.WithMemo(context.Background()), h, ip("192.0.2.50")); !errors.As(err, &r) || tab.asked != 2 {
		t.Fatalf("another request after the takeover: %v after %d lookups; want refused on a fresh lookup", err, tab.asked)
	}
	if err := b.Check(context.Background(), h, ip("192.0.2.50")); !errors.As(err, &r) || tab.asked != 3 {
		t.Fatalf("a check without a memo: %v after %d lookups; want refused on a fresh lookup", err, tab.asked)
	}

	// A failed lookup is not remembered: the request asks again.
	failing := &counted{table: table{}}
	b = &Binder{Neigh: neigh.NewMemo(failing)}
	req = neigh.WithMemo(context.Background())
	for i := 1; i <= 2; i++ {
		if err := b.Check(req, h, ip("192.0.2.50")); err == nil || failing.asked != i {
			t.Fatalf("check %d with the table failing: %v after %d lookups; want an error, asked each time", i, err, failing.asked)
		}
	}
}
