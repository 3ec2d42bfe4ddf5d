package layout

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	diskfs "github.com/diskfs/go-diskfs"
	"github.com/diskfs/go-diskfs/partition/gpt"
	"github.com/diskfs/go-diskfs/partition/mbr"

	"github.com/netkick/netkick/internal/testenv"
	"github.com/netkick/netkick/inventory"
)

// rig runs generated %pre scripts with Debian's busybox sh and real parted
// against sparse image files, inside a private mount namespace where
// /dev/sdX are the images, /tmp is a test directory, /proc/meminfo says how
// much RAM there is, and list-harddrives is a stub that reports the images.
type rig struct {
	t       *testing.T
	dir     string
	busybox string
	// firmware, when set, covers /sys/firmware with a tmpfs that has an
	// efi directory (uefi) or not (bios), for scripts that detect it.
	firmware Firmware
}

// rigDisk is one image: its name under /dev and its size in bytes.
type rigDisk struct {
	name  string
	bytes int64
}

// rigResult is what one %pre run left behind.
type rigResult struct {
	exit    int
	stderr  string
	include string // content of IncludeFile, "" if absent
	images  []string
}

const (
	gib = int64(1) << 30
	mib = int64(1) << 20
)

func newRig(t *testing.T) *rig {
	t.Helper()
	testenv.RequireRoot(t)
	testenv.RequireProgram(t, "unshare", "parted", "mount", "mknod")
	bb := ""
	for _, p := range []string{"/bin/busybox", "/usr/bin/busybox"} {
		if _, err := os.Stat(p); err == nil {
			bb = p
			break
		}
	}
	if bb == "" {
		testenv.Missing(t, "busybox (Debian package busybox-static) is not installed")
	}
	return &rig{t: t, dir: t.TempDir(), busybox: bb}
}

// body strips the %pre line and %end from a section, leaving the script.
func body(t *testing.T, section string) string {
	t.Helper()
	lines := strings.Split(strings.TrimRight(section, "\n"), "\n")
	if !strings.HasPrefix(lines[0], "%pre --interpreter=/bin/sh") {
		t.Fatalf("section does not start with %%pre --interpreter=/bin/sh: %q", lines[0])
	}
	if lines[len(lines)-1] == "%end" {
		lines = lines[:len(lines)-1]
	}
	return strings.Join(lines[1:], "\n") + "\n"
}

