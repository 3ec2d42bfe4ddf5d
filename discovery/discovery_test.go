package discovery

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/netkick/netkick/internal/testenv"
	"github.com/netkick/netkick/inventory"
)

// runFacts runs the facts script under real BusyBox sh with env added and
// decodes its output strictly into the facts report the API takes.
func runFacts(t *testing.T, env ...string) (inventory.Facts, string) {
	t.Helper()
	bb := testenv.RequireProgram(t, "busybox")
	script := filepath.Join(t.TempDir(), "facts")
	if err := os.WriteFile(script, File("env/facts"), 0o755); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bb, "sh", script)
	// BusyBox applets only: the script must not depend on the host's tools.
	applets := t.TempDir()
	for _, a := range []string{"head", "tr", "cut", "sed", "grep", "awk", "tail", "cat"} {
		if err := os.Symlink(bb, filepath.Join(applets, a)); err != nil {
			t.Fatal(err)
		}
	}
	cmd.Env = append([]string{"PATH=" + applets}, env...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("facts script: %v\n%s", err, stderr.String())
	}
	var f inventory.Facts
	dec := json.NewDecoder(bytes.NewReader(out))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&f); err != nil {
		t.Fatalf("facts script printed invalid JSON: %v\n%s", err, out)
	}
	return f, string(out)
}

// TestFactsOfThisMachine runs the facts script on the machine the test runs
// on and checks it against what Go reads from the same /proc and /sys.
func TestFactsOfThisMachine(t *testing.T) {
	f, out := runFacts(t)
	if err := inventory.NormalizeFacts(&f); err != nil {
		t.Fatalf("the API would refuse these facts: %v\n%s", err, out)
	}
	mi, _ := os.ReadFile("/proc/meminfo")
	for _, l := range strings.Split(string(mi), "\n") {
		if fs := strings.Fields(l); len(fs) >= 2 && fs[0] == "MemTotal:" {
			kb, _ := strconv.ParseInt(fs[1], 10, 64)
			if f.MemoryBytes != kb*1024 {
				t.Errorf("memory_bytes %d, /proc/meminfo says %d kB", f.MemoryBytes, kb)
			}
		}
	}
	ci, _ := os.ReadFile("/proc/cpuinfo")
	if n := strings.Count("\n"+string(ci), "\nprocessor"); f.CPU.Count != n || n == 0 {
		t.Errorf("cpu count %d, /proc/cpuinfo lists %d", f.CPU.Count, n)
	}
	want := map[string]int64{}
	blocks, _ := filepath.Glob("/sys/block/*")
	for _, b := range blocks {
		n := filepath.Base(b)
		if _, err := os.Stat(filepath.Join(b, "device")); err != nil || strings.HasPrefix(n, "loop") || strings.HasPrefix(n, "sr") {
			continue
		}
		if r, _ := os.ReadFile(filepath.Join(b, "removable")); strings.TrimSpace(string(r)) == "1" {
			continue
		}
		s, _ := os.ReadFile(filepath.Join(b, "size"))
		sectors, _ := strconv.ParseInt(strings.TrimSpace(string(s)), 10, 64)
		want[n] = sectors * 512
	}
	if len(f.Disks) != len(want) {
		t.Errorf("%d disks reported, /sys/block has %d: %v", len(f.Disks), len(want), want)
	}
	for _, d := range f.Disks {
		if want[d.Name] != d.SizeBytes {
			t.Errorf("disk %s: %d bytes, /sys/block says %d", d.Name, d.SizeBytes, want[d.Name])
		}
	}
	for _, n := range f.NICs {
		a, err := os.ReadFile(filepath.Join("/sys/class/net", n.Name, "address"))
		if err != nil || strings.TrimSpace(string(a)) != n.MAC {
			t.Errorf("NIC %s: MAC %s, /sys says %q (%v)", n.Name, n.MAC, a, err)
		}
	}
	t.Logf("facts of this machine: %s", out)
}

