package inventory

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/netkick/netkick/internal/pgtest"
)

// storeCase is one test of the Store contract: s is a fresh, empty store;
// again opens another handle on the same data (as another process or a
// restarted server would); the caller closes it.
type storeCase struct {
	name string
	fn   func(t *testing.T, s Store, again func() Store)
}

var storeCases = []storeCase{
	{"HostCRUD", testHostCRUD},
	{"PutHostRejectsInjection", testPutHostRejectsInjection},
	{"EventsCapped", testEventsCapped},
	{"DocsAndReopen", testDocsAndReopen},
	{"GenerationSeesOtherHandles", testGenerationSeesOtherHandles},
	{"LeasesSaveReplaceReopen", testLeasesSaveReplaceReopen},
	{"SaveLeasesRejectsBadAddress", testSaveLeasesRejectsBadAddress},
	{"SaveLeasesBatchOrder", testSaveLeasesBatchOrder},
	{"LeaseIP", testLeaseIP},
	{"HostIDByLease", testHostIDByLease},
	{"FetchFloodKeepsStateEvents", testFetchFloodKeepsStateEvents},
	{"LoggedWritesCommitWithTheirEvent", testLoggedWrites},
	{"PutHostsAllOrNone", testPutHostsAllOrNone},
	{"WriteBatchAllOrNone", testWriteBatchAllOrNone},
	{"Tokens", testTokens},
	{"DiscoveredRecordMerge", testDiscoveredRecordMerge},
	{"DiscoveredCapEvictsOldest", testDiscoveredCapEvictsOldest},
	{"DiscoveredUntrustedTextIsData", testDiscoveredUntrustedText},
	{"HostKeepsFacts", testHostKeepsFacts},
	{"HostsChangedSince", testHostsChangedSince},
	{"TombstonesPruned", testTombstonesPruned},
	{"EventsInTheOrderTheyHappened", testEventsTimeOrder},
	{"BMCCRUD", testBMCCRUD},
	{"BMCPowerState", testBMCPowerState},
	{"BMCRemovedWithHost", testBMCRemovedWithHost},
	{"BMCInWriteBatch", testBMCInWriteBatch},
}

// testEventsTimeOrder: an event written late (queued under load) but
// stamped when it happened takes its place in the timeline; events with the
// same time keep the order they were written in.
func testEventsTimeOrder(t *testing.T, s Store, _ func() Store) {
	ctx := context.Background()
	h := &Host{MACs: []string{"52:54:00:00:00:31"}, Hostname: "t01"}
	if err := s.PutHost(ctx, h); err != nil {
		t.Fatal(err)
	}
	t0 := time.Now().Add(-time.Minute)
	for _, e := range []Event{
		{Kind: "dhcp-offer", Time: t0},
		{Kind: "tftp", Detail: "sent pxelinux.0", Time: t0.Add(2 * time.Second)},
		{Kind: "dhcp-ack", Time: t0.Add(time.Second)}, // written after the tftp event
		{Kind: "kickstart", Detail: "a", Time: t0.Add(3 * time.Second)},
		{Kind: "kickstart", Detail: "b", Time: t0.Add(3 * time.Second)},
	} {
		e.HostID = h.ID()
		if err := s.AddEvent(ctx, e); err != nil {
			t.Fatal(err)
		}
	}
	ev, err := s.Events(ctx, h.ID(), 0)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range ev {
		got = append(got, e.Kind+e.Detail)
	}
	if want := "dhcp-offer dhcp-ack tftpsent pxelinux.0 kickstarta kickstartb"; fmt.Sprint(strings.Join(got, " ")) != want {
		t.Errorf("timeline %q, want %q", strings.Join(got, " "), want)
	}
}

// TestStoreConformance runs every case against the SQLite store and against
// the PostgreSQL store (a real PostgreSQL 15 started for the test, one
// fresh database per case).
func TestStoreConformance(t *testing.T) {
	t.Run("sqlite", func(t *testing.T) {
		runStoreCases(t, func(t *testing.T) func() (Store, error) {
			path := filepath.Join(t.TempDir(), "inventory.db")
			return func() (Store, error) { return OpenSQLite(path) }
		})
	})
	t.Run("postgres", func(t *testing.T) {
		srv := pgtest.Start(t)
		runStoreCases(t, func(t *testing.T) func() (Store, error) {
			url := srv.NewDatabase(t)
			return func() (Store, error) { return OpenPostgres(context.Background(), url) }
		})
	})
}

// runStoreCases runs every case on fresh storage: newStorage makes it and
// returns how to open a handle on it.
func runStoreCases(t *testing.T, newStorage func(t *testing.T) func() (Store, error)) {
	for _, c := range storeCases {
		t.Run(c.name, func(t *testing.T) {
			openStore := newStorage(t)
			open := func() Store {
				s, err := openStore()
				if err != nil {
					t.Fatal(err)
				}
				return s
			}
			s := open()
			t.Cleanup(func() { s.Close() })
			c.fn(t, s, open)
		})
	}
}