// run writes images of the given sizes (first sector marked, to see whether
// anything was written), runs script and returns what it left.
func (r *rig) run(name, script string, disks []rigDisk, ramMiB int64) rigResult {
	t := r.t
	t.Helper()
	dir := filepath.Join(r.dir, name)
	for _, d := range []string{"bin", "tmp"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	var stub strings.Builder
	stub.WriteString("#!" + r.busybox + " sh\n")
	var setup strings.Builder
	setup.WriteString("set -e\nmount -t tmpfs netkick-test-dev /dev\nmknod -m 666 /dev/null c 1 3\nmknod -m 666 /dev/zero c 1 5\n")
	res := rigResult{}
	for _, d := range disks {
		img := filepath.Join(dir, d.name+".img")
		f, err := os.Create(img)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.Write(bytes.Repeat([]byte{0xa5}, 512)); err != nil {
			t.Fatal(err)
		}
		if err := f.Truncate(d.bytes); err != nil {
			t.Fatal(err)
		}
		f.Close()
		res.images = append(res.images, img)
		// list-harddrives prints MiB as a float, like anaconda's.
		fmt.Fprintf(&stub, "echo %s %d.%d\n", d.name, d.bytes/mib, (d.bytes%mib)*10/mib)
		fmt.Fprintf(&setup, ": >/dev/%s\nmount --bind %s /dev/%s\n", d.name, img, d.name)
	}
	bin := filepath.Join(dir, "bin")
	if err := os.WriteFile(filepath.Join(bin, "list-harddrives"), []byte(stub.String()), 0o755); err != nil {
		t.Fatal(err)
	}
	// The script's helpers come from BusyBox, as in anaconda's %pre; parted is the real one.
	for _, applet := range []string{"dd", "rm", "mv", "cat", "printf", "echo", "sh"} {
		if err := os.Symlink(r.busybox, filepath.Join(bin, applet)); err != nil {
			t.Fatal(err)
		}
	}
	meminfo := filepath.Join(dir, "meminfo")
	if err := os.WriteFile(meminfo, fmt.Appendf(nil, "MemTotal:       %d kB\nMemFree:        1024 kB\n", ramMiB*1024), 0o644); err != nil {
		t.Fatal(err)
	}
	pre := filepath.Join(dir, "pre.sh")
	if err := os.WriteFile(pre, []byte(script), 0o644); err != nil {
		t.Fatal(err)
	}
	// The test directory may live under /tmp: keep it reachable as /dev/.rig
	// before the test's own tmp directory covers /tmp.
	switch r.firmware {
	case FirmwareUEFI:
		setup.WriteString("mount -t tmpfs netkick-test-fw /sys/firmware\nmkdir /sys/firmware/efi\n")
	case FirmwareBIOS:
		setup.WriteString("mount -t tmpfs netkick-test-fw /sys/firmware\n")
	}
	fmt.Fprintf(&setup, "mount --bind %s /proc/meminfo\nmkdir /dev/.rig\nmount --bind %s /dev/.rig\nmount --bind %s /tmp\n", meminfo, dir, filepath.Join(dir, "tmp"))
	fmt.Fprintf(&setup, "export PATH=/dev/.rig/bin:/usr/sbin:/usr/bin:/sbin:/bin\nexec %s sh /dev/.rig/pre.sh\n", r.busybox)
	cmd := exec.Command("unshare", "--mount", "--propagation", "private", "/bin/sh", "-c", setup.String())
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	cmd.Stdout = &stderr
	err := cmd.Run()
	var ee *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &ee):
		res.exit = ee.ExitCode()
	default:
		t.Fatalf("%s: running unshare: %v", name, err)
	}
	// parted warns about the missing udevadm; keep the rest.
	var keep []string
	for _, l := range strings.Split(stderr.String(), "\n") {
		if l != "" && !strings.Contains(l, "udevadm") {
			keep = append(keep, l)
		}
	}
	res.stderr = strings.Join(keep, "\n")
	if b, err := os.ReadFile(filepath.Join(dir, "tmp", filepath.Base(IncludeFile))); err == nil {
		res.include = string(b)
	}
	return res
}

// onDisk is a partition as read back from an image.
type onDisk struct {
	number     int
	start, len int64 // sectors
	mbrType    byte
	gptType    string
}

// readTable reads an image's table: GPT and the msdos primary slots through
// go-diskfs, msdos logical partitions by walking the EBR chain.
func readTable(t *testing.T, img string) (string, []onDisk) {
	t.Helper()
	d, err := diskfs.Open(img, diskfs.WithOpenMode(diskfs.ReadOnly))
	if err != nil {
		t.Fatalf("open %s: %v", img, err)
	}
	defer d.Close()
	tab, err := d.GetPartitionTable()
	if err != nil {
		t.Fatalf("%s: reading the partition table: %v", img, err)
	}
	var out []onDisk
	switch tt := tab.(type) {
	case *gpt.Table:
		for _, p := range tt.Partitions {
			out = append(out, onDisk{number: p.Index, start: int64(p.Start), len: int64(p.End - p.Start + 1), gptType: strings.ToUpper(string(p.Type))})
		}
		return "gpt", out
	case *mbr.Table:
		for _, p := range tt.Partitions {
			if p.Type == mbr.Empty {
				continue
			}
			out = append(out, onDisk{number: p.Index, start: int64(p.Start), len: int64(p.Size), mbrType: byte(p.Type)})
			if p.Type == 0x05 || p.Type == 0x0f {
				out = append(out, readEBRs(t, img, int64(p.Start))...)
			}
		}
		return "msdos", out
	}
	t.Fatalf("%s: unexpected table type %T", img, tab)
	return "", nil
}