// TestFactsHostileSysfs feeds the script a /sys and /proc whose texts carry
// shell metacharacters, quotes, backslashes, newlines, %post and invalid
// UTF-8: its output stays valid JSON, nothing in it runs, and the texts
// arrive as data.
func TestFactsHostileSysfs(t *testing.T) {
	root := t.TempDir()
	marker := filepath.Join(root, "ran")
	evil := "$(touch " + marker + ") `touch " + marker + "`; a;reboot \"q\" \\b\n%post\nreboot\n%end \xff"
	write := func(p, s string) {
		t.Helper()
		full := filepath.Join(root, p)
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("proc/cpuinfo", "processor\t: 0\nmodel name\t: "+evil+"\nprocessor\t: 1\nmodel name\t: x\n")
	write("proc/meminfo", "MemTotal:        8388608 kB\nMemFree: 1 kB\n")
	write("sys/block/sda/size", "41943040\n")
	write("sys/block/sda/removable", "0\n")
	write("sys/block/sda/queue/rotational", "1\n")
	write("sys/block/sda/device/model", evil)
	write("sys/block/sda/device/vpd_pg80", "\x00\x80\x00\x0a"+"QM00001;id")
	write("sys/block/sdb/size", "not a number; reboot\n")
	write("sys/block/sdb/device/model", "QEMU HARDDISK\n")
	write("sys/block/sdb/device/serial", "$(reboot)\n")
	write("sys/block/sdb/queue/rotational", "0\n")
	write("sys/class/net/eth0/address", "52:54:00:d1:00:01\n")
	write("sys/class/net/eth0/carrier", "1\n")
	write("sys/class/net/eth0/speed", "-1\n")
	write("sys/class/net/eth0/device/x", "")
	write("sys/class/dmi/id/sys_vendor", "QEMU\n")
	write("sys/class/dmi/id/product_name", evil)
	write("sys/class/dmi/id/product_serial", "NK-`reboot`\n")
	f, out := runFacts(t, "NETKICK_PROC="+filepath.Join(root, "proc"), "NETKICK_SYS="+filepath.Join(root, "sys"))
	if _, err := os.Stat(marker); err == nil {
		t.Fatalf("a fact's text was run by the shell")
	}
	if err := inventory.NormalizeFacts(&f); err != nil {
		t.Fatalf("NormalizeFacts: %v\n%s", err, out)
	}
	firstLine := evil[:strings.IndexByte(evil, '\n')]
	if !strings.HasPrefix(f.CPU.Model, firstLine) || !strings.HasPrefix(f.DMI.Product, firstLine) {
		t.Errorf("texts not kept as data: cpu %q, product %q", f.CPU.Model, f.DMI.Product)
	}
	if f.CPU.Count != 2 || f.MemoryBytes != 8<<30 {
		t.Errorf("cpu count %d, memory %d", f.CPU.Count, f.MemoryBytes)
	}
	if len(f.Disks) != 2 || f.Disks[0].SizeBytes != 20<<30 || f.Disks[0].Serial != "QM00001;id" || !f.Disks[0].Rotational ||
		f.Disks[1].SizeBytes != 0 || f.Disks[1].Serial != "$(reboot)" || f.Disks[1].Rotational {
		t.Errorf("disks: %+v", f.Disks)
	}
	if len(f.NICs) != 1 || f.NICs[0].MAC != "52:54:00:d1:00:01" || !f.NICs[0].Link || f.NICs[0].SpeedMbps != 0 {
		t.Errorf("nics: %+v", f.NICs)
	}
	if f.DMI.Serial != "NK-`reboot`" {
		t.Errorf("dmi serial %q", f.DMI.Serial)
	}
	for _, s := range []string{f.CPU.Model, f.DMI.Product, f.Disks[0].Model} {
		if strings.ContainsAny(s, "\n\r") {
			t.Errorf("a newline survived: %q", s)
		}
	}
}

// TestEnvironmentShellcheck checks every script of the environment with
// shellcheck as POSIX sh.
func TestEnvironmentShellcheck(t *testing.T) {
	sc := testenv.RequireProgram(t, "shellcheck")
	dir := t.TempDir()
	var paths []string
	for name := range Files {
		p := filepath.Join(dir, filepath.Base(name))
		if err := os.WriteFile(p, File(name), 0o644); err != nil {
			t.Fatal(err)
		}
		paths = append(paths, p)
	}
	out, err := exec.Command(sc, append([]string{"-s", "sh", "-S", "warning"}, paths...)...).CombinedOutput()
	if err != nil {
		t.Fatalf("shellcheck: %v\n%s", err, out)
	}
}
