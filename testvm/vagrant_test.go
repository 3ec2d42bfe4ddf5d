package testvm

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/netkick/netkick/internal/testenv"
)

// TestVagrantfile checks the lab's Vagrantfile with Debian's vagrant (and
// Ruby's syntax check), from a copy so no .vagrant state lands in the tree,
// and that its PXE machines carry the demo inventory's MACs.
func TestVagrantfile(t *testing.T) {
	src, err := os.ReadFile("../Vagrantfile")
	if err != nil {
		t.Fatal(err)
	}
	ruby := testenv.RequireProgram(t, "ruby")
	vagrant := testenv.RequireProgram(t, "vagrant")
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "Vagrantfile"), src, 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(ruby, "-c", filepath.Join(dir, "Vagrantfile")).CombinedOutput(); err != nil {
		t.Fatalf("ruby -c Vagrantfile: %v: %s", err, out)
	}
	// Provider blocks are skipped: neither VirtualBox nor libvirt runs here.
	cmd := exec.Command(vagrant, "validate", "--ignore-provider")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "VAGRANT_HOME="+filepath.Join(dir, ".vagrant.d"), "VAGRANT_CHECKPOINT_DISABLE=1")
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "validated successfully") {
		t.Fatalf("vagrant validate: %v: %s", err, out)
	}
	for _, m := range []string{"a01", "a02", "b01", "b02"} {
		if !strings.Contains(string(out), m+":") {
			t.Errorf("vagrant validate did not see machine %s:\n%s", m, out)
		}
	}

	demo, err := os.ReadFile("../cmd/netkick/demo.yaml")
	if err != nil {
		t.Skipf("no demo inventory to compare MACs with: %v", err)
	}
	var inv struct {
		Hosts []struct {
			MACs     []string `yaml:"macs"`
			Hostname string   `yaml:"hostname"`
		} `yaml:"hosts"`
	}
	if err := yaml.Unmarshal(demo, &inv); err != nil {
		t.Fatalf("demo.yaml: %v", err)
	}
	if len(inv.Hosts) == 0 {
		t.Fatal("demo.yaml lists no hosts")
	}
	for _, h := range inv.Hosts {
		want := `name: "` + h.Hostname + `", mac: "` + h.MACs[0] + `"`
		if !strings.Contains(string(src), want) {
			t.Errorf("Vagrantfile lacks demo host %s with MAC %s (%s)", h.Hostname, h.MACs[0], want)
		}
	}
}