// readEBRs walks the chain of extended boot records starting at ext (sector).
func readEBRs(t *testing.T, img string, ext int64) []onDisk {
	t.Helper()
	f, err := os.Open(img)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []onDisk
	ebr := ext
	for n := 5; n < 200; n++ {
		b := make([]byte, 512)
		if _, err := f.ReadAt(b, ebr*512); err != nil {
			t.Fatalf("%s: EBR at sector %d: %v", img, ebr, err)
		}
		if b[510] != 0x55 || b[511] != 0xaa {
			t.Fatalf("%s: EBR at sector %d has no 55aa signature", img, ebr)
		}
		e1, e2 := b[446:462], b[462:478]
		if e1[4] == 0 {
			break
		}
		out = append(out, onDisk{number: n, start: ebr + int64(binary.LittleEndian.Uint32(e1[8:])),
			len: int64(binary.LittleEndian.Uint32(e1[12:])), mbrType: e1[4]})
		if e2[4] == 0 {
			break
		}
		ebr = ext + int64(binary.LittleEndian.Uint32(e2[8:]))
	}
	return out
}

// compare checks that an image holds exactly the planned table.
func compare(t *testing.T, img string, dp DiskPlan) {
	t.Helper()
	label, got := readTable(t, img)
	if label != dp.Label {
		t.Errorf("%s: label %s, plan says %s", dp.Name, label, dp.Label)
	}
	byNum := map[int]onDisk{}
	for _, g := range got {
		byNum[g.number] = g
	}
	if len(got) != len(dp.Partitions) {
		t.Errorf("%s: %d partitions on disk, %d planned: disk %+v plan %+v", dp.Name, len(got), len(dp.Partitions), got, dp.Partitions)
	}
	for _, p := range dp.Partitions {
		g, ok := byNum[p.Number]
		if !ok {
			t.Errorf("%s: partition %d (%s) planned but not on disk", dp.Name, p.Number, p.Mount)
			continue
		}
		if g.start != p.StartMiB*2048 || g.len != p.SizeMiB*2048 {
			t.Errorf("%s%d %s: on disk start %d size %d sectors; plan start %d size %d MiB (%d, %d sectors)",
				dp.Name, p.Number, p.Mount, g.start, g.len, p.StartMiB, p.SizeMiB, p.StartMiB*2048, p.SizeMiB*2048)
		}
		if dp.Label == "gpt" && g.gptType != p.GPTType {
			t.Errorf("%s%d %s: type %s, plan %s", dp.Name, p.Number, p.Mount, g.gptType, p.GPTType)
		}
		if dp.Label == "msdos" && g.mbrType != p.MBRType {
			t.Errorf("%s%d %s: type %#x, plan %#x", dp.Name, p.Number, p.Mount, g.mbrType, p.MBRType)
		}
	}
}

// gptVariant is a built-in layout with a gpt label.
func gptVariant(t *testing.T, name string) *inventory.Layout {
	l, ok := Builtin(name)
	if !ok {
		t.Fatalf("no built-in %s", name)
	}
	l.Label = "gpt"
	return l
}

