package httpd

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"testing"

	"github.com/netkick/netkick/internal/pgtest"
	"github.com/netkick/netkick/inventory"
	"github.com/netkick/netkick/kickstart"
)

// TestHostsListFromCache checks, on SQLite and on PostgreSQL, that GET
// /api/v1/hosts (whole, and filtered by state, role and cluster), now
// answered from the list the service keeps, is byte for byte the JSON of the
// store's ListHosts, after writes through another handle (another process
// or server): an edit, a removal, a new host, a removal and re-add, and
// removals past the tombstones the store keeps.
func TestHostsListFromCache(t *testing.T) {
	ctx := context.Background()
	stores := map[string]func(t *testing.T) func() (inventory.Store, error){
		"sqlite": func(t *testing.T) func() (inventory.Store, error) {
			path := filepath.Join(t.TempDir(), "inventory.db")
			return func() (inventory.Store, error) { return inventory.OpenSQLite(path) }
		},
		"postgres": func(t *testing.T) func() (inventory.Store, error) {
			url := pgtest.Start(t).NewDatabase(t)
			return func() (inventory.Store, error) { return inventory.OpenPostgres(ctx, url) }
		},
	}
	for _, name := range []string{"sqlite", "postgres"} {
		t.Run(name, func(t *testing.T) {
			open := stores[name](t)
			var st, other inventory.Store
			for _, p := range []*inventory.Store{&st, &other} {
				s, err := open()
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { s.Close() })
				*p = s
			}
			r, err := kickstart.New(kickstart.Options{})
			if err != nil {
				t.Fatal(err)
			}
			s, err := New(Options{Store: st, Renderer: r, AdminToken: testToken})
			if err != nil {
				t.Fatal(err)
			}
			host := func(n int, name string, state inventory.State, cluster string, roles ...string) inventory.Host {
				return inventory.Host{MACs: []string{fmt.Sprintf("52:54:00:00:0a:%02x", n)}, Hostname: name, State: state, Cluster: cluster,
					Roles: roles, Labels: map[string]string{"rack": fmt.Sprintf("r%d", n%3)}, IP: fmt.Sprintf("192.0.2.%d", n)}
			}
			// Hostnames whose byte order differs from a natural-language collation's.
			if err := other.PutHosts(ctx, []inventory.Host{
				host(1, "a1", inventory.StateReady, "c1", "web"),
				host(2, "a-2", inventory.StateBuild, "", "db"),
				host(3, "a10", inventory.StateInstalled, "c1", "web", "lvs-real-server"),
				host(4, "a9", inventory.StateReady, ""),
				host(5, "b.5", inventory.StateBuild, "c2", "web"),
			}); err != nil {
				t.Fatal(err)
			}
			filters := map[string]inventory.HostFilter{
				"/api/v1/hosts":                        {},
				"/api/v1/hosts?role=web":               {Role: "web"},
				"/api/v1/hosts?state=build":            {State: inventory.StateBuild},
				"/api/v1/hosts?cluster=c1":             {Cluster: "c1"},
				"/api/v1/hosts?role=web&state=ready":   {Role: "web", State: inventory.StateReady},
				"/api/v1/hosts?role=nobody":            {Role: "nobody"},
				"/api/v1/hosts?state=build&cluster=c2": {State: inventory.StateBuild, Cluster: "c2"},
			}
			check := func(step string) {
				t.Helper()
				for url, f := range filters {
					want, err := st.ListHosts(ctx, f)
					if err != nil {
						t.Fatal(err)
					}
					if want == nil {
						want = []inventory.Host{}
					}
					var b bytes.Buffer
					if err := json.NewEncoder(&b).Encode(want); err != nil {
						t.Fatal(err)
					}
					rec := s.do(call{"GET", url, "", true})
					if rec.Code != 200 || rec.Body.String() != b.String() {
						t.Fatalf("%s: GET %s: %d\n%s\nwant the store's list\n%s", step, url, rec.Code, rec.Body, b.String())
					}
				}
			}
			check("first read")
			for _, step := range []struct {
				name  string
				write func() error
			}{
				{"an edit", func() error {
					_, err := other.UpdateHost(ctx, "a9", func(h *inventory.Host) error { h.Roles = []string{"web"}; h.State = inventory.StateBuild; return nil })
					return err
				}},
				{"a removal", func() error { return other.DeleteHost(ctx, "a1") }},
				{"a new host", func() error { h := host(6, "a0", inventory.StateReady, "c1", "web"); return other.PutHost(ctx, &h) }},
				{"a removal and a re-add", func() error {
					if err := other.DeleteHost(ctx, "a10"); err != nil {
						return err
					}
					h := host(3, "a10", inventory.StateReady, "c2", "db")
					return other.PutHost(ctx, &h)
				}},
				{"removals past the tombstones kept", func() error {
					other.(interface {
						SetTombstoneRetention(inventory.TombstoneRetention)
					}).SetTombstoneRetention(inventory.TombstoneRetention{Count: 1})
					if err := other.DeleteHost(ctx, "a-2"); err != nil {
						return err
					}
					return other.DeleteHost(ctx, "b.5")
				}},
				{"every host removed", func() error {
					for _, n := range []string{"a0", "a9", "a10"} {
						if err := other.DeleteHost(ctx, n); err != nil {
							return err
						}
					}
					return nil
				}},
			} {
				if err := step.write(); err != nil {
					t.Fatalf("%s: %v", step.name, err)
				}
				check(step.name)
			}
		})
	}
}
