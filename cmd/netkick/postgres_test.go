package main

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/netkick/netkick/internal/pgtest"
)

// TestTwoServersShareOnePostgres: two `netkick serve` processes on one
// PostgreSQL database (each with its own data dir) see each other's
// writes: a host added and tagged through server A's API is listed and
// rendered by server B.
func TestTwoServersShareOnePostgres(t *testing.T) {
	srv := pgtest.Start(t)
	url := srv.NewDatabase(t)
	bin := buildNetkick(t)
	dataA, dataB := t.TempDir(), t.TempDir()
	a, _ := startServe(t, bin, dataA, "--store", url)
	b, _ := startServe(t, bin, dataB, "--store", url)
	tokA := filepath.Join(dataA, "admin.token")
	tokB := filepath.Join(dataB, "admin.token")
	run(t, bin, "profile", "add", "centos-7.9", "--os", "centos", "--version", "7.9", "--server", a, "--token-file", tokA)
	run(t, bin, "host", "add", "52:54:00:aa:00:01", "--hostname", "web1", "--profile", "centos-7.9", "--server", a, "--token-file", tokA)
	run(t, bin, "host", "tag", "web1", "lvs-real-server", "--server", a, "--token-file", tokA)
	list := run(t, bin, "host", "list", "--server", b, "--token-file", tokB)
	if !strings.Contains(list, "web1") {
		t.Fatalf("server B does not list the host added through A:\n%s", list)
	}
	show := run(t, bin, "host", "show", "web1", "--server", b, "--token-file", tokB)
	if !strings.Contains(show, "lvs-real-server") {
		t.Fatalf("server B does not show A's tag:\n%s", show)
	}
}