// TestPreScriptOnImages runs the home-opt %pre on every disk size of the
// issue, one and two disks, msdos and gpt, BIOS and UEFI, and compares each
// image's table and the written part lines with the Go planner's plan.
func TestPreScriptOnImages(t *testing.T) {
	r := newRig(t)
	homeOpt, _ := Builtin("home-opt")
	sizes := []struct {
		name  string
		bytes int64
	}{
		{"100G", 100 * gib}, {"249G", 249 * gib}, {"250G", 250 * gib}, {"255999M", 255999 * mib},
		{"300G", 300 * gib}, {"499G", 499 * gib}, {"500G", 500 * gib}, {"511999M", 511999 * mib},
		{"2T", 2048 * gib}, {"3T", 3072 * gib},
	}
	variants := []struct {
		name   string
		layout *inventory.Layout
		fw     Firmware
		second int64
	}{
		{"msdos-bios", homeOpt, FirmwareBIOS, 0},
		{"gpt-bios", gptVariant(t, "home-opt"), FirmwareBIOS, 0},
		{"uefi", homeOpt, FirmwareUEFI, 0},
		{"msdos-bios-2disks", homeOpt, FirmwareBIOS, 1024 * gib},
		{"gpt-bios-2disks", gptVariant(t, "home-opt"), FirmwareBIOS, 300 * gib},
		{"uefi-2disks", homeOpt, FirmwareUEFI, 100 * gib},
	}
	const ram = 16384
	for _, v := range variants {
		section, err := PreScript(v.layout, ScriptOptions{Firmware: v.fw})
		if err != nil {
			t.Fatalf("%s: PreScript: %v", v.name, err)
		}
		script := body(t, section)
		for _, s := range sizes {
			name := v.name + "-" + s.name
			t.Run(name, func(t *testing.T) {
				disks := []rigDisk{{"sda", s.bytes}}
				planDisks := []Disk{{"sda", s.bytes / mib}}
				if v.second > 0 {
					disks = append(disks, rigDisk{"sdb", v.second})
					planDisks = append(planDisks, Disk{"sdb", v.second / mib})
				}
				want, err := Plan(v.layout, planDisks, ram, v.fw)
				if err != nil {
					t.Fatalf("Plan: %v", err)
				}
				r.t = t
				res := r.run(name, script, disks, ram)
				if res.exit != 0 {
					t.Fatalf("%%pre exited %d: %s", res.exit, res.stderr)
				}
				if res.stderr != "" {
					t.Errorf("%%pre wrote to stderr (parted warnings?):\n%s", res.stderr)
				}
				for i, dp := range want.Disks {
					compare(t, res.images[i], dp)
				}
				if res.include != includeHeader(v.layout.Name)+want.PartLines() {
					t.Errorf("%s: part lines differ\nshell:\n%s\nplanner:\n%s", IncludeFile, res.include, includeHeader(v.layout.Name)+want.PartLines())
				}
			})
		}
	}
}

// TestPreScriptRefusesWhatDoesNotFit: a disk too small makes the %pre exit
// non-zero with one line naming the layout, the disk and the shortfall (the
// planner's words), and leaves every disk and the include file untouched.
func TestPreScriptRefusesWhatDoesNotFit(t *testing.T) {
	r := newRig(t)
	homeOpt, _ := Builtin("home-opt")
	simple, _ := Builtin("simple")
	cases := []struct {
		name   string
		layout *inventory.Layout
		fw     Firmware
		disks  []rigDisk
		ram    int64
	}{
		{"home-opt-40G", homeOpt, FirmwareBIOS, []rigDisk{{"sda", 40 * gib}}, 4096},
		{"home-opt-47G-uefi", homeOpt, FirmwareUEFI, []rigDisk{{"sda", 47 * gib}}, 4096},
		// The first disk fits; the second is too small for /home: neither is touched.
		{"home-opt-second-too-small", homeOpt, FirmwareBIOS, []rigDisk{{"sda", 100 * gib}, {"sdb", 1 * mib}}, 4096},
		{"simple-ram-swap", simple, FirmwareBIOS, []rigDisk{{"sda", 8 * gib}}, 8192},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var pd []Disk
			for _, d := range c.disks {
				pd = append(pd, Disk{d.name, d.bytes / mib})
			}
			_, perr := Plan(c.layout, pd, c.ram, c.fw)
			var fe *FitError
			if !errors.As(perr, &fe) {
				t.Fatalf("Plan: want a FitError, got %v", perr)
			}
			section, err := PreScript(c.layout, ScriptOptions{Firmware: c.fw})
			if err != nil {
				t.Fatal(err)
			}
			r.t = t
			res := r.run(c.name, body(t, section), c.disks, c.ram)
			if res.exit == 0 {
				t.Fatalf("%%pre exited 0 on a layout that does not fit")
			}
			if want := "netkick: " + fe.Error(); res.stderr != want {
				t.Errorf("stderr:\n%q\nwant one line:\n%q", res.stderr, want)
			}
			if res.include != "" {
				t.Errorf("%s written although the layout does not fit:\n%s", IncludeFile, res.include)
			}
			for _, img := range res.images {
				b := make([]byte, 512)
				f, err := os.Open(img)
				if err != nil {
					t.Fatal(err)
				}
				_, err = f.ReadAt(b, 0)
				f.Close()
				if err != nil || !bytes.Equal(b, bytes.Repeat([]byte{0xa5}, 512)) {
					t.Errorf("%s: first sector changed: the script wrote before it knew the layout fits", img)
				}
			}
		})
	}
}

