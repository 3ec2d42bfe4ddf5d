package provision

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/netkick/netkick/boot"
	"github.com/netkick/netkick/internal/pgtest"
	"github.com/netkick/netkick/inventory"
	"github.com/netkick/netkick/inventory/invtest"
)

func TestImportRoundTripAndBuildingHosts(t *testing.T) {
	src, srcStore := newTestService(t)
	ctx := context.Background()
	// The fixture's cluster is not a complete LVS cluster; leave it out.
	none := ""
	if _, err := src.Set(ctx, ops, "a01", Change{Cluster: &none}, ""); err != nil {
		t.Fatal(err)
	}
	if err := srcStore.DeleteCluster(ctx, "web"); err != nil {
		t.Fatal(err)
	}
	old, err := src.Build(ctx, ops, "b02", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	d, err := inventory.Export(ctx, src.Store())
	if err != nil {
		t.Fatal(err)
	}
	want, _ := json.Marshal(d)

	dst, dstStore := newTestService(t)
	// Start the destination empty.
	for _, h := range []string{"a01", "b02"} {
		if h == "a01" {
			if err := dstStore.DeleteCluster(ctx, "web"); err != nil {
				t.Fatal(err)
			}
		}
		if err := dstStore.DeleteHost(ctx, h); err != nil {
			t.Fatal(err)
		}
	}
	dry, err := dst.Import(ctx, ops, cloneDump(t, d), ImportOptions{DryRun: true})
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(dry.Added, ","); got != "host a01,host b02" || len(dry.Unchanged) != 2 {
		t.Fatalf("dry run: %+v", dry)
	}
	if hs, _ := dstStore.ListHosts(ctx, inventory.HostFilter{}); len(hs) != 0 {
		t.Fatalf("dry run wrote %d hosts", len(hs))
	}
	res, err := dst.Import(ctx, ops, cloneDump(t, d), ImportOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Notes) != 1 || !strings.Contains(res.Notes[0], "host b02 is restored in build mode with a fresh build token") {
		t.Fatalf("notes: %+v", res.Notes)
	}
	// The restored building host can fetch its kickstart with its new token, not the old one.
	b02, _ := dstStore.GetHost(ctx, "b02")
	if b02.BuildToken == "" || b02.BuildToken == old.BuildToken {
		t.Fatalf("b02 token after import: %q (old %q)", b02.BuildToken, old.BuildToken)
	}
	if _, err := dst.Kickstart(ctx, macB02, Requester{Addr: "192.0.2.22", Token: b02.BuildToken}); err != nil {
		t.Fatalf("restored building host cannot fetch: %v", err)
	}
	// Export of the import is the same document (the state moved by the fetch aside).
	back, _ := inventory.Export(ctx, dstStore)
	for i := range back.Hosts {
		if back.Hosts[i].Hostname == "b02" {
			back.Hosts[i].State = inventory.StateBuild
		}
		back.Hosts[i].TokenExpires = time.Time{}
	}
	for i := range d.Hosts {
		d.Hosts[i].TokenExpires = time.Time{}
	}
	want, _ = json.Marshal(d)
	got, _ := json.Marshal(back)
	if string(got) != string(want) {
		t.Fatalf("round trip differs:\n%s\n%s", got, want)
	}
	// Import again: nothing changes, and b02's install under way (it has
	// fetched its kickstart) keeps its token.
	res, err = dst.Import(ctx, ops, cloneDump(t, d), ImportOptions{})
	if err != nil || len(res.Added)+len(res.Updated)+len(res.Notes) != 0 || len(res.Unchanged) != 4 {
		t.Fatalf("second import: %v %+v", err, res)
	}
	if again, _ := dstStore.GetHost(ctx, "b02"); again.BuildToken != b02.BuildToken || again.State != inventory.StateInstalling {
		t.Fatalf("second import changed b02's build: token %q -> %q, state %s", b02.BuildToken, again.BuildToken, again.State)
	}
	if _, err := dst.Report(ctx, macB02, Requester{Addr: "192.0.2.22", Token: b02.BuildToken}, boot.EventBuilt, ""); err != nil {
		t.Fatalf("b02 cannot report its install after the second import: %v", err)
	}
}

func TestImportRefusals(t *testing.T) {
	s, st := newTestService(t)
	ctx := context.Background()
	for _, tc := range []struct {
		name string
		d    inventory.Dump
		o    ImportOptions
		err  string
	}{
		{"missing profile", inventory.Dump{Hosts: []inventory.Host{{MACs: []string{"52:54:00:00:01:01"}, Hostname: "n1", Profile: "nosuch"}}}, ImportOptions{}, "hosts[0] (n1): host n1: profile nosuch does not exist"},
		{"profile only in the document", inventory.Dump{Profiles: []inventory.Profile{{Name: "c8", OS: "centos", Version: "8.5"}}, Hosts: []inventory.Host{{MACs: []string{"52:54:00:00:01:01"}, Hostname: "n1", Profile: "c8"}}}, ImportOptions{DryRun: true}, ""},
		{"replace drops the profile a host keeps", inventory.Dump{Hosts: []inventory.Host{{MACs: []string{"52:54:00:00:01:01"}, Hostname: "n1", Profile: "centos-7.9"}}}, ImportOptions{Replace: true}, "profile centos-7.9 does not exist"},
		{"unreal zone", inventory.Dump{Hosts: []inventory.Host{{MACs: []string{"52:54:00:00:01:01"}, Hostname: "n1", Timezone: "Mars/Olympus"}}}, ImportOptions{}, "not an IANA zone"},
		{"bad param", inventory.Dump{Hosts: []inventory.Host{{MACs: []string{"52:54:00:00:01:01"}, Hostname: "n1", Params: map[string]string{"console": "x;reboot"}}}}, ImportOptions{}, "param console"},
		{"bad layout", inventory.Dump{Layouts: []inventory.Layout{{Name: "db"}}}, ImportOptions{}, "layouts[0] (db)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := s.Import(ctx, ops, &tc.d, tc.o)
			check(t, err, tc.err, inventory.ErrInvalid)
		})
	}
	if hs, _ := st.ListHosts(ctx, inventory.HostFilter{}); len(hs) != 2 {
		t.Fatalf("a refused import wrote: %d hosts", len(hs))
	}
	// Replace: what the document does not list goes.
	d := inventory.Dump{Profiles: []inventory.Profile{{Name: "centos-7.9", OS: "centos", Version: "7.9"}},
		Hosts: []inventory.Host{{MACs: []string{"52:54:00:00:01:01"}, Hostname: "n1", Profile: "centos-7.9"}}}
	res, err := s.Import(ctx, ops, &d, ImportOptions{Replace: true})
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(res.Removed, ","); got != "profile centos-5.3,cluster web,host a01,host b02" {
		t.Fatalf("removed: %q", got)
	}
	if hs, _ := st.ListHosts(ctx, inventory.HostFilter{}); len(hs) != 1 || hs[0].Hostname != "n1" {
		t.Fatalf("after replace: %+v", hs)
	}
}

