package inventory

import (
	"context"
	"path/filepath"
	"testing"
	"time"
)

func BenchmarkGetHostCached(b *testing.B) {
	s, err := OpenSQLite(filepath.Join(b.TempDir(), "inventory.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	if err := s.PutHost(ctx, &Host{MACs: []string{"52:54:00:00:00:01"}, Hostname: "a"}); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		if _, err := s.GetHost(ctx, "52:54:00:00:00:01"); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkGeneration(b *testing.B) {
	s, err := OpenSQLite(filepath.Join(b.TempDir(), "inventory.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	for i := 0; i < b.N; i++ {
		if _, err := s.generation(context.Background()); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkAddEvent(b *testing.B) {
	s, err := OpenSQLite(filepath.Join(b.TempDir(), "inventory.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if err := s.AddEvent(context.Background(), Event{HostID: "52:54:00:00:00:01", Kind: "kickstart"}); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkLeaseIP: the token binding's lease lookup, made for every MAC of
// a host on every kickstart fetch and report.
func BenchmarkLeaseIP(b *testing.B) {
	s, err := OpenSQLite(filepath.Join(b.TempDir(), "inventory.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	if err := s.SaveLeases(ctx, []Lease{{IP: "192.0.2.10", MAC: "52:54:00:00:00:01", State: LeaseBound, Expires: time.Now().Add(time.Hour)}}); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		if ip, err := s.LeaseIP(ctx, "52:54:00:00:00:01"); err != nil || ip != "192.0.2.10" {
			b.Fatal(ip, err)
		}
	}
}
