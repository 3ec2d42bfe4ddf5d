package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestCLILVS drives `netkick lvs` against the demo inventory, locally and
// through a running server, and checks the demo cluster renders exactly the
// lvs package's golden files.
func TestCLILVS(t *testing.T) {
	bin := buildNetkick(t)
	data := t.TempDir()
	run(t, bin, "import", "demo.yaml", "--data", data)

	for _, tc := range []struct{ format, golden string }{
		{"piranha", "demo.lvs.cf"},
		{"ipvsadm", "demo.ipvsadm"},
		{"keepalived", "demo.keepalived.conf"},
	} {
		want, err := os.ReadFile(filepath.Join("..", "..", "lvs", "testdata", tc.golden))
		if err != nil {
			t.Fatal(err)
		}
		if got := run(t, bin, "lvs", "render", "web", "--format", tc.format, "--data", data); got != string(want) {
			t.Errorf("lvs render --format %s differs from lvs/testdata/%s:\n%s", tc.format, tc.golden, got)
		}
	}

	// A cluster file with a problem is refused with the reason, and nothing is stored.
	bad := filepath.Join(t.TempDir(), "bad.yaml")
	os.WriteFile(bad, []byte(`clusters:
  - name: mail
    primary: a01
    subnet: 192.0.2.0/24
    services:
      - {name: smtp, vip: 192.0.2.50, port: 25, interface: eth0:1}
      - {name: smtp2, vip: 192.0.2.50, port: 25, interface: eth0:1}
`), 0o644)
	out, err := exec.Command(bin, "lvs", "put", bad, "--data", data).CombinedOutput()
	if err == nil || !strings.Contains(string(out), "each service needs its own address:port") {
		t.Fatalf("lvs put of a duplicate service: err %v\n%s", err, out)
	}
	if out := run(t, bin, "lvs", "list", "--data", data); strings.Contains(out, "mail") {
		t.Errorf("refused cluster was stored:\n%s", out)
	}

	// Through a running server, with the admin token.
	base, _ := startServe(t, bin, data)
	token := filepath.Join(data, "admin.token")
	good := filepath.Join(t.TempDir(), "good.yaml")
	os.WriteFile(good, []byte(`clusters:
  - name: mail
    primary: a01
    backup: a02
    subnet: 192.0.2.0/24
    services:
      - {name: smtp, vip: 192.0.2.50, port: 25, interface: eth0:2, scheduler: rr}
`), 0o644)
	if out := run(t, bin, "lvs", "put", good, "--server", base, "--token-file", token); !strings.Contains(out, "cluster mail: 1 services") {
		t.Errorf("lvs put: %s", out)
	}
	if out := run(t, bin, "lvs", "render", "mail", "--format", "ipvsadm", "--server", base, "--token-file", token); out != "-A -t 192.0.2.50:25 -s rr\n" {
		t.Errorf("remote render of a cluster without real servers = %q", out)
	}

	// From an lvs.cf file, as on a director without the inventory.
	cf := filepath.Join(t.TempDir(), "lvs.cf")
	os.WriteFile(cf, []byte(run(t, bin, "lvs", "render", "web", "--data", data)), 0o644)
	if out := run(t, bin, "lvs", "render", "web", "--file", cf, "--format", "ipvsadm"); !strings.Contains(out, "-r 192.0.2.22:80 -g -w 1") {
		t.Errorf("render from lvs.cf: %s", out)
	}

	// apply and status need ip_vs; on a kernel without it they say so.
	if _, err := os.Stat("/proc/net/ip_vs"); err != nil {
		out, err := exec.Command(bin, "lvs", "apply", "web", "--data", data).CombinedOutput()
		if err == nil || !strings.Contains(string(out), "modprobe ip_vs") {
			t.Errorf("lvs apply without ip_vs: err %v\n%s", err, out)
		}
	}
}