func cloneDump(t *testing.T, d *inventory.Dump) *inventory.Dump {
	t.Helper()
	b, _ := json.Marshal(d)
	var out inventory.Dump
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	for i := range out.Hosts {
		out.Hosts[i].BuildToken = ""
	}
	return &out
}

func TestImportBuildOf(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	host := func(st inventory.State, tok string, exp time.Time) *inventory.Host {
		return &inventory.Host{MACs: []string{macB02}, Hostname: "b02", State: st, BuildToken: tok, TokenExpires: exp}
	}
	later, earlier := now.Add(time.Hour), now.Add(-time.Second)
	for _, tc := range []struct {
		name        string
		doc, stored *inventory.Host
		want        importBuild
	}{
		{"ready in the document, new host", host(inventory.StateReady, "", time.Time{}), nil, buildNone},
		{"ready in the document, stored building: the document takes it out", host(inventory.StateReady, "", time.Time{}), host(inventory.StateBuild, "t", later), buildNone},
		{"installed in the document", host(inventory.StateInstalled, "", time.Time{}), host(inventory.StateInstalled, "", time.Time{}), buildNone},
		{"build in the document, new host: fresh", host(inventory.StateBuild, "", time.Time{}), nil, buildFresh},
		{"build in the document, stored ready: fresh", host(inventory.StateBuild, "", time.Time{}), host(inventory.StateReady, "", time.Time{}), buildFresh},
		{"build in the document, stored building: keep", host(inventory.StateBuild, "", time.Time{}), host(inventory.StateBuild, "t", later), buildKeep},
		{"installing in the document, stored installing: keep", host(inventory.StateInstalling, "", time.Time{}), host(inventory.StateInstalling, "t", later), buildKeep},
		{"build in the document, stored installing: keep", host(inventory.StateBuild, "", time.Time{}), host(inventory.StateInstalling, "t", later), buildKeep},
		{"stored token without expiry: keep", host(inventory.StateBuild, "", time.Time{}), host(inventory.StateBuild, "t", time.Time{}), buildKeep},
		{"stored token expired: fresh", host(inventory.StateBuild, "", time.Time{}), host(inventory.StateBuild, "t", earlier), buildFresh},
		{"stored token expires now: fresh", host(inventory.StateBuild, "", time.Time{}), host(inventory.StateBuild, "t", now), buildFresh},
		{"stored building without a token: fresh", host(inventory.StateBuild, "", time.Time{}), host(inventory.StateBuild, "", later), buildFresh},
		{"stored failed with an old token: fresh", host(inventory.StateBuild, "", time.Time{}), host(inventory.StateFailed, "t", later), buildFresh},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := importBuildOf(tc.doc, tc.stored, now); got != tc.want {
				t.Fatalf("importBuildOf = %d, want %d", got, tc.want)
			}
		})
	}
}

