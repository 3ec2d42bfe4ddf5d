package main

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/netkick/netkick/inventory"
)

// TestImportKill9AllOrNothing kills `netkick import` of 3,000 hosts (and
// the profile they use) with SIGKILL the moment the first imported host is
// visible in the database, and at points before: the reopened inventory
// holds the whole import, each host with its timeline event, or none of
// it — never hosts without their event, nor a profile without its hosts.
// Then an import the store refuses half way leaves nothing either.
func TestImportKill9AllOrNothing(t *testing.T) {
	bin := buildNetkick(t)
	const n = 3000
	var doc strings.Builder
	doc.WriteString("profiles:\n  - name: rocky-9\n    os: rocky\n    version: \"9.4\"\nhosts:\n")
	for i := range n {
		fmt.Fprintf(&doc, "  - macs: [\"52:54:00:%02x:%02x:%02x\"]\n    hostname: n%04d\n    profile: rocky-9\n", i>>16&0xff, i>>8&0xff, i&0xff, i)
	}
	file := filepath.Join(t.TempDir(), "hosts.yaml")
	if err := os.WriteFile(file, []byte(doc.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	// How long a whole import takes here, to kill the others part way.
	start := time.Now()
	if out := run(t, bin, "import", file, "--data", t.TempDir()); !strings.Contains(out, fmt.Sprintf("%d added", n+1)) {
		t.Fatalf("import:\n%s", out)
	}
	whole := time.Since(start)

	for _, tc := range []struct {
		name  string
		after time.Duration // kill after this long; 0: when the first host is visible
	}{
		{"at the first visible host", 0},
		{"a quarter in", whole / 4},
		{"half way", whole / 2},
		{"three quarters in", whole * 3 / 4},
	} {
		t.Run(tc.name, func(t *testing.T) {
			data := t.TempDir()
			db := filepath.Join(data, "inventory.db")
			cmd := exec.Command(bin, "import", file, "--data", data)
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
			exited := make(chan struct{})
			go func() { cmd.Wait(); close(exited) }()
			if tc.after > 0 {
				select {
				case <-time.After(tc.after):
				case <-exited:
				}
			} else {
				waitForHost(t, db, exited)
			}
			cmd.Process.Kill()
			<-exited
			checkImportWhole(t, db, n)
		})
	}

	// A write the store refuses half way (a host taking the name of one
	// imported before) fails the command with the reason and leaves nothing:
	// not the new profile, not the hosts before it.
	t.Run("refused half way", func(t *testing.T) {
		data := t.TempDir()
		run(t, bin, "import", file, "--data", data)
		bad := filepath.Join(t.TempDir(), "bad.yaml")
		if err := os.WriteFile(bad, []byte("profiles:\n  - name: rocky-8\n    os: rocky\n    version: \"8.10\"\nhosts:\n"+
			"  - macs: [\"52:54:00:f0:00:01\"]\n    hostname: new1\n    profile: rocky-8\n"+
			"  - macs: [\"52:54:00:f0:00:02\"]\n    hostname: n0001\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		out, code := exitOf(t, bin, "", nil, "import", bad, "--data", data)
		if code == 0 || !strings.Contains(out, "import rolled back, nothing written") || !strings.Contains(out, "hostname n0001 already belongs to host") ||
			!strings.Contains(out, "an import is all or nothing") {
			t.Fatalf("import with a host taking an imported host's name: exit %d\n%s", code, out)
		}
		exp := run(t, bin, "export", "--data", data)
		if strings.Contains(exp, "rocky-8") || strings.Contains(exp, "new1") {
			t.Fatalf("the refused import left entries behind:\n%s", out)
		}
	})
}

// waitForHost polls the database read-only until it holds a host, or the
// import exits.
func waitForHost(t *testing.T, path string, exited <-chan struct{}) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for time.Now().Before(deadline) {
		select {
		case <-exited:
			return
		default:
		}
		if _, err := os.Stat(path); err == nil {
			if ro, err := sql.Open("sqlite", "file:"+path+"?mode=ro"); err == nil {
				var c int
				err := ro.QueryRow(`SELECT count(*) FROM hosts`).Scan(&c)
				ro.Close()
				if err == nil && c > 0 {
					return
				}
			}
		}
		time.Sleep(time.Millisecond)
	}
	t.Fatal("no host became visible within a minute")
}

// checkImportWhole reopens the inventory a killed import left and checks
// it holds all n hosts of the import with their events and profile, or none.
func checkImportWhole(t *testing.T, path string, n int) {
	t.Helper()
	if _, err := os.Stat(path); err != nil {
		t.Logf("killed before the inventory was created")
		return
	}
	st, err := inventory.OpenSQLite(path)
	if err != nil {
		t.Fatalf("reopen after kill -9: %v", err)
	}
	defer st.Close()
	q := func(query string) int {
		var c int
		if err := st.DB().QueryRow(query).Scan(&c); err != nil {
			t.Fatalf("%s: %v", query, err)
		}
		return c
	}
	hosts := q(`SELECT count(*) FROM hosts`)
	orphans := q(`SELECT count(*) FROM hosts h WHERE NOT EXISTS (SELECT 1 FROM events e WHERE e.host_id = h.id AND e.kind = 'imported')`)
	stray := q(`SELECT count(*) FROM events e WHERE NOT EXISTS (SELECT 1 FROM hosts h WHERE h.id = e.host_id)`)
	_, perr := st.GetProfile(context.Background(), "rocky-9")
	t.Logf("after kill -9: %d hosts, %d without their event, %d events without their host, profile: %v", hosts, orphans, stray, perr == nil)
	if hosts != 0 && hosts != n {
		t.Errorf("%d of %d hosts written: an import is all or nothing", hosts, n)
	}
	if orphans != 0 || stray != 0 {
		t.Errorf("%d hosts without their import event, %d events without their host", orphans, stray)
	}
	if (perr == nil) != (hosts == n) {
		t.Errorf("profile stored: %v, with %d hosts: the profile and its hosts go together", perr == nil, hosts)
	}
}
