package inventory

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/netkick/netkick/internal/pgtest"
)

// TestPostgresClaimLeases checks each claim rule against the row it finds,
// then servers racing claims for one small pool.
func TestPostgresClaimLeases(t *testing.T) {
	srv := pgtest.Start(t)
	ctx := context.Background()
	now := time.Now()
	const a, b = "52:54:00:00:00:0a", "52:54:00:00:00:0b"
	lease := func(mac string, st LeaseState, exp time.Duration, host string) Lease {
		return Lease{IP: "192.0.2.50", MAC: mac, State: st, Expires: now.Add(exp), Hostname: host, Updated: now}
	}
	tests := []struct {
		name   string
		stored *Lease
		claim  LeaseClaim
		won    bool
		after  LeaseState // the state stored afterwards
	}{
		{"a bind takes a free address", nil,
			LeaseClaim{lease(a, LeaseBound, time.Hour, "h"), a, ClaimFree}, true, LeaseBound},
		{"a bind takes an expired lease of another client", ptr(lease(b, LeaseBound, -time.Second, "")),
			LeaseClaim{lease(a, LeaseBound, time.Hour, "h"), a, ClaimFree}, true, LeaseBound},
		{"a bind loses to another client's lease", ptr(lease(b, LeaseBound, time.Hour, "")),
			LeaseClaim{lease(a, LeaseBound, time.Hour, "h"), a, ClaimFree}, false, LeaseBound},
		{"a bind loses to another client's offer", ptr(lease(b, LeaseOffered, time.Minute, "offered by 192.0.2.2")),
			LeaseClaim{lease(a, LeaseBound, time.Hour, "h"), a, ClaimFree}, false, LeaseOffered},
		{"a bind takes another server's offer to the same client", ptr(lease(a, LeaseOffered, time.Minute, "offered by 192.0.2.2")),
			LeaseClaim{lease(a, LeaseBound, time.Hour, "h"), a, ClaimFree}, true, LeaseBound},
		{"a bind loses to a declined address", ptr(lease("", LeaseDeclined, time.Hour, "declined by "+b)),
			LeaseClaim{lease(a, LeaseBound, time.Hour, "h"), a, ClaimFree}, false, LeaseDeclined},
		{"an offer takes a released address", ptr(lease(b, LeaseReleased, 0, "")),
			LeaseClaim{lease(a, LeaseOffered, time.Minute, "offered by 192.0.2.1"), a, ClaimOffer}, true, LeaseOffered},
		{"an offer refreshes this server's own offer", ptr(lease(a, LeaseOffered, time.Second, "offered by 192.0.2.1")),
			LeaseClaim{lease(a, LeaseOffered, time.Minute, "offered by 192.0.2.1"), a, ClaimOffer}, true, LeaseOffered},
		{"an offer of the client's own lease wins without a write", ptr(lease(a, LeaseBound, time.Hour, "")),
			LeaseClaim{lease(a, LeaseOffered, time.Minute, "offered by 192.0.2.1"), a, ClaimOffer}, true, LeaseBound},
		{"an offer of another server's offer to the client wins without a write", ptr(lease(a, LeaseOffered, time.Minute, "offered by 192.0.2.2")),
			LeaseClaim{lease(a, LeaseOffered, time.Minute, "offered by 192.0.2.1"), a, ClaimOffer}, true, LeaseOffered},
		{"an offer loses to another client's lease", ptr(lease(b, LeaseBound, time.Hour, "")),
			LeaseClaim{lease(a, LeaseOffered, time.Minute, "offered by 192.0.2.1"), a, ClaimOffer}, false, LeaseBound},
		{"a release ends the client's own lease", ptr(lease(a, LeaseBound, time.Hour, "")),
			LeaseClaim{lease(a, LeaseReleased, 0, ""), a, ClaimOwn}, true, LeaseReleased},
		{"a release leaves another client's lease", ptr(lease(b, LeaseBound, time.Hour, "")),
			LeaseClaim{lease(a, LeaseReleased, 0, ""), a, ClaimOwn}, false, LeaseBound},
		{"freeing an offer frees this server's own", ptr(lease(a, LeaseOffered, time.Minute, "offered by 192.0.2.1")),
			LeaseClaim{lease(a, LeaseReleased, 0, "offered by 192.0.2.1"), a, ClaimOwnOffer}, true, LeaseReleased},
		{"freeing an offer leaves another server's offer", ptr(lease(a, LeaseOffered, time.Minute, "offered by 192.0.2.2")),
			LeaseClaim{lease(a, LeaseReleased, 0, "offered by 192.0.2.1"), a, ClaimOwnOffer}, false, LeaseOffered},
		{"giving back a decline ends the client's own decline", ptr(lease("", LeaseDeclined, time.Hour, "declined by "+a)),
			LeaseClaim{lease(a, LeaseBound, time.Hour, "h"), a, ClaimUndecline}, true, LeaseBound},
		{"giving back a decline as released ends the client's own decline", ptr(lease("", LeaseDeclined, time.Hour, "declined by "+a)),
			LeaseClaim{lease(a, LeaseReleased, 0, ""), a, ClaimUndecline}, true, LeaseReleased},
		{"giving back a decline leaves another client's decline", ptr(lease("", LeaseDeclined, time.Hour, "declined by "+b)),
			LeaseClaim{lease(a, LeaseBound, time.Hour, "h"), a, ClaimUndecline}, false, LeaseDeclined},
		{"giving back a decline leaves a lease another server gave meanwhile", ptr(lease(b, LeaseBound, time.Hour, "")),
			LeaseClaim{lease(a, LeaseBound, time.Hour, "h"), a, ClaimUndecline}, false, LeaseBound},
		{"giving back a decline that ended writes", ptr(lease("", LeaseDeclined, -time.Second, "declined by "+b)),
			LeaseClaim{lease(a, LeaseReleased, 0, ""), a, ClaimUndecline}, true, LeaseReleased},
		{"freeing an offer leaves the lease the client took meanwhile", ptr(lease(a, LeaseBound, time.Hour, "")),
			LeaseClaim{lease(a, LeaseReleased, 0, "offered by 192.0.2.1"), a, ClaimOwnOffer}, false, LeaseBound},
	}
	url := srv.NewDatabase(t)
	s, err := OpenPostgres(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := s.pool.Exec(ctx, `DELETE FROM leases`); err != nil {
				t.Fatal(err)
			}
			if tt.stored != nil {
				if err := s.SaveLeases(ctx, []Lease{*tt.stored}); err != nil {
					t.Fatal(err)
				}
			}
			res, err := s.ClaimLeases(ctx, []LeaseClaim{tt.claim})
			if err != nil {
				t.Fatal(err)
			}
			if res[0].Won != tt.won {
				t.Errorf("won = %v, want %v (held %+v)", res[0].Won, tt.won, res[0].Held)
			}
			if !res[0].Won && res[0].Held == nil {
				t.Errorf("a lost claim reports no holder")
			}
			ls, err := s.Leases(ctx)
			if err != nil || len(ls) != 1 {
				t.Fatalf("leases %v, %v", ls, err)
			}
			if ls[0].State != tt.after {
				t.Errorf("stored state %s, want %s", ls[0].State, tt.after)
			}
		})
	}

	t.Run("RacingServersNeverGiveAnAddressTwice", func(t *testing.T) {
		url := srv.NewDatabase(t)
		const servers, macs, pool = 3, 120, 40
		stores := make([]*Postgres, servers)
		for i := range stores {
			if stores[i], err = OpenPostgres(ctx, url); err != nil {
				t.Fatal(err)
			}
			defer stores[i].Close()
		}
		// Every MAC tries every address, as racing servers whose views are
		// stale would, in batches of 8 claims per transaction.
		won := make([][]string, macs)
		var wg sync.WaitGroup
		for m := range macs {
			wg.Go(func() {
				mac := fmt.Sprintf("52:54:00:01:%02x:%02x", m/256, m%256)
				st := stores[m%servers]
				for start := 0; start < pool && len(won[m]) == 0; start += 8 {
					var cs []LeaseClaim
					for i := start; i < start+8 && i < pool; i++ {
						ip := fmt.Sprintf("192.0.2.%d", 100+(i+m)%pool)
						cs = append(cs, LeaseClaim{Lease: Lease{IP: ip, MAC: mac, State: LeaseBound, Expires: now.Add(time.Hour), Updated: now}, By: mac, Rule: ClaimFree})
					}
					res, err := st.ClaimLeases(ctx, cs)
					if err != nil {
						t.Error(err)
						return
					}
					for i, r := range res {
						if r.Won {
							won[m] = append(won[m], cs[i].Lease.IP)
						}
					}
				}
			})
		}
		wg.Wait()
		ls, err := stores[0].Leases(ctx)
		if err != nil {
			t.Fatal(err)
		}
		holders := map[string]string{}
		for _, l := range ls {
			if l.Active(time.Now()) {
				holders[l.IP] = l.MAC
			}
		}
		if len(holders) != pool {
			t.Errorf("%d addresses held, want all %d", len(holders), pool)
		}
		// Every address a claim won is held by that MAC now: none was
		// overwritten by another client's claim.
		for m, ips := range won {
			mac := fmt.Sprintf("52:54:00:01:%02x:%02x", m/256, m%256)
			for _, ip := range ips {
				if holders[ip] != mac {
					t.Errorf("%s won %s but the table says %s holds it", mac, ip, holders[ip])
				}
			}
		}
	})
}

