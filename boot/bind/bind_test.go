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

// TestBinderRecentAnswers: over a neigh.Cache, a request checked again a
// moment later binds on the table's recent answer without asking it; a
// refusal made on a recent answer is made again on what the table says
// now, so a table that changed to the host's MAC binds, and one that
// changed away refuses once the answer is old.
func TestBinderRecentAnswers(t *testing.T) {
	ctx := context.Background()
	ip := netip.MustParseAddr
	const own, attacker = "52:54:00:00:d0:01", "02:00:00:00:66:66"
	h := &inventory.Host{MACs: []string{own}, Hostname: "d01", IP: "192.0.2.50"}
	tab := &counted{table: table{ip("192.0.2.50"): {Attached: true, MAC: own}}}
	now := time.Unix(1000, 0)
	b := &Binder{Neigh: neigh.NewCache(tab, time.Second, func() time.Time { return now })}

	if err := b.Check(ctx, h, ip("192.0.2.50")); err != nil || tab.asked != 1 {
		t.Fatalf("first check: %v after %d lookups; want bound, asked once", err, tab.asked)
	}
	if err := b.Check(ctx, h, ip("192.0.2.50")); err != nil || tab.asked != 1 {
		t.Fatalf("second check at once: %v after %d lookups; want bound on the recent answer", err, tab.asked)
	}

	// The table now says the attacker's MAC: within the second the recent
	// answer binds; after it, the table is asked and refuses.
	tab.table[ip("192.0.2.50")] = neigh.Entry{Attached: true, MAC: attacker}
	now = now.Add(time.Second)
	var r *boot.Refusal
	if err := b.Check(ctx, h, ip("192.0.2.50")); !errors.As(err, &r) || tab.asked != 2 {
		t.Fatalf("after the answer's second: %v after %d lookups; want refused on a fresh lookup", err, tab.asked)
	}
	// The refusal is not remembered as a pass, and a recent refusing answer
	// is asked again: the table has the host's MAC again.
	tab.table[ip("192.0.2.50")] = neigh.Entry{Attached: true, MAC: own}
	if err := b.Check(ctx, h, ip("192.0.2.50")); err != nil {
		t.Fatalf("table back at the host's MAC: %v", err)
	}
	// A recent answer that refuses (remembered from a lookup made for
	// another host at the same address) is looked up again before refusing.
	other := &inventory.Host{MACs: []string{"52:54:00:00:d0:02"}, Hostname: "d02", IP: "192.0.2.50"}
	tab.table[ip("192.0.2.50")] = neigh.Entry{Attached: true, MAC: "52:54:00:00:d0:02"}
	before := tab.asked
	if err := b.Check(ctx, other, ip("192.0.2.50")); err != nil || tab.asked != before+1 {
		t.Fatalf("a recent answer naming another MAC: %v after %d more lookups; want bound after one fresh lookup", err, tab.asked-before)
	}
}