// TestPreScriptRAMSwap: the simple layout's swap is the RAM read from
// /proc/meminfo, capped at 8 GiB, on msdos and UEFI.
func TestPreScriptRAMSwap(t *testing.T) {
	r := newRig(t)
	simple, _ := Builtin("simple")
	for _, c := range []struct {
		name string
		ram  int64
		fw   Firmware
	}{{"ram-2000", 2000, FirmwareBIOS}, {"ram-capped", 65536, FirmwareBIOS}, {"ram-uefi", 3000, FirmwareUEFI}} {
		t.Run(c.name, func(t *testing.T) {
			want, err := Plan(simple, []Disk{{"sda", 100 * 1024}}, c.ram, c.fw)
			if err != nil {
				t.Fatal(err)
			}
			section, err := PreScript(simple, ScriptOptions{Firmware: c.fw, OmitEnd: true})
			if err != nil {
				t.Fatal(err)
			}
			if strings.Contains(section, "%end") {
				t.Errorf("OmitEnd: section still has %%end")
			}
			r.t = t
			res := r.run(c.name, body(t, section), []rigDisk{{"sda", 100 * gib}}, c.ram)
			if res.exit != 0 {
				t.Fatalf("%%pre exited %d: %s", res.exit, res.stderr)
			}
			compare(t, res.images[0], want.Disks[0])
			swap := min(c.ram, 8192)
			found := false
			for _, p := range want.Disks[0].Partitions {
				if p.Mount == "swap" {
					found = p.SizeMiB == swap
				}
			}
			if !found {
				t.Errorf("planned swap is not %d MiB: %+v", swap, want.Disks[0].Partitions)
			}
		})
	}
}

// TestPreScriptDetectsFirmware: with the firmware left to the script, it
// looks for /sys/firmware/efi and lays out what Plan gives for that firmware.
func TestPreScriptDetectsFirmware(t *testing.T) {
	r := newRig(t)
	homeOpt, _ := Builtin("home-opt")
	section, err := PreScript(homeOpt, ScriptOptions{Firmware: FirmwareAuto})
	if err != nil {
		t.Fatal(err)
	}
	for _, fw := range []Firmware{FirmwareBIOS, FirmwareUEFI} {
		t.Run(string(fw), func(t *testing.T) {
			want, err := Plan(homeOpt, []Disk{{"sda", 300 * 1024}}, 2048, fw)
			if err != nil {
				t.Fatal(err)
			}
			r.t, r.firmware = t, fw
			res := r.run("auto-"+string(fw), body(t, section), []rigDisk{{"sda", 300 * gib}}, 2048)
			if res.exit != 0 {
				t.Fatalf("%%pre exited %d: %s", res.exit, res.stderr)
			}
			compare(t, res.images[0], want.Disks[0])
			if res.include != includeHeader("home-opt")+want.PartLines() {
				t.Errorf("part lines:\n%s\nwant:\n%s", res.include, want.PartLines())
			}
		})
	}
}

