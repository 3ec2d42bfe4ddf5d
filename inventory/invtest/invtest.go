// Package invtest holds Store fakes for the tests of packages that use the
// inventory (httpd, provision): Empty and Fixed are real SQLite stores in a
// test's temporary directory (empty, or loaded with a dump), Broken fails
// every call. Fakes stop at the Store interface: the stores themselves are
// tested against real SQLite and PostgreSQL in package inventory.
package invtest

import (
	"context"
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
