package inventory

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"
)

// testWriteBatchAllOrNone writes a batch of 60 hosts with their events and
// the documents they name, whose 31st host takes the name of a stored host
// (the store refuses it half way through the transaction): nothing of the
// batch is left, not the documents written before, not the hosts, not an
// event, not a removal, and the generation is where it was. The same batch
// without the bad host commits whole, and an empty batch writes nothing.
func testWriteBatchAllOrNone(t *testing.T, s Store, again func() Store) {
	ctx := context.Background()
	keep := Host{MACs: []string{"52:54:00:00:99:01"}, Hostname: "keep"}
	gone := Host{MACs: []string{"52:54:00:00:99:02"}, Hostname: "gone"}
	for _, h := range []Host{keep, gone} {
		if err := s.PutHost(ctx, &h); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.PutLayout(ctx, &Layout{Name: "old"}); err != nil {
		t.Fatal(err)
	}
	if err := s.AddEvent(ctx, Event{HostID: keep.ID(), Kind: "added", Detail: "by the test"}); err != nil {
		t.Fatal(err)
	}
	batch := func(bad bool) *Batch {
		b := &Batch{DeleteHosts: []string{"gone"}, Profiles: []Profile{{Name: "c7", OS: "centos", Version: "7.9"}},
			Layouts: []Layout{{Name: "l1"}}, Clusters: []Cluster{{Name: "web"}}, DeleteLayouts: []string{"old"}}
		for i := range 60 {
			h := Host{MACs: []string{fmt.Sprintf("52:54:00:00:10:%02x", i)}, Hostname: fmt.Sprintf("n%02d", i), Profile: "c7"}
			if bad && i == 30 {
				h.Hostname = "KEEP" // keep's name, in another case
			}
			b.Hosts = append(b.Hosts, h)
			b.Events = append(b.Events, Event{HostID: h.ID(), Time: time.Now(), Kind: "imported", Detail: "added by import"})
		}
		return b
	}
	g0, err := s.Generation(ctx)
	if err != nil {
		t.Fatal(err)
	}
	err = s.WriteBatch(ctx, batch(true))
	if !errors.Is(err, ErrConflict) {
		t.Fatalf("batch with a host holding a stored name: %v, want a conflict", err)
	}
	// What a failed batch leaves, seen from another handle too.
	for _, st := range []Store{s, again()} {
		hs, err := st.ListHosts(ctx, HostFilter{})
		if err != nil || len(hs) != 2 {
			t.Fatalf("after the failed batch: %d hosts (%v), want the 2 stored before", len(hs), err)
		}
		if _, err := st.GetProfile(ctx, "c7"); !errors.Is(err, ErrNotFound) {
			t.Fatalf("profile written before the failure is there: %v", err)
		}
		if _, err := st.GetLayout(ctx, "old"); err != nil {
			t.Fatalf("layout the failed batch removes is gone: %v", err)
		}
		for _, id := range []string{"52:54:00:00:10:00", "52:54:00:00:10:1d"} {
			if ev, _ := st.Events(ctx, id, 0); len(ev) != 0 {
				t.Fatalf("events of %s after the failed batch: %+v", id, ev)
			}
		}
		if g, _ := st.Generation(ctx); g != g0 {
			t.Fatalf("generation %d -> %d after a failed batch", g0, g)
		}
		if st != s {
			st.Close()
		}
	}

	if err := s.WriteBatch(ctx, batch(false)); err != nil {
		t.Fatal(err)
	}
	hs, err := s.ListHosts(ctx, HostFilter{})
	if err != nil || len(hs) != 61 {
		t.Fatalf("after the batch: %d hosts (%v), want 61", len(hs), err)
	}
	for _, h := range hs {
		ev, err := s.Events(ctx, h.ID(), 0)
		if err != nil || len(ev) != 1 {
			t.Fatalf("host %s: %d events (%v), want 1", h.Hostname, len(ev), err)
		}
	}
	if _, err := s.GetHost(ctx, "gone"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("host the batch removes: %v", err)
	}
	if _, err := s.GetLayout(ctx, "old"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("layout the batch removes: %v", err)
	}
	if _, err := s.GetProfile(ctx, "c7"); err != nil {
		t.Fatal(err)
	}
	ch, err := s.HostsChangedSince(ctx, g0)
	if err != nil || len(ch.Changed) != 60 || len(ch.Deleted) != 1 {
		t.Fatalf("changes since the batch: %d changed, %v deleted (%v)", len(ch.Changed), ch.Deleted, err)
	}
	g1, _ := s.Generation(ctx)
	if err := s.WriteBatch(ctx, &Batch{}); err != nil {
		t.Fatal(err)
	}
	if g, _ := s.Generation(ctx); g != g1 {
		t.Fatalf("an empty batch moved the generation %d -> %d", g1, g)
	}
}
