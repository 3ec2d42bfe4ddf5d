package inventory

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"testing"
	"time"
)

func TestPruneThrough(t *testing.T) {
	now := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	ago := func(d time.Duration) time.Time { return now.Add(-d) }
	// newest first, as the stores read them
	day := []tombstone{{9, ago(time.Hour)}, {7, ago(23 * time.Hour)}, {4, ago(25 * time.Hour)}, {2, ago(30 * time.Hour)}}
	for _, tc := range []struct {
		name   string
		newest []tombstone
		keep   TombstoneRetention
		want   int64
	}{
		{"no tombstones", nil, DefaultTombstoneRetention(), 0},
		{"all younger than the age", day[:2], TombstoneRetention{Age: 24 * time.Hour}, 0},
		{"older than the age go, with everything below", day, TombstoneRetention{Age: 24 * time.Hour}, 4},
		{"exactly the age is kept", []tombstone{{3, ago(24 * time.Hour)}}, TombstoneRetention{Age: 24 * time.Hour}, 0},
		{"beyond the count go", day, TombstoneRetention{Count: 2}, 4},
		{"count reached, not passed", day[:2], TombstoneRetention{Count: 2}, 0},
		{"count of one keeps the newest only", day, TombstoneRetention{Count: 1}, 7},
		{"whichever rule takes more: the count", day, TombstoneRetention{Age: 24 * time.Hour, Count: 1}, 7},
		{"whichever rule takes more: the age", day, TombstoneRetention{Age: 2 * time.Hour, Count: 3}, 7},
		{"no limits keep everything", day, TombstoneRetention{}, 0},
		{"time 0 (recorded before removal times were): older than any age", []tombstone{{9, now}, {5, time.Unix(0, 0)}}, DefaultTombstoneRetention(), 5},
		{"a removal dated in the future (clock stepped back) is young", []tombstone{{9, now.Add(time.Hour)}}, TombstoneRetention{Age: time.Minute}, 0},
		{"an old one above a young one takes the young one too", []tombstone{{9, now}, {8, ago(48 * time.Hour)}, {6, now}}, TombstoneRetention{Age: 24 * time.Hour}, 8},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := pruneThrough(tc.newest, now, tc.keep); got != tc.want {
				t.Fatalf("pruneThrough = %d, want %d", got, tc.want)
			}
		})
	}
}

func TestMustReload(t *testing.T) {
	for _, tc := range []struct {
		name          string
		since, pruned int64
		want          bool
	}{
		{"first read (since < 0) is whole anyway", -1, 5, false},
		{"nothing ever pruned", 3, 0, false},
		{"reader behind the pruned tombstones", 4, 5, true},
		{"reader at the last pruned generation misses nothing", 5, 5, false},
		{"reader after it", 9, 5, false},
		{"reader at generation 0, pruned through 1", 0, 1, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := mustReload(tc.since, tc.pruned); got != tc.want {
				t.Fatalf("mustReload(%d, %d) = %v, want %v", tc.since, tc.pruned, got, tc.want)
			}
		})
	}
}

// tombstoneRetainer is a store whose tombstone retention can be set (both are).
type tombstoneRetainer interface {
	SetTombstoneRetention(TombstoneRetention)
}

