package inventory

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/netkick/netkick/internal/pgtest"
)

// TestPostgres covers what only the shared store does: several servers
// opening one database at once, and allocating from one pool at once.
func TestPostgres(t *testing.T) {
	srv := pgtest.Start(t)
	ctx := context.Background()

	t.Run("ServersStartingAtOnceMigrateOnce", func(t *testing.T) {
		url := srv.NewDatabase(t)
		const n = 8
		stores := make([]*Postgres, n)
		errs := make([]error, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() { stores[i], errs[i] = OpenPostgres(ctx, url) })
		}
		wg.Wait()
		for i := range n {
			if errs[i] != nil {
				t.Fatalf("open %d: %v", i, errs[i])
			}
			defer stores[i].Close()
		}
		v, err := stores[0].SchemaVersion(ctx)
		if err != nil || v != len(pgMigrations) {
			t.Fatalf("schema version %d, %v; want %d", v, err, len(pgMigrations))
		}
		var rows int
		if err := stores[0].pool.QueryRow(ctx, `SELECT count(*) FROM schema_version`).Scan(&rows); err != nil || rows != 1 {
			t.Fatalf("schema_version rows: %d, %v", rows, err)
		}
	})

	t.Run("RefusesForeignDatabase", func(t *testing.T) {
		url := srv.NewDatabase(t)
		s, err := OpenPostgres(ctx, url)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.pool.Exec(ctx, `DROP TABLE schema_version; CREATE TABLE other_app (x int)`); err != nil {
			t.Fatal(err)
		}
		s.Close()
		if s, err := OpenPostgres(ctx, url); err == nil {
			s.Close()
			t.Fatal("opened a database holding another application's tables")
		}
	})

	t.Run("ConcurrentAllocationNeverSharesAnAddress", func(t *testing.T) {
		url := srv.NewDatabase(t)
		// Four "servers" (own pools), 16 clients each, racing for a pool of
		// 50 addresses with 200 MACs: every claim must be unique among
		// active leases, and the pool must end up full.
		const servers, clients, macs = 4, 16, 200
		first, last := netip.MustParseAddr("192.0.2.10"), netip.MustParseAddr("192.0.2.59")
		var stores []*Postgres
		for range servers {
			s, err := OpenPostgres(ctx, url)
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			stores = append(stores, s)
		}
		// Expired and released leases in the pool are reclaimed by allocation.
		past := time.Now().Add(-time.Hour)
		if err := stores[0].SaveLeases(ctx, []Lease{
			{IP: "192.0.2.10", MAC: "02:00:00:00:ff:01", State: LeaseBound, Expires: past},
			{IP: "192.0.2.11", MAC: "02:00:00:00:ff:02", State: LeaseReleased, Expires: time.Now().Add(time.Hour)},
		}); err != nil {
			t.Fatal(err)
		}
		type claim struct {
			mac, ip string
		}
		var mu sync.Mutex
		var claims []claim
		var exhausted int
		var wg sync.WaitGroup
		for c := range servers * clients {
			wg.Go(func() {
				s := stores[c%servers]
				for m := c; m < macs; m += servers * clients {
					mac := fmt.Sprintf("02:00:00:00:%02x:%02x", m>>8, m&0xff)
					l, err := s.AllocateLease(ctx, AllocRequest{MAC: mac, First: first, Last: last, TTL: time.Hour})
					mu.Lock()
					switch {
					case errors.Is(err, ErrPoolExhausted):
						exhausted++
					case err != nil:
						t.Errorf("allocate for %s: %v", mac, err)
					default:
						claims = append(claims, claim{mac, l.IP})
					}
					mu.Unlock()
				}
			})
		}
		wg.Wait()
		holder := map[string]string{}
		for _, c := range claims {
			if h, dup := holder[c.ip]; dup {
				t.Errorf("%s given to %s and %s", c.ip, h, c.mac)
			}
			holder[c.ip] = c.mac
		}
		if len(claims) != 50 || exhausted != macs-50 {
			t.Fatalf("%d claims, %d refused as exhausted; want 50 and %d", len(claims), exhausted, macs-50)
		}
		// The table agrees: 50 active leases, each address once, each
		// held by the MAC that was told it.
		ls, err := stores[1].Leases(ctx)
		if err != nil {
			t.Fatal(err)
		}
		active := 0
		for _, l := range ls {
			if l.Active(time.Now()) {
				active++
				if holder[l.IP] != l.MAC {
					t.Errorf("table: %s held by %s, allocation said %s", l.IP, l.MAC, holder[l.IP])
				}
			}
		}
		if active != 50 {
			t.Fatalf("%d active leases in the table, want 50", active)
		}
		// A MAC asking again renews its own address.
		c := claims[0]
		l, err := stores[2].AllocateLease(ctx, AllocRequest{MAC: c.mac, First: first, Last: last, TTL: 2 * time.Hour})
		if err != nil || l.IP != c.ip {
			t.Fatalf("renewal of %s: %+v %v; want %s", c.mac, l, err, c.ip)
		}
	})

	t.Run("CopyFromSQLite", func(t *testing.T) {
		src, err := OpenSQLite(filepath.Join(t.TempDir(), "inventory.db"))
		if err != nil {
			t.Fatal(err)
		}
		defer src.Close()
		exp := time.Unix(1_900_000_000, 0).UTC()
		when := time.Unix(1_800_000_000, 123).UTC()
		if err := src.PutProfile(ctx, &Profile{Name: "centos-7.9", OS: "centos", Version: "7.9"}); err != nil {
			t.Fatal(err)
		}
		if err := src.PutHostLogged(ctx, &Host{MACs: []string{"52:54:00:00:00:01"}, Hostname: "a01", Profile: "centos-7.9",
			State: StateBuild, BuildToken: "feedface", TokenExpires: exp}, Event{Kind: "added", Detail: "by test", Time: when}); err != nil {
			t.Fatal(err)
		}
		if err := src.SaveLeases(ctx, []Lease{{IP: "192.0.2.10", MAC: "52:54:00:00:00:01", State: LeaseBound, Expires: exp, Updated: when}}); err != nil {
			t.Fatal(err)
		}
		if err := src.AddToken(ctx, APIToken{Name: "ci", Hash: "abc", Created: when}); err != nil {
			t.Fatal(err)
		}
		bmc := BMC{HostID: "52:54:00:00:00:01", Driver: "ipmi", Address: "192.0.2.50", Port: 6230, User: "admin", Password: "hunter2"}
		if err := src.PutBMC(ctx, bmc); err != nil {
			t.Fatal(err)
		}
		if err := src.RecordPowerState(ctx, bmc.HostID, "on", when); err != nil {
			t.Fatal(err)
		}
		bmc.PowerState, bmc.PowerChecked = "on", when
		dst, err := OpenPostgres(ctx, srv.NewDatabase(t))
		if err != nil {
			t.Fatal(err)
		}
		defer dst.Close()
		got, err := CopyStore(ctx, src, dst)
		if err != nil {
			t.Fatal(err)
		}
		if want := (Counts{Hosts: 1, Profiles: 1, Leases: 1, Events: 1, Tokens: 1, BMCs: 1}); got != want {
			t.Fatalf("copied %s, want %s", got, want)
		}
		if b, err := dst.GetBMC(ctx, bmc.HostID); err != nil || *b != bmc {
			t.Fatalf("copied BMC settings %+v %v, want %+v", b, err, bmc)
		}
		h, err := dst.GetHost(ctx, "a01")
		if err != nil || h.BuildToken != "feedface" || !h.TokenExpires.Equal(exp) || h.State != StateBuild {
			t.Fatalf("copied host %+v %v", h, err)
		}
		ev, _ := dst.Events(ctx, h.ID(), 0)
		if len(ev) != 1 || !ev[0].Time.Equal(when) || ev[0].Kind != "added" {
			t.Fatalf("copied timeline %+v", ev)
		}
		if ip, err := dst.LeaseIP(ctx, "52:54:00:00:00:01"); err != nil || ip != "192.0.2.10" {
			t.Fatalf("copied lease: %q %v", ip, err)
		}
		// A second copy into the now full target is refused and changes nothing.
		if _, err := CopyStore(ctx, src, dst); !errors.Is(err, ErrConflict) {
			t.Fatalf("copy into a full store: %v", err)
		}
	})

	t.Run("WatchSeesOtherServersWrites", func(t *testing.T) {
		url := srv.NewDatabase(t)
		a, err := OpenPostgres(ctx, url)
		if err != nil {
			t.Fatal(err)
		}
		defer a.Close()
		b, err := OpenPostgres(ctx, url)
		if err != nil {
			t.Fatal(err)
		}
		defer b.Close()
		wctx, cancel := context.WithCancel(ctx)
		defer cancel()
		changed := b.Watch(wctx, nil)
		// The listener is up once a first write is seen.
		deadline := time.After(10 * time.Second)
		for up := false; !up; {
			if err := a.PutProfile(ctx, &Profile{Name: "p0", OS: "centos", Version: "7.9"}); err != nil {
				t.Fatal(err)
			}
			select {
			case <-changed:
				up = true
			case <-time.After(100 * time.Millisecond):
			case <-deadline:
				t.Fatal("no notification within 10 s")
			}
		}
		var lat []time.Duration
		for i := range 100 {
			start := time.Now()
			if err := a.PutHost(ctx, &Host{MACs: []string{fmt.Sprintf("02:00:00:00:01:%02x", i)}, Hostname: fmt.Sprintf("h%d", i)}); err != nil {
				t.Fatal(err)
			}
			select {
			case <-changed:
				lat = append(lat, time.Since(start))
			case <-time.After(5 * time.Second):
				t.Fatalf("change %d not notified within 5 s", i)
			}
			if _, err := b.GetHost(ctx, fmt.Sprintf("h%d", i)); err != nil {
				t.Fatalf("change %d notified but not readable: %v", i, err)
			}
		}
		slices.Sort(lat)
		t.Logf("write through A to notification at B, 100 changes: p50 %v, p99 %v", lat[49], lat[98])
		// The listening connection is killed (a database restart, a network
		// cut): the watcher signals at once so the caller reloads, and
		// reconnects; later writes are notified again.
		if _, err := a.pool.Exec(ctx, `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE query = 'LISTEN `+changeChannel+`'`); err != nil {
			t.Fatal(err)
		}
		select {
		case <-changed:
		case <-time.After(5 * time.Second):
			t.Fatal("no signal when the listening connection was lost")
		}
		deadline = time.After(10 * time.Second)
		for up := false; !up; {
			if err := a.PutProfile(ctx, &Profile{Name: "p1", OS: "centos", Version: "7.9"}); err != nil {
				t.Fatal(err)
			}
			select {
			case <-changed:
				up = true
			case <-time.After(200 * time.Millisecond):
			case <-deadline:
				t.Fatal("no notification within 10 s of the reconnect")
			}
		}
	})

	t.Run("AllocateRejectsBadPool", func(t *testing.T) {
		s, err := OpenPostgres(ctx, srv.NewDatabase(t))
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		tests := []struct {
			name        string
			first, last string
		}{
			{"reversed", "192.0.2.20", "192.0.2.10"},
			{"IPv6", "2001:db8::1", "2001:db8::9"},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				_, err := s.AllocateLease(ctx, AllocRequest{MAC: "02:00:00:00:00:01", First: netip.MustParseAddr(tc.first), Last: netip.MustParseAddr(tc.last), TTL: time.Hour})
				if !errors.Is(err, ErrInvalid) {
					t.Fatalf("got %v, want ErrInvalid", err)
				}
			})
		}
	})
}
