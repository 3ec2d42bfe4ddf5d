package dhcp

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"path/filepath"
	"testing"
	"time"

	"github.com/netkick/netkick/internal/pgtest"
	"github.com/netkick/netkick/inventory"
)

// answers is a prober that reports fixed answers (or an error).
type answers struct {
	macs []string
	err  error
	n    int
}

func (a *answers) whoHas(netip.Addr, time.Duration) ([]net.HardwareAddr, error) {
	a.n++
	var out []net.HardwareAddr
	for _, m := range a.macs {
		hw, _ := net.ParseMAC(m)
		out = append(out, hw)
	}
	return out, a.err
}

// TestDeclinedReservationAfterRestart: a reservation declined before a
// restart (the store holds it declined) is probed when the server starts
// and given back or kept out by what answers, on SQLite and on a shared
// PostgreSQL store (where giving back is a claim only the host's own
// decline lets through).
func TestDeclinedReservationAfterRestart(t *testing.T) {
	outer := t
	var pg *pgtest.Server // one server for every case, stopped when the test ends
	openStore := map[string]func(t *testing.T) (Store, SharedLeases){
		"sqlite": func(t *testing.T) (Store, SharedLeases) {
			st, err := inventory.OpenSQLite(filepath.Join(t.TempDir(), "inventory.db"))
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { st.Close() })
			return st, nil
		},
		"postgres": func(t *testing.T) (Store, SharedLeases) {
			if pg == nil {
				pg = pgtest.Start(outer)
			}
			st, err := inventory.OpenPostgres(context.Background(), pg.NewDatabase(t))
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { st.Close() })
			return st, st
		},
	}
	for _, kind := range []string{"sqlite", "postgres"} {
		t.Run(kind, func(t *testing.T) { testDeclinedReservationAfterRestart(t, openStore[kind]) })
	}
}

func testDeclinedReservationAfterRestart(t *testing.T, open func(t *testing.T) (Store, SharedLeases)) {
	const host, other = "52:54:00:00:d0:01", "52:54:00:00:d0:99"
	tests := []struct {
		name      string
		prober    *answers
		want      inventory.LeaseState
		wantMAC   string
		result    string
		reprobeIn time.Duration // when the address is probed again (0: it is not)
	}{
		{"nobody answers: given back", &answers{}, inventory.LeaseReleased, host, "free", 0},
		{"only the host answers: given back", &answers{macs: []string{host}}, inventory.LeaseReleased, host, "owner", 0},
		{"another MAC answers: kept out", &answers{macs: []string{host, other}}, inventory.LeaseDeclined, "", "in_use", declineProbeEvery},
		{"probe fails: kept out for the hold", &answers{err: errors.New("no socket")}, inventory.LeaseDeclined, "", "error", declineHold},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			st, shared := open(t)
			now := time.Now()
			if err := st.PutHost(ctx, &inventory.Host{MACs: []string{host}, Hostname: "r01", IP: "192.0.2.40"}); err != nil {
				t.Fatal(err)
			}
			if err := st.SaveLeases(ctx, []inventory.Lease{{IP: "192.0.2.40", State: inventory.LeaseDeclined, Expires: now.Add(time.Hour), Updated: now, Hostname: "declined by " + host}}); err != nil {
				t.Fatal(err)
			}
			s, err := New(ctx, Options{Config: fullConfig("vs", UnknownIgnore), Store: st, Shared: shared, ServerIP: "192.0.2.1", Logger: quietLogger()})
			if err != nil {
				t.Fatal(err)
			}
			s.prober = tc.prober
			done := make(chan struct{})
			go func() { s.commit.run(ctx); close(done) }()
			defer func() { cancel(); <-done }()

			s.probeDue(ctx, now) // scheduled, not yet due
			if tc.prober.n != 0 {
				t.Fatalf("probed before declineProbeAfter")
			}
			s.probeDue(ctx, now.Add(declineProbeAfter))
			if tc.prober.n != 1 || s.Metrics.Probes(tc.result) != 1 {
				t.Fatalf("probes %d, %s %d", tc.prober.n, tc.result, s.Metrics.Probes(tc.result))
			}
			l := storedLease(t, s, net.IPv4(192, 0, 2, 40))
			if l.State != tc.want || l.MAC != tc.wantMAC {
				t.Errorf("lease after the probe %+v, want %s by %q", l, tc.want, tc.wantMAC)
			}
			s.probeDue(ctx, now.Add(declineProbeAfter+time.Second))
			if tc.prober.n != 1 {
				t.Errorf("probed again within a second")
			}
			if tc.reprobeIn > 0 {
				s.probeDue(ctx, now.Add(declineProbeAfter+tc.reprobeIn))
				if tc.prober.n != 2 {
					t.Errorf("not probed again after %s", tc.reprobeIn)
				}
			}
		})
	}
}
