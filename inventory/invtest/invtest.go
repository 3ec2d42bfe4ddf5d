// Package invtest holds Store fakes for the tests of packages that use the
// inventory (httpd, provision): Empty and Fixed are real SQLite stores in a
// test's temporary directory (empty, or loaded with a dump), Broken fails
// every call, Rack makes a large inventory. Fakes stop at the Store interface: the stores themselves are
// tested against real SQLite and PostgreSQL in package inventory.
package invtest

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"

	"github.com/netkick/netkick/inventory"
)

// Empty returns a new, empty store, closed by t.Cleanup.
func Empty(t testing.TB) inventory.Store {
	t.Helper()
	s, err := inventory.OpenSQLite(filepath.Join(t.TempDir(), "inventory.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// Fixed returns a store holding exactly d (imported as `netkick import`
// would), closed by t.Cleanup.
func Fixed(t testing.TB, d *inventory.Dump) inventory.Store {
	t.Helper()
	s := Empty(t)
	if err := inventory.Import(context.Background(), s, d); err != nil {
		t.Fatalf("load fixed inventory: %v", err)
	}
	return s
}

// Rack returns n hosts named node00000… in order, each with its own MAC and
// address, one of three roles and states in turn, and a rack label (one of
// 40): the large inventory the 10,000-host benchmarks and tests use.
func Rack(n int) []inventory.Host {
	hosts := make([]inventory.Host, n)
	for i := range hosts {
		hosts[i] = inventory.Host{MACs: []string{fmt.Sprintf("52:54:00:%02x:%02x:%02x", i>>16, (i>>8)&0xff, i&0xff)},
			Hostname: fmt.Sprintf("node%05d", i), IP: fmt.Sprintf("10.%d.%d.%d", i>>16, (i>>8)&0xff, i&0xff),
			Roles: []string{[]string{"lvs-real-server", "web", "db"}[i%3]}, Labels: map[string]string{"rack": fmt.Sprintf("r%02d", i%40)},
			State: []inventory.State{inventory.StateReady, inventory.StateBuild, inventory.StateInstalled}[i%3]}
	}
	return hosts
}

// TouchRack changes one host of a Rack of n through st (the i-th change
// picks a host spread over the rack, by a step prime to n), as another
// server's write would: what the "after a change" benchmarks do before each
// view.
func TouchRack(tb testing.TB, st inventory.Store, n, i int) {
	tb.Helper()
	if _, err := st.UpdateHost(context.Background(), fmt.Sprintf("node%05d", i*7919%n), func(h *inventory.Host) error {
		h.Labels["seq"] = fmt.Sprint(i)
		return nil
	}); err != nil {
		tb.Fatal(err)
	}
}