func setEventCap(s Store, n int) {
	switch s := s.(type) {
	case *SQLite:
		s.eventCap = n
	case *Postgres:
		s.eventCap = n
	}
}

// countRows runs a count query on the store's own database.
func countRows(s Store, q string) (int, error) {
	var n int
	switch s := s.(type) {
	case *SQLite:
		return n, s.db.QueryRow(q).Scan(&n)
	case *Postgres:
		return n, s.pool.QueryRow(context.Background(), q).Scan(&n)
	}
	return 0, fmt.Errorf("countRows: unknown store %T", s)
}

func testLoggedWrites(t *testing.T, s Store, _ func() Store) {
	ctx := context.Background()
	h := &Host{MACs: []string{"52:54:00:00:00:01"}, Hostname: "a01"}
	if err := s.PutHostLogged(ctx, h, Event{Kind: "added", Detail: "by test"}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.UpdateHostLogged(ctx, "a01", func(h *Host) (*Event, error) {
		h.Roles = []string{"web"}
		return &Event{Kind: "tagged", Detail: "web"}, nil
	}); err != nil {
		t.Fatal(err)
	}
	// A failing fn changes nothing and records nothing.
	boom := errors.New("boom")
	if _, err := s.UpdateHostLogged(ctx, "a01", func(h *Host) (*Event, error) {
		h.Roles = []string{"db"}
		return &Event{Kind: "tagged", Detail: "db"}, boom
	}); !errors.Is(err, boom) {
		t.Fatalf("failing update: %v", err)
	}
	// Changing the identity is refused, with its event.
	if _, err := s.UpdateHostLogged(ctx, "a01", func(h *Host) (*Event, error) {
		h.MACs = []string{"52:54:00:00:00:02"}
		return &Event{Kind: "renamed"}, nil
	}); !errors.Is(err, ErrInvalid) {
		t.Fatalf("identity change: %v", err)
	}
	got, err := s.GetHost(ctx, "52:54:00:00:00:01")
	if err != nil || len(got.Roles) != 1 || got.Roles[0] != "web" {
		t.Fatalf("host after updates: %+v %v", got, err)
	}
	ev, err := s.Events(ctx, got.ID(), 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(ev) != 2 || ev[0].Kind != "added" || ev[1].Kind != "tagged" || ev[1].Detail != "web" {
		t.Fatalf("timeline: %+v", ev)
	}
	if _, err := s.UpdateHostLogged(ctx, "nope", func(h *Host) (*Event, error) { return nil, nil }); !errors.Is(err, ErrNotFound) {
		t.Fatalf("update of a missing host: %v", err)
	}
}

func testPutHostsAllOrNone(t *testing.T, s Store, _ func() Store) {
	ctx := context.Background()
	g0, err := s.Generation(ctx)
	if err != nil {
		t.Fatal(err)
	}
	bad := []Host{
		{MACs: []string{"52:54:00:00:00:01"}, Hostname: "a01"},
		{MACs: []string{"52:54:00:00:00:02"}, Hostname: "A01"}, // a01's name
	}
	if err := s.PutHosts(ctx, bad); !errors.Is(err, ErrConflict) {
		t.Fatalf("conflicting batch: %v", err)
	}
	if list, _ := s.ListHosts(ctx, HostFilter{}); len(list) != 0 {
		t.Fatalf("failed batch left %d hosts", len(list))
	}
	good := []Host{
		{MACs: []string{"52:54:00:00:00:01"}, Hostname: "a01", Cluster: "c1"},
		{MACs: []string{"52:54:00:00:00:02"}, Hostname: "a02"},
	}
	if err := s.PutHosts(ctx, good); err != nil {
		t.Fatal(err)
	}
	list, err := s.ListHosts(ctx, HostFilter{Cluster: "c1"})
	if err != nil || len(list) != 1 || list[0].Hostname != "a01" {
		t.Fatalf("ListHosts cluster=c1: %+v %v", list, err)
	}
	if g, _ := s.Generation(ctx); g == g0 {
		t.Fatal("generation unchanged by PutHosts")
	}
	if err := s.PutCluster(ctx, &Cluster{Name: "c1", Subnet: "192.0.2.0/24"}); err != nil {
		t.Fatal(err)
	}
	cs, err := s.ListClusters(ctx)
	if err != nil || len(cs) != 1 || cs[0].Subnet != "192.0.2.0/24" {
		t.Fatalf("clusters: %+v %v", cs, err)
	}
	if err := s.PutLayout(ctx, &Layout{Name: "l1"}); err != nil {
		t.Fatal(err)
	}
	if l, err := s.GetLayout(ctx, "l1"); err != nil || l.Name != "l1" {
		t.Fatalf("layout: %+v %v", l, err)
	}
	for _, del := range []func() error{
		func() error { return s.DeleteCluster(ctx, "c1") },
		func() error { return s.DeleteLayout(ctx, "l1") },
	} {
		if err := del(); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.GetCluster(ctx, "c1"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("deleted cluster: %v", err)
	}
}

func testTokens(t *testing.T, s Store, _ func() Store) {
	ctx := context.Background()
	tok := APIToken{Name: "ci", Hash: "abc123", Created: time.Unix(1_800_000_000, 0)}
	if err := s.AddToken(ctx, tok); err != nil {
		t.Fatal(err)
	}
	if err := s.AddToken(ctx, tok); !errors.Is(err, ErrConflict) {
		t.Fatalf("second token of one name: %v", err)
	}
	got, err := s.TokenByHash(ctx, "abc123")
	if err != nil || got.Name != "ci" || !got.Created.Equal(tok.Created) {
		t.Fatalf("TokenByHash: %+v %v", got, err)
	}
	if list, err := s.ListTokens(ctx); err != nil || len(list) != 1 {
		t.Fatalf("ListTokens: %+v %v", list, err)
	}
	if err := s.DeleteToken(ctx, "ci"); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteToken(ctx, "ci"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("revoke twice: %v", err)
	}
	if _, err := s.TokenByHash(ctx, "abc123"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("revoked token found: %v", err)
	}
}

func testHostsChangedSince(t *testing.T, s Store, again func() Store) {
	ctx := context.Background()
	ids := func(hs []Host) []string {
		var out []string
		for _, h := range hs {
			out = append(out, h.Hostname)
		}
		return out
	}
	all, err := s.HostsChangedSince(ctx, -1)
	if err != nil || len(all.Changed) != 0 || len(all.Deleted) != 0 {
		t.Fatalf("empty store: %+v %v", all, err)
	}
	if err := s.PutHosts(ctx, []Host{
		{MACs: []string{"52:54:00:00:00:02"}, Hostname: "b01"},
		{MACs: []string{"52:54:00:00:00:01"}, Hostname: "a01"},
		{MACs: []string{"52:54:00:00:00:03"}, Hostname: "c01"},
	}); err != nil {
		t.Fatal(err)
	}
	g1, err := s.Generation(ctx)
	if err != nil {
		t.Fatal(err)
	}
	all, err = s.HostsChangedSince(ctx, -1)
	if err != nil || fmt.Sprint(ids(all.Changed)) != "[a01 b01 c01]" || all.Generation != g1 {
		t.Fatalf("every host: %v at %d (generation %d), %v", ids(all.Changed), all.Generation, g1, err)
	}
	if ch, err := s.HostsChangedSince(ctx, g1); err != nil || len(ch.Changed)+len(ch.Deleted) != 0 || ch.Generation != g1 {
		t.Fatalf("nothing changed since %d: %+v %v", g1, ch, err)
	}
	// A change, a removal, a new host and a document: each is reported once.
	if _, err := s.UpdateHost(ctx, "b01", func(h *Host) error { h.Roles = []string{"web"}; return nil }); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteHost(ctx, "c01"); err != nil {
		t.Fatal(err)
	}
	if err := s.PutHostLogged(ctx, &Host{MACs: []string{"52:54:00:00:00:04"}, Hostname: "d01"}, Event{Kind: "added"}); err != nil {
		t.Fatal(err)
	}
	if err := s.PutProfile(ctx, &Profile{Name: "p1", OS: "rhel", Version: "7.9"}); err != nil {
		t.Fatal(err)
	}
	// Another handle (another process or server) sees the same.
	other := again()
	defer other.Close()
	for name, st := range map[string]Store{"this handle": s, "another handle": other} {
		ch, err := st.HostsChangedSince(ctx, g1)
		if err != nil {
			t.Fatal(err)
		}
		g, _ := st.Generation(ctx)
		if fmt.Sprint(ids(ch.Changed)) != "[b01 d01]" || fmt.Sprint(ch.Deleted) != "[52:54:00:00:00:03]" || ch.Generation != g || g <= g1 {
			t.Fatalf("%s: since %d: changed %v, deleted %v at %d (generation %d)", name, g1, ids(ch.Changed), ch.Deleted, ch.Generation, g)
		}
		if !ch.Changed[0].HasRole("web") {
			t.Fatalf("%s: b01 as changed: %+v", name, ch.Changed[0])
		}
	}
	// Removed, then added again: in both lists (apply Deleted first).
	g2, _ := s.Generation(ctx)
	if err := s.DeleteHost(ctx, "a01"); err != nil {
		t.Fatal(err)
	}
	if err := s.PutHost(ctx, &Host{MACs: []string{"52:54:00:00:00:01"}, Hostname: "a01"}); err != nil {
		t.Fatal(err)
	}
	ch, err := s.HostsChangedSince(ctx, g2)
	if err != nil || fmt.Sprint(ids(ch.Changed)) != "[a01]" || fmt.Sprint(ch.Deleted) != "[52:54:00:00:00:01]" {
		t.Fatalf("removed and added again: changed %v, deleted %v, %v", ids(ch.Changed), ch.Deleted, err)
	}
	// The full list never names removed hosts.
	all, err = s.HostsChangedSince(ctx, -1)
	if err != nil || fmt.Sprint(ids(all.Changed)) != "[a01 b01 d01]" || len(all.Deleted) != 0 {
		t.Fatalf("every host at the end: %v, deleted %v, %v", ids(all.Changed), all.Deleted, err)
	}
}