func ptr[T any](v T) *T { return &v }

// TestPostgresOutageServesCachedReads stops the real PostgreSQL: hosts and
// profiles read before are still returned as read (their boot configs keep
// being served), others get the database's error (never "not found"), and
// writes fail; after a restart the store reads and writes again.
func TestPostgresOutageServesCachedReads(t *testing.T) {
	srv := pgtest.Start(t)
	ctx := context.Background()
	s, err := OpenPostgres(ctx, srv.NewDatabase(t))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.PutProfile(ctx, &Profile{Name: "centos-7.9", OS: "centos", Version: "7.9"}); err != nil {
		t.Fatal(err)
	}
	for _, h := range []Host{{MACs: []string{"52:54:00:00:80:01"}, Hostname: "known", Profile: "centos-7.9"},
		{MACs: []string{"52:54:00:00:80:02"}, Hostname: "unread", Profile: "centos-7.9"}} {
		if err := s.PutHost(ctx, &h); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.GetHost(ctx, "52:54:00:00:80:01"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.GetProfile(ctx, "centos-7.9"); err != nil {
		t.Fatal(err)
	}
	// The known host holds 192.0.2.81 by a lease; both by-address lookups
	// are read once. A lease that runs out during the outage must not be
	// answered from memory after its expiry.
	now := time.Now()
	if err := s.SaveLeases(ctx, []Lease{
		{IP: "192.0.2.81", MAC: "52:54:00:00:80:01", State: LeaseBound, Expires: now.Add(time.Hour), Updated: now},
		{IP: "192.0.2.82", MAC: "52:54:00:00:80:02", State: LeaseBound, Expires: now.Add(time.Hour), Updated: now},
		{IP: "192.0.2.84", MAC: "52:54:00:00:80:04", State: LeaseBound, Expires: now.Add(1500 * time.Millisecond), Updated: now},
	}); err != nil {
		t.Fatal(err)
	}
	if err := s.PutHost(ctx, &Host{MACs: []string{"52:54:00:00:80:04"}, Hostname: "short"}); err != nil {
		t.Fatal(err)
	}
	knownID, err := s.HostIDByLease(ctx, "192.0.2.81")
	if err != nil {
		t.Fatal(err)
	}
	if ip, err := s.LeaseIP(ctx, "52:54:00:00:80:01"); err != nil || ip != "192.0.2.81" {
		t.Fatalf("LeaseIP before the outage: %q, %v", ip, err)
	}
	if _, err := s.HostIDByLease(ctx, "192.0.2.84"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.LeaseIP(ctx, "52:54:00:00:80:04"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.HostIDByLease(ctx, "192.0.2.83"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("free address before the outage: %v, want not found", err)
	}
	srv.Stop(t)
	down := true
	t.Cleanup(func() {
		if down {
			srv.Restart(t)
		}
	})
	if id, err := s.HostIDByLease(ctx, "192.0.2.81"); err != nil || id != knownID {
		t.Errorf("host by a lease read before, during the outage: %q, %v; want %q from the cache", id, err, knownID)
	}
	if ip, err := s.LeaseIP(ctx, "52:54:00:00:80:01"); err != nil || ip != "192.0.2.81" {
		t.Errorf("address of a MAC read before, during the outage: %q, %v; want 192.0.2.81 from the cache", ip, err)
	}
	for _, ip := range []string{"192.0.2.82", "192.0.2.83"} { // never read; read as free
		if id, err := s.HostIDByLease(ctx, ip); err == nil || errors.Is(err, ErrNotFound) {
			t.Errorf("host leasing %s (not read as held), during the outage: %q, %v; want the database's error", ip, id, err)
		}
	}
	if ip, err := s.LeaseIP(ctx, "52:54:00:00:80:02"); err == nil || errors.Is(err, ErrNotFound) {
		t.Errorf("address of a MAC never read, during the outage: %q, %v; want the database's error", ip, err)
	}
	time.Sleep(time.Until(now.Add(1600 * time.Millisecond)))
	if id, err := s.HostIDByLease(ctx, "192.0.2.84"); err == nil || errors.Is(err, ErrNotFound) {
		t.Errorf("host by a lease that expired during the outage: %q, %v; want the database's error", id, err)
	}
	if ip, err := s.LeaseIP(ctx, "52:54:00:00:80:04"); err == nil || errors.Is(err, ErrNotFound) {
		t.Errorf("address of a MAC whose lease expired during the outage: %q, %v; want the database's error", ip, err)
	}
	if h, err := s.GetHost(ctx, "52:54:00:00:80:01"); err != nil || h.Hostname != "known" {
		t.Errorf("known host during the outage: %v, %v; want it from the cache", h, err)
	}
	if p, err := s.GetProfile(ctx, "centos-7.9"); err != nil || p.Version != "7.9" {
		t.Errorf("profile during the outage: %v, %v; want it from the cache", p, err)
	}
	if _, err := s.GetHost(ctx, "52:54:00:00:80:02"); err == nil || errors.Is(err, ErrNotFound) {
		t.Errorf("host never read, during the outage: %v; want the database's error, not found nor a host", err)
	}
	if err := s.PutHost(ctx, &Host{MACs: []string{"52:54:00:00:80:03"}, Hostname: "new"}); err == nil {
		t.Error("a write succeeded with the database stopped")
	}
	srv.Restart(t)
	down = false
	if h, err := s.GetHost(ctx, "52:54:00:00:80:02"); err != nil || h.Hostname != "unread" {
		t.Errorf("after the restart: %v, %v", h, err)
	}
}

func TestLeaseMemoUsable(t *testing.T) {
	now := time.Unix(1000, 0)
	for _, c := range []struct {
		name string
		m    leaseMemo
		want bool
	}{
		{"running lease", leaseMemo{value: "h1", expires: now.Add(time.Second).UnixNano()}, true},
		{"expires exactly now", leaseMemo{value: "h1", expires: now.UnixNano()}, false},
		{"expired", leaseMemo{value: "h1", expires: now.Add(-time.Second).UnixNano()}, false},
		{"nothing remembered", leaseMemo{expires: now.Add(time.Hour).UnixNano()}, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := c.m.usable(now); got != c.want {
				t.Errorf("usable = %v, want %v", got, c.want)
			}
		})
	}
}

// TestPostgresOutageServesWarmedHosts: through an outage the store answers
// for a host read before later writes (a write does not drop what was
// read), for every host of the last Warm (never read by this server), and
// not for a host this server removed or one added after the last Warm.
func TestPostgresOutageServesWarmedHosts(t *testing.T) {
	srv := pgtest.Start(t)
	ctx := context.Background()
	s, err := OpenPostgres(ctx, srv.NewDatabase(t))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.PutProfile(ctx, &Profile{Name: "centos-7.9", OS: "centos", Version: "7.9"}); err != nil {
		t.Fatal(err)
	}
	put := func(mac, name string) {
		t.Helper()
		if err := s.PutHost(ctx, &Host{MACs: []string{mac}, Hostname: name, Profile: "centos-7.9"}); err != nil {
			t.Fatal(err)
		}
	}
	put("52:54:00:00:81:01", "read-early")
	put("52:54:00:00:81:02", "warmed")
	put("52:54:00:00:81:03", "removed")
	if _, err := s.GetHost(ctx, "52:54:00:00:81:01"); err != nil {
		t.Fatal(err)
	}
	// A write and a read at the new generation: the per-generation cache
	// starts again, the outage copy keeps read-early.
	put("52:54:00:00:81:04", "read-late")
	if _, err := s.GetHost(ctx, "read-late"); err != nil {
		t.Fatal(err)
	}
	if err := s.Warm(ctx); err != nil {
		t.Fatal(err)
	}
	warmed := s.cache.warmedAt()
	if warmed == 0 {
		t.Fatal("Warm left no generation")
	}
	if err := s.Warm(ctx); err != nil || s.cache.warmedAt() != warmed {
		t.Fatalf("a second Warm with nothing changed: %v, generation %d then %d", err, warmed, s.cache.warmedAt())
	}
	if err := s.DeleteHost(ctx, "removed"); err != nil {
		t.Fatal(err)
	}
	put("52:54:00:00:81:05", "added-after")

	srv.Stop(t)
	down := true
	t.Cleanup(func() {
		if down {
			srv.Restart(t)
		}
	})
	for _, c := range []struct{ key, want string }{
		{"52:54:00:00:81:01", "read-early"},
		{"52:54:00:00:81:02", "warmed"},
		{"WARMED", "warmed"},
		{"52:54:00:00:81:04", "read-late"},
	} {
		if h, err := s.GetHost(ctx, c.key); err != nil || h.Hostname != c.want {
			t.Errorf("GetHost(%s) during the outage: %v, %v; want %s from memory", c.key, h, err, c.want)
		}
	}
	for _, key := range []string{"52:54:00:00:81:03", "removed", "52:54:00:00:81:05"} {
		if h, err := s.GetHost(ctx, key); err == nil || errors.Is(err, ErrNotFound) {
			t.Errorf("GetHost(%s) during the outage: %v, %v; want the database's error", key, h, err)
		}
	}
	if p, err := s.GetProfile(ctx, "centos-7.9"); err != nil || p.Version != "7.9" {
		t.Errorf("profile during the outage: %v, %v", p, err)
	}
	if err := s.Warm(ctx); err == nil {
		t.Error("Warm succeeded with the database stopped")
	}
	if h, err := s.GetHost(ctx, "warmed"); err != nil || h.Hostname != "warmed" {
		t.Errorf("a failed Warm dropped the copy: %v, %v", h, err)
	}
	srv.Restart(t)
	down = false
	if h, err := s.GetHost(ctx, "added-after"); err != nil || h.Hostname != "added-after" {
		t.Errorf("after the restart: %v, %v", h, err)
	}
}
