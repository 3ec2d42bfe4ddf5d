package initramfs_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/netkick/netkick/internal/initramfs"
	"github.com/netkick/netkick/internal/testenv"
	"github.com/netkick/netkick/testvm"
)

// realModules copies the modules want needs (with their dependencies) out
// of a real Debian kernel package (the test rig's, cached) into a modules
// tree of the same version under a temporary directory, plain .ko files as
// the package has them. It returns the tree and the module files, relative.
func realModules(t *testing.T, want ...string) (dir string, rels []string) {
	t.Helper()
	k, err := testvm.FetchKernel(context.Background(), testvm.DefaultCacheDir(), io.Discard)
	if err != nil {
		testenv.Missing(t, fmt.Sprintf("a Debian kernel package (apt-get download linux-image-amd64): %v", err))
	}
	idx, err := initramfs.ModuleIndex(k.ModulesDir)
	if err != nil {
		t.Fatal(err)
	}
	need, err := initramfs.ModuleClosure(want, initramfs.InfoFunc(idx))
	if err != nil {
		t.Fatal(err)
	}
	dir = filepath.Join(t.TempDir(), k.Version)
	for _, n := range need {
		rel, err := filepath.Rel(k.ModulesDir, idx[n])
		if err != nil {
			t.Fatal(err)
		}
		copyTo(t, idx[n], filepath.Join(dir, rel))
		rels = append(rels, rel)
	}
	for _, f := range []string{"modules.order", "modules.builtin"} {
		copyTo(t, filepath.Join(k.ModulesDir, f), filepath.Join(dir, f))
	}
	return dir, rels
}