// TestPreScriptFileSystemTypes: every fstype a layout may use gets the type
// byte or GUID the planner promises, on msdos and gpt.
func TestPreScriptFileSystemTypes(t *testing.T) {
	r := newRig(t)
	p := func(m, fs string, s inventory.Size, prim bool) inventory.LayoutPartition {
		return inventory.LayoutPartition{Mount: m, FSType: fs, Size: s, AsPrimary: prim}
	}
	all := func(label string) *inventory.Layout {
		parts := []inventory.LayoutPartition{
			p("/boot/efi", "efi", inventory.Fixed(100), true),
			p("/boot", "ext2", inventory.Fixed(200), true),
			p("/srv/a", "xfs", inventory.Fixed(300), true),
			p("/srv/b", "btrfs", inventory.Fixed(400), false),
			p("/srv/c", "vfat", inventory.Fixed(500), false),
			p("swap", "swap", inventory.RAM(0), false),
			p("/", "ext4", inventory.Share(3), false),
			p("/var", "ext3", inventory.Share(1), false),
		}
		if label == "gpt" {
			parts = append([]inventory.LayoutPartition{p("biosboot", "biosboot", inventory.Fixed(2), false)}, parts...)
		}
		return &inventory.Layout{Name: "types-" + label, Label: label, Disks: []inventory.LayoutDisk{{Use: "first", Partitions: parts}}}
	}
	for _, label := range []string{"msdos", "gpt"} {
		t.Run(label, func(t *testing.T) {
			l := all(label)
			want, err := Plan(l, []Disk{{"sda", 20 * 1024}}, 1000, FirmwareBIOS)
			if err != nil {
				t.Fatal(err)
			}
			section, err := PreScript(l, ScriptOptions{Firmware: FirmwareBIOS})
			if err != nil {
				t.Fatal(err)
			}
			r.t, r.firmware = t, ""
			res := r.run("types-"+label, body(t, section), []rigDisk{{"sda", 20 * gib}}, 1000)
			if res.exit != 0 {
				t.Fatalf("%%pre exited %d: %s", res.exit, res.stderr)
			}
			compare(t, res.images[0], want.Disks[0])
			if res.include != includeHeader(l.Name)+want.PartLines() {
				t.Errorf("part lines:\n%s\nwant:\n%s", res.include, want.PartLines())
			}
		})
	}
}

// TestPreScriptAgreesOnRandomLayouts is a differential test: 24 random valid
// layouts (the fuzzer's generator, fixed seed) on random disks, RAM and
// firmware. Where Plan gives a table the shell must write exactly it; where
// Plan says it does not fit, the shell must fail with the same sentence.
func TestPreScriptAgreesOnRandomLayouts(t *testing.T) {
	r := newRig(t)
	rng := rand.New(rand.NewPCG(2026, 11))
	sizes := []int64{5 * gib, 50 * gib, 260 * gib, 2048 * gib, 8192 * gib}
	found := 0
	for try := 0; found < 24 && try < 5000; try++ {
		b := make([]byte, 40)
		for i := range b {
			b[i] = byte(rng.IntN(256))
		}
		l := layoutFromBytes(b)
		if Validate(l) != nil {
			continue
		}
		found++
		fw := []Firmware{FirmwareBIOS, FirmwareUEFI}[rng.IntN(2)]
		disks := []rigDisk{{"sda", sizes[rng.IntN(len(sizes))]}}
		if rng.IntN(2) == 0 {
			disks = append(disks, rigDisk{"sdb", sizes[rng.IntN(len(sizes))]})
		}
		ram := int64(256 + rng.IntN(16384))
		name := fmt.Sprintf("layout-%d", try)
		t.Run(name, func(t *testing.T) {
			var pd []Disk
			for _, d := range disks {
				pd = append(pd, Disk{d.name, d.bytes / mib})
			}
			want, perr := Plan(l, pd, ram, fw)
			t.Logf("%s, %d disk(s), RAM %d MiB: plan error %v", fw, len(pd), ram, perr)
			section, err := PreScript(l, ScriptOptions{Firmware: fw})
			if err != nil {
				t.Fatal(err)
			}
			r.t, r.firmware = t, ""
			res := r.run(name, body(t, section), disks, ram)
			var fe *FitError
			switch {
			case errors.As(perr, &fe):
				if res.exit == 0 || res.stderr != "netkick: "+fe.Error() {
					t.Fatalf("Plan: %v; shell exited %d with %q", perr, res.exit, res.stderr)
				}
			case perr != nil:
				t.Fatalf("Plan of a valid layout: %v", perr)
			default:
				if res.exit != 0 {
					t.Fatalf("Plan gave a table, shell exited %d: %s\nlayout %+v", res.exit, res.stderr, l)
				}
				for i, dp := range want.Disks {
					compare(t, res.images[i], dp)
				}
				if res.include != includeHeader(l.Name)+want.PartLines() {
					t.Errorf("part lines:\n%s\nwant:\n%s", res.include, want.PartLines())
				}
			}
		})
	}
	if found < 24 {
		t.Fatalf("only %d valid random layouts", found)
	}
}
