package provision

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/netkick/netkick/internal/pgtest"
	"github.com/netkick/netkick/inventory"
)

func TestPatchHosts(t *testing.T) {
	h := func(n int, name string, roles ...string) inventory.Host {
		return inventory.Host{MACs: []string{fmt.Sprintf("52:54:00:00:00:%02x", n)}, Hostname: name, Roles: roles}
	}
	show := func(hs []inventory.Host) string {
		var b []string
		for _, x := range hs {
			b = append(b, x.Hostname+strings.Join(x.Roles, "+"))
		}
		return strings.Join(b, " ")
	}
	base := []inventory.Host{h(1, "a"), h(2, "c"), h(3, "e")}
	for _, tc := range []struct {
		name string
		ch   inventory.HostChanges
		want string
	}{
		{"nothing changed", inventory.HostChanges{}, "a c e"},
		{"one host changed in place", inventory.HostChanges{Changed: []inventory.Host{h(2, "c", "web")}}, "a cweb e"},
		{"a new host lands in name order", inventory.HostChanges{Changed: []inventory.Host{h(4, "d")}}, "a c d e"},
		{"new hosts first and last", inventory.HostChanges{Changed: []inventory.Host{h(5, "f"), h(4, "0")}}, "0 a c e f"},
		{"renamed host moves", inventory.HostChanges{Changed: []inventory.Host{h(1, "z")}}, "c e z"},
		{"removed host goes", inventory.HostChanges{Deleted: []string{"52:54:00:00:00:02"}}, "a e"},
		{"removed then added again", inventory.HostChanges{Deleted: []string{"52:54:00:00:00:03"}, Changed: []inventory.Host{h(3, "b", "db")}}, "a bdb c"},
		{"removal of a host never seen", inventory.HostChanges{Deleted: []string{"52:54:00:00:00:09"}}, "a c e"},
		{"everything removed", inventory.HostChanges{Deleted: []string{"52:54:00:00:00:01", "52:54:00:00:00:02", "52:54:00:00:00:03"}}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := show(base)
			got := patchHosts(base, tc.ch)
			if show(got) != tc.want {
				t.Errorf("patched: %q, want %q", show(got), tc.want)
			}
			if show(base) != before {
				t.Errorf("the old list changed to %q: readers may still hold it", show(base))
			}
		})
	}
}

// TestHostCacheFollowsStore checks, on both stores, that the patched list is
// the list a full read gives, after writes through another handle (another
// process, or another server on the shared store).
func TestHostCacheFollowsStore(t *testing.T) {
	ctx := context.Background()
	stores := map[string]func(t *testing.T) (inventory.Store, inventory.Store){
		"sqlite": func(t *testing.T) (inventory.Store, inventory.Store) {
			path := filepath.Join(t.TempDir(), "inventory.db")
			return openBoth(t, func() (inventory.Store, error) { return inventory.OpenSQLite(path) })
		},
		"postgres": func(t *testing.T) (inventory.Store, inventory.Store) {
			url := pgtest.Start(t).NewDatabase(t)
			return openBoth(t, func() (inventory.Store, error) { return inventory.OpenPostgres(ctx, url) })
		},
	}
	for _, name := range []string{"sqlite", "postgres"} {
		t.Run(name, func(t *testing.T) {
			st, other := stores[name](t)
			host := func(n int, name string) inventory.Host {
				return inventory.Host{MACs: []string{fmt.Sprintf("52:54:00:00:01:%02x", n)}, Hostname: name, Labels: map[string]string{}}
			}
			if err := st.PutHosts(ctx, []inventory.Host{host(1, "n01"), host(2, "n02"), host(3, "n03"), host(4, "n04")}); err != nil {
				t.Fatal(err)
			}
			var c hostCache
			check := func(step string) {
				t.Helper()
				got, err := c.all(ctx, st)
				if err != nil {
					t.Fatalf("%s: %v", step, err)
				}
				want, err := st.ListHosts(ctx, inventory.HostFilter{})
				if err != nil {
					t.Fatal(err)
				}
				if fmt.Sprint(got) != fmt.Sprint(want) {
					t.Fatalf("%s: cached\n%v\nwant\n%v", step, got, want)
				}
			}
			check("first read")
			steps := []struct {
				name  string
				write func() error
			}{
				{"a label set", func() error {
					_, err := other.UpdateHost(ctx, "n02", func(h *inventory.Host) error { h.Labels = map[string]string{"rack": "r7"}; return nil })
					return err
				}},
				{"a host removed", func() error { return other.DeleteHost(ctx, "n03") }},
				{"a host added", func() error { h := host(5, "m00"); return other.PutHost(ctx, &h) }},
				{"a profile saved (no host changed)", func() error {
					return other.PutProfile(ctx, &inventory.Profile{Name: "p1", OS: "rhel", Version: "7.9"})
				}},
				{"a host removed and added again", func() error {
					if err := other.DeleteHost(ctx, "n04"); err != nil {
						return err
					}
					h := host(4, "n04")
					h.Roles = []string{"web"}
					return other.PutHost(ctx, &h)
				}},
				{"two hosts removed, the older tombstone pruned (the cache reloads)", func() error {
					other.(interface {
						SetTombstoneRetention(inventory.TombstoneRetention)
					}).SetTombstoneRetention(inventory.TombstoneRetention{Count: 1})
					if err := other.DeleteHost(ctx, "n01"); err != nil {
						return err
					}
					return other.DeleteHost(ctx, "m00")
				}},
			}
			for _, s := range steps {
				if err := s.write(); err != nil {
					t.Fatalf("%s: %v", s.name, err)
				}
				check(s.name)
			}
		})
	}
}

// openBoth opens two handles on one store, closed at the end of the test.
func openBoth(t *testing.T, open func() (inventory.Store, error)) (inventory.Store, inventory.Store) {
	var out [2]inventory.Store
	for i := range out {
		s, err := open()
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		out[i] = s
	}
	return out[0], out[1]
}
