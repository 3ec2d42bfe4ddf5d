package inventory

import (
	"context"
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

// TestStoreFilesPrivate: the database, its WAL and its shared-memory file
// are 0600 under a permissive umask, and files an older version left open
// to others are closed to them at the next open.
func TestStoreFilesPrivate(t *testing.T) {
	old := syscall.Umask(0)
	t.Cleanup(func() { syscall.Umask(old) })
	dir := t.TempDir()
	path := filepath.Join(dir, "inventory.db")
	check := func(when string) {
		t.Helper()
		for _, f := range []string{path, path + "-wal", path + "-shm"} {
			fi, err := os.Stat(f)
			if err != nil {
				t.Fatalf("%s: %v", when, err)
			}
			if fi.Mode().Perm() != 0o600 {
				t.Fatalf("%s: %s is %o, want 600", when, filepath.Base(f), fi.Mode().Perm())
			}
		}
	}
	st, err := OpenSQLite(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := st.PutHost(context.Background(), &Host{MACs: []string{"52:54:00:00:00:01"}, Hostname: "a01"}); err != nil {
		t.Fatal(err)
	}
	check("fresh store, umask 0")
	st.Close()
	// As an older version left them: open to all (-wal and -shm may be
	// gone after a clean close; empty ones are valid).
	for _, f := range []string{path + "-wal", path + "-shm"} {
		if _, err := os.Stat(f); os.IsNotExist(err) {
			if err := os.WriteFile(f, nil, 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	for _, f := range []string{path, path + "-wal", path + "-shm"} {
		if err := os.Chmod(f, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	st, err = OpenSQLite(path)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if err := st.PutHost(context.Background(), &Host{MACs: []string{"52:54:00:00:00:02"}, Hostname: "a02"}); err != nil {
		t.Fatal(err)
	}
	check("reopened store left 0644")
	if h, err := st.GetHost(context.Background(), "a01"); err != nil || h.Hostname != "a01" {
		t.Fatalf("data written before the reopen: %v, %v", h, err)
	}
}
