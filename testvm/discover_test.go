package testvm

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"testing"

	"github.com/netkick/netkick/internal/initramfs"
	"github.com/netkick/netkick/internal/testenv"
	"github.com/netkick/netkick/inventory"
)

func TestFactsProblems(t *testing.T) {
	mac := "52:54:00:4e:54:0e"
	good := func() inventory.Discovered {
		return inventory.Discovered{MAC: mac, Facts: &inventory.Facts{CPU: inventory.CPUFacts{Count: 1}, MemoryBytes: 8<<30 - 200<<20,
			Disks: []inventory.DiskFact{{Name: "sda", SizeBytes: 200 << 30, Serial: "NKDISC0"}, {Name: "sdb", SizeBytes: 100 << 30, Serial: "NKDISC1"}},
			NICs:  []inventory.NICFact{{Name: "eth0", MAC: mac, Link: true}}, DMI: inventory.DMIFacts{Serial: DiscoverSerial}}}
	}
	disks, serials := []int64{200 << 30, 100 << 30}, []string{"NKDISC0", "NKDISC1"}
	tests := []struct {
		name string
		edit func(*inventory.Discovered)
		want string
	}{
		{"facts as QEMU was given", func(*inventory.Discovered) {}, ""},
		{"RAM more than the VM has", func(d *inventory.Discovered) { d.Facts.MemoryBytes = 9 << 30 }, "memory"},
		{"RAM far below", func(d *inventory.Discovered) { d.Facts.MemoryBytes = 4 << 30 }, "memory"},
		{"a disk missing", func(d *inventory.Discovered) { d.Facts.Disks = d.Facts.Disks[:1] }, "1 disks reported"},
		{"a disk's size", func(d *inventory.Discovered) { d.Facts.Disks[1].SizeBytes = 1 << 30 }, "disk sdb"},
		{"a disk's serial", func(d *inventory.Discovered) { d.Facts.Disks[0].Serial = "QM00001" }, "serial"},
		{"disks named in another order than QEMU's", func(d *inventory.Discovered) {
			d.Facts.Disks[0], d.Facts.Disks[1] = inventory.DiskFact{Name: "sda", SizeBytes: 100 << 30, Serial: "NKDISC1"}, inventory.DiskFact{Name: "sdb", SizeBytes: 200 << 30, Serial: "NKDISC0"}
		}, ""},
		{"the right serials on the wrong sizes", func(d *inventory.Discovered) { d.Facts.Disks[0].Serial, d.Facts.Disks[1].Serial = "NKDISC1", "NKDISC0" }, "serial NKDISC0"},
		{"SMBIOS serial", func(d *inventory.Discovered) { d.Facts.DMI.Serial = "" }, "DMI serial"},
		{"NIC without the MAC", func(d *inventory.Discovered) { d.Facts.NICs[0].MAC = "52:54:00:00:00:01" }, "no NIC"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d := good()
			tc.edit(&d)
			got := strings.Join(FactsProblems(d, mac, 8192, disks, serials, DiscoverSerial), "; ")
			if tc.want == "" && got != "" || tc.want != "" && !strings.Contains(got, tc.want) {
				t.Fatalf("problems %q, want %q", got, tc.want)
			}
		})
	}
}

func TestQEMUArgsSMBIOSAndDiskSerials(t *testing.T) {
	vm := VM{Name: "d", MAC: "52:54:00:4e:54:0e", RAMMiB: 8192, Disks: []string{"/x/d0.img", "/x/d1.img"}, Tap: "tap0", Serial: "/x/s.log",
		SMBIOSSerial: DiscoverSerial, DiskSerials: []string{"NKDISC0", "NKDISC1"}}
	args := strings.Join(QEMUArgs(vm), " ")
	for _, want := range []string{"-smbios type=1,serial=" + DiscoverSerial, "bootindex=2,serial=NKDISC0", "bootindex=3,serial=NKDISC1", "-m 8192"} {
		if !strings.Contains(args, want) {
			t.Errorf("QEMU args lack %q: %s", want, args)
		}
	}
}

// TestCompressedModulesCopy makes the discover scenario's compressed copy of
// the rig kernel's modules tree (with the real xz, zstd and gzip) in a
// temporary directory: the drivers and their dependencies are compressed,
// each of the three tools used, the kernel package's own files untouched,
// and the discovery image built from the copy carries them as plain .ko.
func TestCompressedModulesCopy(t *testing.T) {
	testenv.RequireProgram(t, "xz", "zstd", "gzip")
	k, err := FetchKernel(context.Background(), DefaultCacheDir(), io.Discard)
	if err != nil {
		testenv.Missing(t, fmt.Sprintf("a Debian kernel package (apt-get download linux-image-amd64): %v", err))
	}
	want := rigDiscoveryModules()
	dir, err := compressedModules(context.Background(), k, want, filepath.Join(t.TempDir(), "copy"))
	if err != nil {
		t.Fatal(err)
	}
	idx, err := initramfs.ModuleIndex(dir)
	if err != nil {
		t.Fatal(err)
	}
	counts := map[initramfs.Compression]int{}
	for _, m := range want {
		p, ok := idx[initramfs.ModuleName(m)]
		if !ok {
			t.Fatalf("%s missing from the copy", m)
		}
		c, _ := initramfs.ModuleCompression(p)
		counts[c]++
	}
	if counts[initramfs.XZ] == 0 || counts[initramfs.Zstd] == 0 || counts[initramfs.Gzip] == 0 || counts[initramfs.Uncompressed] != 0 {
		t.Errorf("compressions of %v in the copy: %v; want xz, zstd and gzip, nothing plain", want, counts)
	}
	orig, err := initramfs.ModuleIndex(k.ModulesDir)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range want {
		if p := orig[initramfs.ModuleName(m)]; !strings.HasSuffix(p, ".ko") {
			t.Errorf("the kernel package's %s became %s", m, p)
		}
	}
	tr := initramfs.Tree{}
	if _, _, err := initramfs.AddModules(tr, initramfs.ModuleSet{Dir: dir, Version: k.Version, Want: want}); err != nil {
		t.Fatal(err)
	}
	src, err := moduleSources(tr, dir, k.Version)
	if err != nil {
		t.Fatal(err)
	}
	if src[initramfs.XZ] == 0 || src[initramfs.Zstd] == 0 || src[initramfs.Gzip] == 0 || src[initramfs.Uncompressed] != 0 {
		t.Errorf("the image's modules come from %v files", src)
	}
	plain := initramfs.Tree{}
	if _, _, err := initramfs.AddModules(plain, initramfs.ModuleSet{Dir: k.ModulesDir, Version: k.Version, Want: want}); err != nil {
		t.Fatal(err)
	}
	var a, b bytes.Buffer
	if err := tr.Write(&a); err != nil {
		t.Fatal(err)
	}
	if err := plain.Write(&b); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a.Bytes(), b.Bytes()) {
		t.Errorf("the archive from the compressed tree (%d bytes) differs from the one from the plain tree (%d bytes)", a.Len(), b.Len())
	}
}