// testTombstonesPruned removes hosts past the count kept, then past the
// age kept, and checks that readers far enough behind are told to reload
// (Full) instead of missing a removal, on this handle and another.
func testTombstonesPruned(t *testing.T, s Store, again func() Store) {
	ctx := context.Background()
	var hosts []Host
	for i := 1; i <= 5; i++ {
		hosts = append(hosts, Host{MACs: []string{fmt.Sprintf("52:54:00:00:07:%02x", i)}, Hostname: fmt.Sprintf("h%d", i)})
	}
	if err := s.PutHosts(ctx, hosts); err != nil {
		t.Fatal(err)
	}
	s.(tombstoneRetainer).SetTombstoneRetention(TombstoneRetention{Count: 2})
	gen := func() int64 {
		t.Helper()
		g, err := s.Generation(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return g
	}
	remove := func(name string) int64 {
		t.Helper()
		if err := s.DeleteHost(ctx, name); err != nil {
			t.Fatal(err)
		}
		return gen()
	}
	show := func(ch HostChanges) string {
		var names []string
		for _, h := range ch.Changed {
			names = append(names, h.Hostname)
		}
		return fmt.Sprintf("full=%v changed=%v deleted=%v", ch.Full, names, ch.Deleted)
	}
	expect := func(st Store, since int64, want string) {
		t.Helper()
		ch, err := st.HostsChangedSince(ctx, since)
		if err != nil {
			t.Fatal(err)
		}
		if got := show(ch); got != want {
			t.Fatalf("since %d: %s, want %s", since, got, want)
		}
	}
	tombs := func(want int) {
		t.Helper()
		if n, err := countRows(s, `SELECT count(*) FROM host_deletions`); err != nil || n != want {
			t.Fatalf("%d tombstones (%v), want %d", n, err, want)
		}
	}
	g0 := gen()
	expect(s, -1, "full=true changed=[h1 h2 h3 h4 h5] deleted=[]")
	g1 := remove("h1")
	g2 := remove("h2")
	tombs(2)
	expect(s, g0, "full=false changed=[] deleted=[52:54:00:00:07:01 52:54:00:00:07:02]")
	// A third removal passes the count: h1's tombstone goes, and a reader
	// from before h1's removal reloads every host.
	g3 := remove("h3")
	tombs(2)
	other := again()
	defer other.Close()
	for _, st := range []Store{s, other} {
		expect(st, g0, "full=true changed=[h4 h5] deleted=[]")
		expect(st, g1, "full=false changed=[] deleted=[52:54:00:00:07:02 52:54:00:00:07:03]")
		expect(st, g2, "full=false changed=[] deleted=[52:54:00:00:07:03]")
		expect(st, g3, "full=false changed=[] deleted=[]")
	}
	// By age: every tombstone older than a nanosecond goes at the next
	// removal, whose own tombstone stays.
	s.(tombstoneRetainer).SetTombstoneRetention(TombstoneRetention{Age: time.Nanosecond})
	time.Sleep(time.Millisecond)
	g4 := remove("h4")
	tombs(1)
	for _, st := range []Store{s, other} {
		expect(st, g2, "full=true changed=[h5] deleted=[]")
		expect(st, g3, "full=false changed=[] deleted=[52:54:00:00:07:04]")
		expect(st, g4, "full=false changed=[] deleted=[]")
	}
	// A host added again after its removal: the reader that reloads sees it.
	if err := s.PutHost(ctx, &Host{MACs: []string{"52:54:00:00:07:01"}, Hostname: "h1"}); err != nil {
		t.Fatal(err)
	}
	expect(other, g0, "full=true changed=[h1 h5] deleted=[]")
}

// TestTombstonesFromSchema7 opens a database written before removals had a
// time (schema version 7): its tombstones go at the next removal, and a
// reader from before them reloads.
func TestTombstonesFromSchema7(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "inventory.db")
	db, err := sql.Open("sqlite", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	stmts := append([]string{`CREATE TABLE schema_version (version INTEGER NOT NULL); INSERT INTO schema_version VALUES (7)`}, migrations[:7]...)
	stmts = append(stmts, `INSERT INTO host_deletions(id, gen) VALUES ('52:54:00:00:07:09', 1)`, `UPDATE meta SET generation = 1`)
	for _, q := range stmts {
		if _, err := db.Exec(q); err != nil {
			db.Close()
			t.Fatalf("%s: %v", q, err)
		}
	}
	db.Close()
	s, err := OpenSQLite(path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if v, err := countRows(s, `SELECT version FROM schema_version`); err != nil || v != len(migrations) {
		t.Fatalf("schema version %d (%v), want %d", v, err, len(migrations))
	}
	if ch, err := s.HostsChangedSince(ctx, 0); err != nil || ch.Full || fmt.Sprint(ch.Deleted) != "[52:54:00:00:07:09]" {
		t.Fatalf("before any removal: %+v %v", ch, err)
	}
	if err := s.PutHost(ctx, &Host{MACs: []string{"52:54:00:00:07:01"}, Hostname: "h1"}); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteHost(ctx, "h1"); err != nil {
		t.Fatal(err)
	}
	if n, err := countRows(s, `SELECT count(*) FROM host_deletions`); err != nil || n != 1 {
		t.Fatalf("%d tombstones (%v), want h1's only", n, err)
	}
	if ch, err := s.HostsChangedSince(ctx, 0); err != nil || !ch.Full {
		t.Fatalf("a reader from before the old tombstone: %+v %v, want Full", ch, err)
	}
}