// TestImportAllOrNothing imports 200 hosts, a new profile they use and a
// change to a stored host, in each store (SQLite, and a real PostgreSQL):
// when the 101st host takes the name of a stored host, the store refuses
// it half way through the write, and nothing of the import is left: not
// the profile, not a host, not the change, not an event, and the
// generation has not moved. Without that host the import is written whole,
// each host with its event.
func TestImportAllOrNothing(t *testing.T) {
	ctx := context.Background()
	stores := map[string]func(t *testing.T) inventory.Store{
		"sqlite": func(t *testing.T) inventory.Store { return invtest.Empty(t) },
		"postgres": func(t *testing.T) inventory.Store {
			st, err := inventory.OpenPostgres(ctx, pgtest.Start(t).NewDatabase(t))
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { st.Close() })
			return st
		},
	}
	for name, open := range stores {
		t.Run(name, func(t *testing.T) {
			st := open(t)
			s, err := New(Options{Store: st})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := s.Add(ctx, ops, inventory.Host{MACs: []string{macA01}, Hostname: "a01"}, AddOptions{}); err != nil {
				t.Fatal(err)
			}
			if _, err := s.Add(ctx, ops, inventory.Host{MACs: []string{macB02}, Hostname: "b02"}, AddOptions{}); err != nil {
				t.Fatal(err)
			}
			doc := func(bad bool) *inventory.Dump {
				d := &inventory.Dump{Profiles: []inventory.Profile{{Name: "rocky-9", OS: "rocky", Version: "9.4"}},
					Hosts: []inventory.Host{{MACs: []string{macB02}, Hostname: "b02", Labels: map[string]string{"rack": "r2"}}}}
				for i := range 200 {
					h := inventory.Host{MACs: []string{fmt.Sprintf("52:54:00:00:20:%02x", i)}, Hostname: fmt.Sprintf("n%03d", i), Profile: "rocky-9"}
					if bad && i == 100 {
						h.Hostname = "a01" // a stored host's name, on another MAC
					}
					d.Hosts = append(d.Hosts, h)
				}
				return d
			}
			evB02 := len(events(t, st, macB02))
			g0, _ := st.Generation(ctx)

			_, err = s.Import(ctx, ops, doc(true), ImportOptions{})
			if !errors.Is(err, inventory.ErrConflict) || !strings.Contains(err.Error(), "import rolled back") || !strings.Contains(err.Error(), "hostname a01") {
				t.Errorf("import with a host taking a01's name: %v", err)
			}
			if _, err := st.GetProfile(ctx, "rocky-9"); !errors.Is(err, inventory.ErrNotFound) {
				t.Errorf("the failed import left its profile: %v", err)
			}
			if hs, _ := st.ListHosts(ctx, inventory.HostFilter{}); len(hs) != 2 {
				t.Errorf("the failed import left %d hosts, want the 2 stored", len(hs))
			}
			if b02, _ := st.GetHost(ctx, "b02"); len(b02.Labels) != 0 {
				t.Errorf("the failed import changed b02: %v", b02.Labels)
			}
			if n := len(events(t, st, macB02)); n != evB02 {
				t.Errorf("b02 has %d events after the failed import, want %d", n, evB02)
			}
			if ev := events(t, st, "52:54:00:00:20:00"); len(ev) != 0 {
				t.Errorf("events of a host the failed import did not write: %+v", ev)
			}
			if g, _ := st.Generation(ctx); g != g0 {
				t.Errorf("generation %d -> %d after the failed import", g0, g)
			}

			res, err := s.Import(ctx, ops, doc(false), ImportOptions{})
			if err != nil || len(res.Added) != 201 || len(res.Updated) != 1 {
				t.Fatalf("import: %v %+v", err, res)
			}
			hs, _ := st.ListHosts(ctx, inventory.HostFilter{})
			for _, h := range hs {
				ev := events(t, st, h.ID())
				if h.Hostname == "a01" {
					continue
				}
				if last := ev[len(ev)-1]; last.Kind != "imported" {
					t.Fatalf("host %s: last event %+v, want the import's", h.Hostname, last)
				}
			}
			if len(hs) != 202 {
				t.Fatalf("%d hosts after the import, want 202", len(hs))
			}
		})
	}
}

