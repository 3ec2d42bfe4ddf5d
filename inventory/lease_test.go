package inventory

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"
)

func testLeasesSaveReplaceReopen(t *testing.T, s Store, again func() Store) {
	ctx := context.Background()
	exp := time.Unix(1_800_000_000, 0).UTC()
	batch := []Lease{
		{IP: "192.0.2.100", MAC: "52:54:00:00:00:01", State: LeaseBound, Expires: exp, Hostname: "a01"},
		{IP: "192.0.2.101", MAC: "52:54:00:00:00:02", State: LeaseBound, Expires: exp},
	}
	if err := s.SaveLeases(ctx, batch); err != nil {
		t.Fatal(err)
	}
	// The same address saved again replaces its holder: never two rows per address.
	if err := s.SaveLeases(ctx, []Lease{{IP: "192.0.2.101", MAC: "52:54:00:00:00:03", State: LeaseDeclined, Expires: exp}}); err != nil {
		t.Fatal(err)
	}
	s.Close()
	s2 := again()
	defer s2.Close()
	got, err := s2.Leases(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 {
		t.Fatalf("got %d leases, want 2: %+v", len(got), got)
	}
	if got[0].IP != "192.0.2.100" || got[0].MAC != "52:54:00:00:00:01" || got[0].Hostname != "a01" || !got[0].Expires.Equal(exp) || got[0].State != LeaseBound {
		t.Errorf("first lease = %+v", got[0])
	}
	if got[1].MAC != "52:54:00:00:00:03" || got[1].State != LeaseDeclined {
		t.Errorf("second lease = %+v", got[1])
	}
}

func testSaveLeasesRejectsBadAddress(t *testing.T, s Store, again func() Store) {
	err := s.SaveLeases(context.Background(), []Lease{{IP: "300.1.2.3", MAC: "52:54:00:00:00:01", State: LeaseBound}})
	if err == nil {
		t.Fatal("saved a lease for 300.1.2.3")
	}
	ls, _ := s.Leases(context.Background())
	if len(ls) != 0 {
		t.Errorf("a failed batch left %d leases", len(ls))
	}
}

func TestLeaseActive(t *testing.T) {
	now := time.Unix(1000, 0)
	tests := []struct {
		name string
		l    Lease
		want bool
	}{
		{"bound before expiry", Lease{State: LeaseBound, Expires: now.Add(time.Second)}, true},
		{"bound at expiry", Lease{State: LeaseBound, Expires: now}, false},
		{"released", Lease{State: LeaseReleased, Expires: now.Add(time.Hour)}, false},
		{"declined holds", Lease{State: LeaseDeclined, Expires: now.Add(time.Hour)}, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.l.Active(now); got != tc.want {
				t.Errorf("Active = %v, want %v", got, tc.want)
			}
		})
	}
}

func testSaveLeasesBatchOrder(t *testing.T, s Store, again func() Store) {
	ctx := context.Background()
	exp := time.Unix(1_800_000_000, 0).UTC()
	var batch []Lease
	// 1200 rows (more than one statement), the same address several times:
	// the last row for an address wins, as if written one by one.
	for i := 0; i < 1200; i++ {
		ip := fmt.Sprintf("198.18.%d.%d", i/250, i%250+1)
		batch = append(batch, Lease{IP: ip, MAC: "52:54:00:00:00:01", State: LeaseBound, Expires: exp})
		if i%100 == 0 {
			batch = append(batch, Lease{IP: "192.0.2.7", MAC: fmt.Sprintf("52:54:00:00:01:%02x", i/100), State: LeaseBound, Expires: exp})
		}
	}
	batch = append(batch, Lease{IP: "192.0.2.7", MAC: "52:54:00:00:02:ff", State: LeaseReleased, Expires: exp})
	if err := s.SaveLeases(ctx, batch); err != nil {
		t.Fatal(err)
	}
	got, err := s.Leases(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1201 {
		t.Fatalf("%d leases stored, want 1201", len(got))
	}
	for _, l := range got {
		if l.IP == "192.0.2.7" && (l.MAC != "52:54:00:00:02:ff" || l.State != LeaseReleased) {
			t.Errorf("192.0.2.7 = %+v, want the batch's last row", l)
		}
	}
}

func testLeaseIP(t *testing.T, s Store, again func() Store) {
	ctx := context.Background()
	now := time.Now()
	if err := s.SaveLeases(ctx, []Lease{
		{IP: "192.0.2.100", MAC: "52:54:00:00:00:01", State: LeaseBound, Expires: now.Add(time.Hour), Updated: now},
		{IP: "192.0.2.101", MAC: "52:54:00:00:00:02", State: LeaseBound, Expires: now.Add(-time.Minute), Updated: now},
		{IP: "192.0.2.102", MAC: "52:54:00:00:00:03", State: LeaseReleased, Expires: now.Add(time.Hour), Updated: now},
	}); err != nil {
		t.Fatal(err)
	}
	tests := []struct{ name, mac, want string }{
		{"active lease, any spelling", "52-54-00-00-00-01", "192.0.2.100"},
		{"expired lease", "52:54:00:00:00:02", ""},
		{"released lease", "52:54:00:00:00:03", ""},
		{"no lease", "52:54:00:00:00:09", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ip, err := s.LeaseIP(ctx, tc.mac)
			if ip != tc.want || (tc.want == "") != errors.Is(err, ErrNotFound) {
				t.Fatalf("LeaseIP(%s)=%q,%v want %q", tc.mac, ip, err, tc.want)
			}
		})
	}
}

func testHostIDByLease(t *testing.T, s Store, again func() Store) {
	ctx := context.Background()
	now := time.Now()
	h := &Host{MACs: []string{"52:54:00:00:00:01"}, Hostname: "a01"}
	if err := s.PutHost(ctx, h); err != nil {
		t.Fatal(err)
	}
	if err := s.SaveLeases(ctx, []Lease{
		{IP: "192.0.2.100", MAC: "52:54:00:00:00:01", State: LeaseBound, Expires: now.Add(time.Hour), Updated: now},
		{IP: "192.0.2.101", MAC: "52:54:00:00:00:01", State: LeaseBound, Expires: now.Add(-time.Minute), Updated: now},
		{IP: "192.0.2.102", MAC: "52:54:00:00:00:01", State: LeaseReleased, Expires: now.Add(time.Hour), Updated: now},
		{IP: "192.0.2.103", MAC: "52:54:00:00:00:77", State: LeaseBound, Expires: now.Add(time.Hour), Updated: now},
	}); err != nil {
		t.Fatal(err)
	}
	got, err := s.GetHost(ctx, "a01")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct{ name, ip, want string }{
		{"active lease of a known host", "192.0.2.100", got.ID()},
		{"expired lease", "192.0.2.101", ""},
		{"released lease", "192.0.2.102", ""},
		{"lease of a machine not in the inventory", "192.0.2.103", ""},
		{"no lease", "192.0.2.200", ""},
		{"not an address", "'; DROP TABLE hosts; --", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			id, err := s.HostIDByLease(ctx, tc.ip)
			if id != tc.want || (tc.want == "") != errors.Is(err, ErrNotFound) {
				t.Fatalf("HostIDByLease(%s) = %q, %v; want %q", tc.ip, id, err, tc.want)
			}
		})
	}
}
