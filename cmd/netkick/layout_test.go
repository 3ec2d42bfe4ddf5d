package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestLayoutCommands drives `netkick layout` as ops would: plan the built-in
// home-opt, store a layout from YAML, plan and show it, refuse a bad one,
// and see a host's kickstart carry its %pre.
func TestLayoutCommands(t *testing.T) {
	bin := buildNetkick(t)
	data := t.TempDir()
	empty := filepath.Join(t.TempDir(), "none")

	out := run(t, bin, "layout", "plan", "home-opt", "--disk", "500G", "--data", empty)
	for _, re := range []string{`sda5\s+/home\s+ext3\s+logical\s+40130\s+299005\s+258875`, `sda6\s+/opt\s+ext3\s+logical\s+299006\s+503806\s+204800`,
		`sda7\s+swap\s+swap\s+logical\s+503807\s+511999\s+8192`, `part /home --fstype=ext3 --onpart=sda5`} {
		if !regexp.MustCompile(re).MatchString(out) {
			t.Fatalf("plan 500G lacks %s:\n%s", re, out)
		}
	}
	if _, err := os.Stat(empty); err == nil {
		t.Fatalf("planning a built-in created %s", empty)
	}
	out = run(t, bin, "layout", "plan", "home-opt", "--disk", "300G", "--disk", "1T", "--data", empty)
	if !regexp.MustCompile(`sdb1\s+/home\s+ext3\s+primary\s+1\s+1048575\s+1048574`).MatchString(out) {
		t.Fatalf("second disk plan:\n%s", out)
	}
	cmd := exec.Command(bin, "layout", "plan", "home-opt", "--disk", "40G", "--data", empty)
	b, err := cmd.CombinedOutput()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 1 || !strings.Contains(string(b), "layout home-opt does not fit disk sda (40960 MiB): short by 7368 MiB") {
		t.Fatalf("40G: %v %s", err, b)
	}

	yml := filepath.Join(t.TempDir(), "db.yaml")
	os.WriteFile(yml, []byte(`name: db
label: gpt
disks:
  - use: first
    partitions:
      - {mount: /boot, fstype: ext4, size: 1G}
      - {mount: swap, size: "ram:8G"}
      - {mount: /, fstype: xfs, size: 50G}
      - {mount: /var/lib/pgsql, fstype: xfs, size: grow}
rules:
  - below_mib: 200000
    set: {/: 20G}
`), 0o644)
	run(t, bin, "profile", "add", "centos-7", "--version", "7.9", "--data", data)
	run(t, bin, "host", "add", "52:54:00:aa:00:07", "--hostname", "db1", "--profile", "centos-7", "--data", data)
	if out := run(t, bin, "layout", "put", yml, "--data", data); !strings.Contains(out, "saved layout db") {
		t.Fatal(out)
	}
	out = run(t, bin, "layout", "plan", "db", "--disk", "100G", "--ram", "16G", "--data", data)
	for _, re := range []string{`sda1\s+biosboot\s+biosboot\s+gpt\s+1\s+2\s+1`, `sda3\s+swap\s+swap\s+gpt\s+1026\s+9218\s+8192`, `sda4\s+/\s+xfs\s+gpt\s+9218\s+29698\s+20480`} {
		if !regexp.MustCompile(re).MatchString(out) {
			t.Fatalf("db plan lacks %s:\n%s", re, out)
		}
	}
	if out := run(t, bin, "layout", "list", "--data", data); !strings.Contains(out, "db") || !strings.Contains(out, "home-opt") {
		t.Fatalf("list:\n%s", out)
	}
	if out := run(t, bin, "layout", "show", "db", "--data", data); !strings.Contains(out, "size: ram:8G") {
		t.Fatalf("show:\n%s", out)
	}
	bad := filepath.Join(t.TempDir(), "bad.yaml")
	os.WriteFile(bad, []byte("name: bad\ndisks:\n  - use: first\n    partitions:\n      - {mount: /, size: grow}\n      - {mount: /srv, size: grow}\n"), 0o644)
	b, err = exec.Command(bin, "layout", "put", bad, "--data", data).CombinedOutput()
	if err == nil || !strings.Contains(string(b), "2 partitions grow") {
		t.Fatalf("bad layout: %v %s", err, b)
	}

	run(t, bin, "host", "set", "db1", "--layout", "db", "--data", data)
	ks := run(t, bin, "render", "kickstart", "db1", "--data", data, "--public-url", "http://192.0.2.1:8080")
	if !strings.Contains(ks, "%pre --interpreter=/bin/sh --erroronfail") || !strings.Contains(ks, "%include /tmp/netkick-part.ks") ||
		!strings.Contains(ks, `"g,var-lib-pgsql,/var/lib/pgsql,xfs,$Z3"`) {
		t.Fatalf("kickstart lacks the layout:\n%s", ks)
	}
	if pre := run(t, bin, "layout", "pre", "db", "--firmware", "bios", "--data", data); !strings.HasPrefix(pre, "%pre --interpreter=/bin/sh") || !strings.HasSuffix(pre, "%end\n") {
		t.Fatalf("pre:\n%s", pre)
	}

	// Layouts travel with export and import, and a bad one is refused whole.
	exp := run(t, bin, "export", "--data", data)
	if !strings.Contains(exp, "name: db") || !strings.Contains(exp, "size: grow") {
		t.Fatalf("export lacks the layout:\n%s", exp)
	}
	badImport := filepath.Join(t.TempDir(), "imp.yaml")
	os.WriteFile(badImport, []byte("layouts:\n  - name: x\n    disks:\n      - use: first\n        partitions:\n          - {mount: /, size: grow}\n          - {mount: /b, size: grow}\n"), 0o644)
	if b, err := exec.Command(bin, "import", badImport, "--data", data).CombinedOutput(); err == nil || !strings.Contains(string(b), "layouts[0]") {
		t.Fatalf("bad import: %v %s", err, b)
	}
}
