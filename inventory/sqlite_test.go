package inventory

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func openTemp(t testing.TB) (*SQLite, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "inventory.db")
	s, err := OpenSQLite(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s, path
}

func testHostCRUD(t *testing.T, s Store, again func() Store) {
	ctx := context.Background()
	h := &Host{MACs: []string{"AA-BB-CC-00-00-01", "aabb.cc00.0002"}, Hostname: "a01", Roles: []string{"lvs-director"}}
	if err := s.PutHost(ctx, h); err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{"a01", "A01", "aa:bb:cc:00:00:01", "AABBCC000002"} {
		got, err := s.GetHost(ctx, key)
		if err != nil {
			t.Fatalf("GetHost(%q): %v", key, err)
		}
		if got.Hostname != "a01" || got.MACs[1] != "aa:bb:cc:00:00:02" || got.State != StateReady {
			t.Fatalf("GetHost(%q)=%+v", key, got)
		}
	}
	// another host may not take the same MAC or hostname
	err := s.PutHost(ctx, &Host{MACs: []string{"aa:bb:cc:00:00:02"}, Hostname: "b01"})
	if !errors.Is(err, ErrConflict) {
		t.Fatalf("duplicate MAC: got %v", err)
	}
	err = s.PutHost(ctx, &Host{MACs: []string{"aa:bb:cc:00:00:09"}, Hostname: "A01"})
	if !errors.Is(err, ErrConflict) {
		t.Fatalf("duplicate hostname: got %v", err)
	}
	up, err := s.UpdateHost(ctx, "a01", func(h *Host) error { h.Roles = append(h.Roles, "web"); return nil })
	if err != nil || len(up.Roles) != 2 {
		t.Fatalf("UpdateHost: %v %+v", err, up)
	}
	list, err := s.ListHosts(ctx, HostFilter{Role: "web"})
	if err != nil || len(list) != 1 {
		t.Fatalf("ListHosts role=web: %v %d", err, len(list))
	}
	if err := s.DeleteHost(ctx, "aa:bb:cc:00:00:02"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.GetHost(ctx, "a01"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("after delete: %v", err)
	}
}

func testPutHostRejectsInjection(t *testing.T, s Store, again func() Store) {
	err := s.PutHost(context.Background(), &Host{MACs: []string{"aa:bb:cc:00:00:01"}, Hostname: "a$(reboot)"})
	if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "RFC 1123") {
		t.Fatalf("got %v", err)
	}
	list, _ := s.ListHosts(context.Background(), HostFilter{})
	if len(list) != 0 {
		t.Fatalf("inventory changed: %v", list)
	}
}

func testEventsCapped(t *testing.T, s Store, again func() Store) {
	setEventCap(s, 5)
	ctx := context.Background()
	for i := 0; i < 12; i++ {
		if err := s.AddEvent(ctx, Event{HostID: "aa:bb:cc:00:00:01", Kind: "tftp", Detail: string(rune('a' + i))}); err != nil {
			t.Fatal(err)
		}
	}
	ev, err := s.Events(ctx, "aa:bb:cc:00:00:01", 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(ev) != 5 || ev[0].Detail != "h" || ev[4].Detail != "l" {
		t.Fatalf("events: %+v", ev)
	}
}

func testDocsAndReopen(t *testing.T, s Store, again func() Store) {
	ctx := context.Background()
	if err := s.PutProfile(ctx, &Profile{Name: "centos-5.3", OS: "centos", Version: "5.3"}); err != nil {
		t.Fatal(err)
	}
	if err := s.PutProfile(ctx, &Profile{Name: "bad", OS: "centos", Version: "5; reboot"}); !errors.Is(err, ErrInvalid) {
		t.Fatalf("bad version accepted: %v", err)
	}
	s.Close()
	s2 := again()
	defer s2.Close()
	p, err := s2.GetProfile(ctx, "centos-5.3")
	if err != nil || p.Version != "5.3" {
		t.Fatalf("reopen: %v %+v", err, p)
	}
	if err := s2.DeleteProfile(ctx, "nope"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("delete missing: %v", err)
	}
}

func TestCorruptDatabaseIsAnError(t *testing.T) {
	tests := []struct {
		name    string
		content []byte
	}{
		{"garbage", []byte(strings.Repeat("this is not sqlite ", 400))},
		{"truncated header", []byte("SQLite format 3\x00\x10\x00")},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "inventory.db")
			if err := os.WriteFile(path, tc.content, 0o600); err != nil {
				t.Fatal(err)
			}
			s, err := OpenSQLite(path)
			if err == nil {
				s.Close()
				t.Fatal("corrupt database opened without error")
			}
			if !strings.Contains(err.Error(), path) {
				t.Fatalf("error does not name the file: %v", err)
			}
			b, _ := os.ReadFile(path)
			if string(b) != string(tc.content) {
				t.Fatal("corrupt file was modified")
			}
		})
	}
}

// TestGenerationSeesOtherHandles: a write through another handle (as another
// process would make) changes the generation this handle reports, at once.
func testGenerationSeesOtherHandles(t *testing.T, s Store, again func() Store) {
	a := s
	b := again()
	defer b.Close()
	ctx := context.Background()
	for i := 0; i < 50; i++ {
		g1, err := a.Generation(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if g, _ := a.Generation(ctx); g != g1 {
			t.Fatalf("generation moved without a write: %d then %d", g1, g)
		}
		w := b
		if i%2 == 0 {
			w = a
		}
		if err := w.PutProfile(ctx, &Profile{Name: "p", OS: "centos", Version: fmt.Sprint(5 + i%3)}); err != nil {
			t.Fatal(err)
		}
		g2, err := a.Generation(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if g2 == g1 {
			t.Fatalf("write %d not seen: generation still %d", i, g1)
		}
		p, err := a.GetProfile(ctx, "p")
		if err != nil || p.Version != fmt.Sprint(5+i%3) {
			t.Fatalf("write %d: stale profile %+v %v", i, p, err)
		}
	}
}