func events(t *testing.T, st inventory.Store, id string) []inventory.Event {
	t.Helper()
	ev, err := st.Events(context.Background(), id, 0)
	if err != nil {
		t.Fatal(err)
	}
	return ev
}

// TestImportPostgresConnectionLost cuts the import's connection to
// PostgreSQL (pg_terminate_backend, from another session) while it is
// writing its 2,000 hosts: the import fails saying it was rolled back, the
// database holds nothing of it (no profile, no host, no event, the same
// generation), and the same import run again writes everything.
func TestImportPostgresConnectionLost(t *testing.T) {
	ctx := context.Background()
	url := pgtest.Start(t).NewDatabase(t)
	st, err := inventory.OpenPostgres(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	s, err := New(Options{Store: st})
	if err != nil {
		t.Fatal(err)
	}
	const n = 2000
	doc := func() *inventory.Dump {
		d := &inventory.Dump{Profiles: []inventory.Profile{{Name: "rocky-9", OS: "rocky", Version: "9.4"}}}
		for i := range n {
			d.Hosts = append(d.Hosts, inventory.Host{MACs: []string{fmt.Sprintf("52:54:00:00:%02x:%02x", i>>8, i&0xff)}, Hostname: fmt.Sprintf("n%04d", i), Profile: "rocky-9"})
		}
		return d
	}
	g0, err := st.Generation(ctx)
	if err != nil {
		t.Fatal(err)
	}
	admin, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { admin.Close(ctx) })
	// The import's backend: in a transaction that has written (an xid),
	// saving hosts. It is cut the first time it is seen so: on a loaded
	// machine a wait before the cut let the import finish first. The watch
	// ends when the import returns.
	watch, stopWatch := context.WithCancel(ctx)
	killed := make(chan error, 1)
	go func() {
		for watch.Err() == nil {
			var pid int
			err := admin.QueryRow(watch, `SELECT pid FROM pg_stat_activity WHERE datname = current_database()
				AND pid <> pg_backend_pid() AND backend_xid IS NOT NULL AND query LIKE '%INTO host%' LIMIT 1`).Scan(&pid)
			if err != nil {
				time.Sleep(time.Millisecond)
				continue
			}
			var ok bool
			killed <- admin.QueryRow(ctx, `SELECT pg_terminate_backend($1)`, pid).Scan(&ok)
			return
		}
		killed <- errors.New("the import's transaction was never seen writing hosts before the import returned")
	}()
	_, err = s.Import(ctx, ops, doc(), ImportOptions{})
	stopWatch()
	if kerr := <-killed; kerr != nil {
		t.Fatalf("%v (import: %v)", kerr, err)
	}
	if err == nil || !strings.Contains(err.Error(), "import rolled back") {
		t.Fatalf("import whose connection was cut: %v, want it rolled back", err)
	}
	t.Logf("import with its connection cut: %v", err)
	var hosts, events int
	if err := admin.QueryRow(ctx, `SELECT (SELECT count(*) FROM hosts), (SELECT count(*) FROM events)`).Scan(&hosts, &events); err != nil {
		t.Fatal(err)
	}
	if hosts != 0 || events != 0 {
		t.Errorf("the cut import left %d hosts and %d events", hosts, events)
	}
	if _, err := st.GetProfile(ctx, "rocky-9"); !errors.Is(err, inventory.ErrNotFound) {
		t.Errorf("the cut import left its profile: %v", err)
	}
	if g, _ := st.Generation(ctx); g != g0 {
		t.Errorf("generation %d -> %d after the cut import", g0, g)
	}
	res, err := s.Import(ctx, ops, doc(), ImportOptions{})
	if err != nil || len(res.Added) != n+1 {
		t.Fatalf("import again: %v", err)
	}
	if err := admin.QueryRow(ctx, `SELECT (SELECT count(*) FROM hosts), (SELECT count(DISTINCT host_id) FROM events WHERE kind = 'imported')`).Scan(&hosts, &events); err != nil {
		t.Fatal(err)
	}
	if hosts != n || events != n {
		t.Fatalf("after the import: %d hosts, %d with their event; want %d", hosts, events, n)
	}
}
