package inventory

import (
	"fmt"
	"testing"
)

// TestSQLiteVersion asserts the SQLite linked into netkick is 3.51.3 or newer:
// 3.7.0 to 3.51.2 can corrupt a WAL database when two connections reset the
// WAL at once, and netkick writes one WAL database from the server and the CLI
// at the same time.
func TestSQLiteVersion(t *testing.T) {
	s, _ := openTemp(t)
	var v string
	if err := s.db.QueryRow(`SELECT sqlite_version()`).Scan(&v); err != nil {
		t.Fatal(err)
	}
	var major, minor, patch int
	if _, err := fmt.Sscanf(v, "%d.%d.%d", &major, &minor, &patch); err != nil {
		t.Fatalf("sqlite_version() = %q: %v", v, err)
	}
	if got, min := [3]int{major, minor, patch}, [3]int{3, 51, 3}; less(got, min) {
		t.Fatalf("linked SQLite is %s, want 3.51.3 or newer (WAL-reset corruption fix): upgrade modernc.org/sqlite", v)
	}
	t.Logf("linked SQLite %s", v)
}

func less(a, b [3]int) bool {
	for i := range a {
		if a[i] != b[i] {
			return a[i] < b[i]
		}
	}
	return false
}
