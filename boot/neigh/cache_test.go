package neigh

import (
	"context"
	"errors"
	"net/netip"
	"testing"
	"time"
)

// answers is a table with set answers that counts the lookups (the
// interface is ours; the real table is tested in TestLookupInNetns).
type answers struct {
	m     map[netip.Addr]Entry
	asked int
}

func (a *answers) Lookup(_ context.Context, addr netip.Addr) (Entry, error) {
	a.asked++
	if e, ok := a.m[addr]; ok {
		return e, nil
	}
	return Entry{}, errors.New("lookup failed")
}

func TestCache(t *testing.T) {
	ip := netip.MustParseAddr
	const mac, other = "52:54:00:00:c0:01", "02:00:00:00:66:66"
	cases := []struct {
		name  string
		entry *Entry // nil: the lookup fails
		// after is how long after the first answer the second question
		// comes; wantCached whether it is answered without asking.
		after      time.Duration
		wantCached bool
	}{
		{"attached and resolved, asked again at once: remembered", &Entry{Attached: true, Ifindex: 2, MAC: mac}, 0, true},
		{"attached and resolved, just inside the ttl: remembered", &Entry{Attached: true, Ifindex: 2, MAC: mac}, DefaultCacheTTL - time.Millisecond, true},
		{"attached and resolved, the ttl passed: asked again", &Entry{Attached: true, Ifindex: 2, MAC: mac}, DefaultCacheTTL, false},
		{"attached without a MAC: asked again", &Entry{Attached: true, Ifindex: 2}, 0, false},
		{"not attached (routed, local): asked again", &Entry{}, 0, false},
		{"lookup failed: asked again", nil, 0, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			a := &answers{m: map[netip.Addr]Entry{}}
			if c.entry != nil {
				a.m[ip("192.0.2.10")] = *c.entry
			}
			now := time.Unix(1000, 0)
			cache := NewCache(a, 0, func() time.Time { return now })
			first, cached, err := cache.Recent(context.Background(), ip("192.0.2.10"))
			if cached || a.asked != 1 || (err == nil) != (c.entry != nil) || (c.entry != nil && first != *c.entry) {
				t.Fatalf("first question: %+v cached=%v err=%v after %d lookups; want the table's answer, asked once", first, cached, err, a.asked)
			}
			now = now.Add(c.after)
			// v4-mapped spelling of the same address, as net/http may give it.
			second, cached, err := cache.Recent(context.Background(), ip("::ffff:192.0.2.10"))
			if cached != c.wantCached {
				t.Fatalf("second question cached=%v, want %v", cached, c.wantCached)
			}
			if wantAsked := map[bool]int{true: 1, false: 2}[c.wantCached]; a.asked != wantAsked {
				t.Fatalf("%d lookups, want %d", a.asked, wantAsked)
			}
			if (err == nil) != (c.entry != nil) || (c.entry != nil && second != *c.entry) {
				t.Fatalf("second answer %+v, %v; want the table's", second, err)
			}
		})
	}
	t.Run("Lookup always asks, and what it hears replaces what was remembered", func(t *testing.T) {
		a := &answers{m: map[netip.Addr]Entry{ip("192.0.2.10"): {Attached: true, MAC: mac}}}
		cache := NewCache(a, time.Hour, nil)
		cache.Recent(context.Background(), ip("192.0.2.10"))
		a.m[ip("192.0.2.10")] = Entry{Attached: true, MAC: other}
		if e, _ := cache.Lookup(context.Background(), ip("192.0.2.10")); e.MAC != other || a.asked != 2 {
			t.Fatalf("Lookup = %+v after %d lookups; want the table's new answer", e, a.asked)
		}
		if e, cached, _ := cache.Recent(context.Background(), ip("192.0.2.10")); !cached || e.MAC != other {
			t.Fatalf("Recent = %+v cached=%v; want the new answer remembered", e, cached)
		}
		delete(a.m, ip("192.0.2.10"))
		if _, err := cache.Lookup(context.Background(), ip("192.0.2.10")); err == nil {
			t.Fatal("a failed lookup answered")
		}
		if _, cached, _ := cache.Recent(context.Background(), ip("192.0.2.10")); cached {
			t.Fatal("a failed lookup left the old answer remembered")
		}
	})
	t.Run("bounded", func(t *testing.T) {
		a := &answers{m: map[netip.Addr]Entry{}}
		cache := NewCache(a, time.Hour, nil)
		for i := range cacheMax + 10 {
			addr := netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)})
			a.m[addr] = Entry{Attached: true, MAC: mac}
			cache.Lookup(context.Background(), addr)
		}
		if n := len(cache.seen); n > cacheMax {
			t.Fatalf("%d addresses remembered, want at most %d", n, cacheMax)
		}
	})
}