func copyTo(t *testing.T, src, dst string) {
	t.Helper()
	b, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dst, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// compressWith runs a real compressor on file (which it replaces with
// file+suffix, as the kernel's modules_install does).
func compressWith(t *testing.T, file string, argv []string) string {
	t.Helper()
	prog := testenv.RequireProgram(t, argv[0])
	suffix := map[string]string{"xz": ".xz", "zstd": ".zst", "gzip": ".gz"}[argv[0]]
	out, err := exec.Command(prog, append(argv[1:], file)...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", strings.Join(argv, " "), file, err, out)
	}
	os.Remove(file) // zstd keeps its input
	if _, err := os.Stat(file + suffix); err != nil {
		t.Fatalf("%s left no %s: %v", argv[0], file+suffix, err)
	}
	return file + suffix
}

// TestCompressedModules builds an image from real Debian modules (sd_mod
// and e1000 with every module they depend on) compressed by the real xz,
// zstd and gzip in the ways kernels and distributions install them, and
// checks that the image holds each module decompressed, byte for byte the
// package's .ko at its own path, with the same dependency closure and
// .modinfo as the uncompressed tree gives.
func TestCompressedModules(t *testing.T) {
	want := []string{"sd_mod", "e1000"}
	plainDir, rels := realModules(t, want...)
	plainIdx, err := initramfs.ModuleIndex(plainDir)
	if err != nil {
		t.Fatal(err)
	}
	plainNeed, err := initramfs.ModuleClosure(want, initramfs.InfoFunc(plainIdx))
	if err != nil {
		t.Fatal(err)
	}
	if len(plainNeed) < 5 {
		t.Fatalf("closure of %v is only %v: want a real dependency tree", want, plainNeed)
	}
	xzKernel := []string{"xz", "--check=crc32", "--lzma2=dict=1MiB"} // the kernel's modules_install
	zstdKernel := []string{"zstd", "-q", "-T0"}
	gzipKernel := []string{"gzip", "-n"}
	tests := []struct {
		name string
		tool func(i int) []string // the compressor for the i-th module file
	}{
		{"xz as the kernel installs modules (CRC32, 1 MiB dictionary)", func(int) []string { return xzKernel }},
		{"xz defaults (CRC64, preset 6)", func(int) []string { return []string{"xz"} }},
		{"xz SHA-256 in many blocks", func(int) []string { return []string{"xz", "--check=sha256", "--block-size=16KiB"} }},
		{"xz multi-threaded (sizes in the block headers)", func(int) []string { return []string{"xz", "-T2", "--block-size=64KiB"} }},
		{"xz without a check, preset 9", func(int) []string { return []string{"xz", "--check=none", "-9"} }},
		{"zstd as the kernel installs modules", func(int) []string { return zstdKernel }},
		{"zstd -19", func(int) []string { return []string{"zstd", "-q", "-19"} }},
		{"gzip as the kernel installs modules", func(int) []string { return gzipKernel }},
		{"gzip -9", func(int) []string { return []string{"gzip", "-9"} }},
		{"a tree mixing all three", func(i int) []string { return [][]string{xzKernel, zstdKernel, gzipKernel}[i%3] }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), filepath.Base(plainDir))
			var compressed []string
			for i, rel := range rels {
				copyTo(t, filepath.Join(plainDir, rel), filepath.Join(dir, rel))
				compressed = append(compressed, compressWith(t, filepath.Join(dir, rel), tt.tool(i)))
			}
			for _, f := range []string{"modules.order", "modules.builtin"} {
				copyTo(t, filepath.Join(plainDir, f), filepath.Join(dir, f))
			}
			for i, c := range compressed {
				got, err := initramfs.ReadModInfo(c)
				if err != nil {
					t.Fatalf("ReadModInfo(%s): %v", c, err)
				}
				plain, err := initramfs.ReadModInfo(filepath.Join(plainDir, rels[i]))
				if err != nil {
					t.Fatal(err)
				}
				if fmt.Sprint(got) != fmt.Sprint(plain) {
					t.Errorf("%s: .modinfo %+v; the plain module says %+v", filepath.Base(c), got, plain)
				}
			}
			tr := initramfs.Tree{}
			load, _, err := initramfs.AddModules(tr, initramfs.ModuleSet{Dir: dir, Want: want})
			if err != nil {
				t.Fatalf("AddModules: %v", err)
			}
			if !slices.Equal(load, want) {
				t.Errorf("load %v; want %v", load, want)
			}
			files := unpack(t, tr)
			base := filepath.Join("lib", "modules", filepath.Base(dir))
			var mods []string
			for p := range files {
				if strings.Contains(p, ".ko") {
					mods = append(mods, p)
				}
			}
			if len(mods) != len(rels) {
				t.Errorf("the image has %d module files %v; want the %d of the closure %v", len(mods), mods, len(rels), plainNeed)
			}
			for _, rel := range rels {
				orig, _ := os.ReadFile(filepath.Join(plainDir, rel))
				got, ok := files[filepath.Join(base, rel)]
				if !ok {
					t.Errorf("%s is not in the image as a plain .ko (it has %v)", rel, mods)
					continue
				}
				if !bytes.Equal(got, orig) {
					t.Errorf("%s in the image (%d bytes) differs from the package's .ko (%d bytes)", rel, len(got), len(orig))
				}
			}
			if _, ok := files[filepath.Join(base, "modules.order")]; !ok {
				t.Error("modules.order missing from the image")
			}
		})
	}
}

// TestPlainModuleBeatsCompressed: where one directory holds both forms of a
// module, the index takes the plain .ko.
func TestPlainModuleBeatsCompressed(t *testing.T) {
	dir, rels := realModules(t, "scsi_common")
	plain := filepath.Join(dir, rels[0])
	copyTo(t, plain, plain+".tmp")
	compressWith(t, plain+".tmp", []string{"xz"})
	if err := os.Rename(plain+".tmp.xz", plain+".xz"); err != nil {
		t.Fatal(err)
	}
	idx, err := initramfs.ModuleIndex(dir)
	if err != nil {
		t.Fatal(err)
	}
	if idx["scsi_common"] != plain {
		t.Fatalf("index has %s for scsi_common; want the plain %s", idx["scsi_common"], plain)
	}
}

// unpack writes the tree and unpacks it with GNU cpio, returning every
// regular file by its path in the image.
func unpack(t *testing.T, tr initramfs.Tree) map[string][]byte {
	t.Helper()
	cpio := testenv.RequireProgram(t, "cpio")
	img := filepath.Join(t.TempDir(), "initrd.img")
	if err := tr.WriteFile(img); err != nil {
		t.Fatalf("writing the image: %v", err)
	}
	root := t.TempDir()
	cmd := exec.Command("sh", "-c", `gzip -dc "$1" | "$2" -idm --quiet`, "sh", img, cpio)
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("gzip -dc | cpio -idm: %v\n%s", err, out)
	}
	files := map[string][]byte{}
	err := filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		files[rel], err = os.ReadFile(p)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return files
}
