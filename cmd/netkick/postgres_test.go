package main

import (
	"fmt"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/netkick/netkick/internal/ipmisim"
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

// TestStoreMigrateSQLiteToPostgres: an inventory made on SQLite moves into
// PostgreSQL with its counts verified, and a server on PostgreSQL serves it.
func TestStoreMigrateSQLiteToPostgres(t *testing.T) {
	srv := pgtest.Start(t)
	url := srv.NewDatabase(t)
	bin := buildNetkick(t)
	data := t.TempDir()
	run(t, bin, "profile", "add", "centos-7.9", "--os", "centos", "--version", "7.9", "--data", data)
	run(t, bin, "host", "add", "52:54:00:aa:00:01", "--hostname", "web1", "--profile", "centos-7.9", "--data", data)
	run(t, bin, "host", "tag", "web1", "lvs-real-server", "--data", data)
	// web1's BMC is a simulated one; its password is stored, not in a file.
	sim := ipmisim.Start(t)
	set := exec.Command(bin, "host", "set", "web1", "--bmc-address", "127.0.0.1", "--bmc-port", fmt.Sprint(sim.Port),
		"--bmc-user", ipmisim.User, "--bmc-password-stdin", "--data", data)
	set.Stdin = strings.NewReader(ipmisim.Password + "\n")
	if b, err := set.CombinedOutput(); err != nil {
		t.Fatalf("host set --bmc-password-stdin: %v %s", err, b)
	}
	out := run(t, bin, "store", "migrate", "--from", "sqlite://"+data, "--to", url)
	if !strings.Contains(out, "copied 1 hosts, 1 profiles, 0 layouts, 0 clusters, 0 leases, 3 events, 0 API tokens, 1 BMC settings") ||
		!strings.Contains(out, "counts verified") || strings.Contains(out, ipmisim.Password) {
		t.Fatalf("migrate: %s", out)
	}
	// Again into the now full database: refused.
	cmd := exec.Command(bin, "store", "migrate", "--from", "sqlite://"+data, "--to", url)
	if b, err := cmd.CombinedOutput(); err == nil || !strings.Contains(string(b), "not empty") {
		t.Fatalf("second migrate: %v %s", err, b)
	}
	other := t.TempDir()
	base, _ := startServe(t, bin, other, "--store", url)
	show := run(t, bin, "host", "show", "web1", "--server", base, "--token-file", filepath.Join(other, "admin.token"))
	if !strings.Contains(show, "lvs-real-server") {
		t.Fatalf("server on PostgreSQL after migrate:\n%s", show)
	}
	// The BMC settings came along: the server on PostgreSQL drives the BMC
	// with the migrated password, and shows only that one is set.
	if !strings.Contains(show, "bmc:") || !strings.Contains(show, "password set") || strings.Contains(show, ipmisim.Password) {
		t.Fatalf("BMC settings after migrate:\n%s", show)
	}
	tok := filepath.Join(other, "admin.token")
	out = run(t, bin, "host", "power", "web1", "on", "--server", base, "--token-file", tok)
	if !strings.Contains(out, "1 of 1 succeeded") {
		t.Fatalf("power on through the server on PostgreSQL:\n%s", out)
	}
	sim.WaitBoots(t, 1)
	out = run(t, bin, "host", "power", "web1", "status", "--server", base, "--token-file", tok)
	if !regexp.MustCompile(`web1\s+on\s`).MatchString(out) {
		t.Fatalf("status through the server on PostgreSQL (ipmitool reads %s):\n%s", sim.PowerState(t), out)
	}
}
