package initramfs

import (
	"bytes"
	"encoding/binary"
	"hash/crc32"
	"math/rand"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/netkick/netkick/internal/testenv"
)

func TestModuleCompression(t *testing.T) {
	tests := []struct {
		name string
		file string
		c    Compression
		ok   bool
		mod  string
	}{
		{"plain", "kernel/drivers/scsi/sd_mod.ko", Uncompressed, true, "sd_mod"},
		{"xz", "kernel/block/t10-pi.ko.xz", XZ, true, "t10_pi"},
		{"zstd", "e1000.ko.zst", Zstd, true, "e1000"},
		{"gzip", "crc-t10dif.ko.gz", Gzip, true, "crc_t10dif"},
		{"not a module", "modules.order", Uncompressed, false, "modules.order"},
		{"compressed, not a module", "modules.dep.xz", Uncompressed, false, "modules.dep.xz"},
		{"bzip2 is no module compression", "x.ko.bz2", Uncompressed, false, "x.ko.bz2"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, ok := ModuleCompression(tt.file)
			if c != tt.c || ok != tt.ok {
				t.Errorf("ModuleCompression(%q) = %v, %v; want %v, %v", tt.file, c, ok, tt.c, tt.ok)
			}
			if got := ModuleName(tt.file); got != tt.mod {
				t.Errorf("ModuleName(%q) = %q; want %q", tt.file, got, tt.mod)
			}
		})
	}
}

// realCompress compresses data with the real tool (xz, zstd or gzip,
// reading standard input as a pipe: no size known in advance).
func realCompress(t *testing.T, data []byte, argv ...string) []byte {
	t.Helper()
	prog := testenv.RequireProgram(t, argv[0])
	cmd := exec.Command(prog, append(argv[1:], "-c")...)
	cmd.Stdin = bytes.NewReader(data)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%s: %v: %s", strings.Join(argv, " "), err, stderr.String())
	}
	return out
}

// TestCompressedModuleBounds feeds readModule hostile and corrupt module
// files made from real xz, zstd and gzip output under a bound of 1 MiB:
// each is refused with an error naming the file and what is wrong, having
// allocated far less than the sizes the file claims; and files within the
// bound decompress exactly.
func TestCompressedModuleBounds(t *testing.T) {
	const limit = 1 << 20
	zeros := make([]byte, 2*limit) // a "bomb": compresses to a few KiB
	small := make([]byte, limit/2)
	rand.New(rand.NewSource(1)).Read(small[:limit/4])
	xzBomb := realCompress(t, zeros, "xz")
	zstdBomb := realCompress(t, zeros, "zstd", "-q")
	gzBomb := realCompress(t, zeros, "gzip", "-n")
	xzSmall := realCompress(t, small, "xz", "--check=crc32", "--lzma2=dict=1MiB")
	zstdSmall := realCompress(t, small, "zstd", "-q")
	gzSmall := realCompress(t, small, "gzip", "-n")

	// An xz file whose block header declares a 3 GiB dictionary (valid
	// header CRC): a decoder allocating what it is told would take 3 GiB.
	xzHugeDict := bytes.Clone(xzSmall)
	if xzHugeDict[12] != 2 || xzHugeDict[13] != 0 || xzHugeDict[14] != 0x21 || xzHugeDict[15] != 1 {
		t.Fatalf("xz's first block header is not the single-LZMA2 one expected: % x", xzHugeDict[12:24])
	}
	xzHugeDict[16] = 39
	binary.LittleEndian.PutUint32(xzHugeDict[20:24], crc32.ChecksumIEEE(xzHugeDict[12:20]))
	// A zstd frame (streamed: not single-segment) declaring a 2 GiB window.
	zstdHugeWindow := bytes.Clone(zstdSmall)
	if zstdHugeWindow[4]&0x20 != 0 {
		t.Fatalf("zstd wrote a single-segment frame: no window descriptor to change")
	}
	zstdHugeWindow[5] = 21 << 3
	flip := func(b []byte, at int) []byte { b = bytes.Clone(b); b[at] ^= 0x55; return b }

	tests := []struct {
		name    string
		file    string
		content []byte
		want    []byte // nil: refused
		wantErr string
	}{
		{"xz within the bound", "ok.ko.xz", xzSmall, small, ""},
		{"zstd within the bound", "ok.ko.zst", zstdSmall, small, ""},
		{"gzip within the bound", "ok.ko.gz", gzSmall, small, ""},
		{"xz bomb", "bomb.ko.xz", xzBomb, nil, "xz: decompresses to more than 1048576 bytes"},
		{"zstd bomb", "bomb.ko.zst", zstdBomb, nil, "zstd: decompresses to more than 1048576 bytes"},
		{"gzip bomb", "bomb.ko.gz", gzBomb, nil, "gzip: decompresses to more than 1048576 bytes"},
		{"xz declaring a 3 GiB dictionary", "dict.ko.xz", xzHugeDict, nil, "LZMA2 dictionary of 3072 MiB is over the bound of 128 MiB"},
		{"zstd declaring a 2 GiB window", "window.ko.zst", zstdHugeWindow, nil, "zstd: the frame's window is over the bound of 128 MiB"},
		{"xz truncated", "cut.ko.xz", xzSmall[:len(xzSmall)/2], nil, "xz: no stream footer"},
		{"zstd truncated", "cut.ko.zst", zstdSmall[:len(zstdSmall)/2], nil, "zstd: unexpected EOF"},
		{"gzip truncated", "cut.ko.gz", gzSmall[:len(gzSmall)/2], nil, "gzip: unexpected EOF"},
		{"xz with trailing data", "tail.ko.xz", append(bytes.Clone(xzSmall), "trailing"...), nil, "xz: no stream footer"},
		{"two xz streams", "two.ko.xz", append(bytes.Clone(xzSmall), xzSmall...), nil, "xz: "},
		{"xz with a damaged byte", "bad.ko.xz", flip(xzSmall, len(xzSmall)/2), nil, "xz: block 0: "},
		{"xz with a damaged index", "idx.ko.xz", flip(xzSmall, len(xzSmall)-16), nil, "xz: index CRC mismatch"},
		{"gzip with a damaged byte", "bad.ko.gz", flip(gzSmall, len(gzSmall)/2), nil, "gzip: invalid checksum"},
		{"zstd with a damaged byte", "bad.ko.zst", flip(zstdSmall, len(zstdSmall)/2), nil, "zstd: CRC check failed"},
		{"xz data named .zst", "named.ko.zst", xzSmall, nil, "not zstd data (it starts with fd377a585a00)"},
		{"plain ELF named .xz", "elf.ko.xz", []byte("\x7fELF\x02\x01\x01"), nil, "not xz data (it starts with 7f454c460201)"},
		{"empty .gz", "empty.ko.gz", nil, nil, "not gzip data (it starts with )"},
		{"file over the bound", "big.ko", zeros, nil, "the file is over 1 MiB"},
	}
	dir := t.TempDir()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := filepath.Join(dir, tt.file)
			if err := os.WriteFile(p, tt.content, 0o644); err != nil {
				t.Fatal(err)
			}
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			got, err := readModule(p, limit)
			runtime.ReadMemStats(&after)
			if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 64<<20 {
				t.Errorf("reading %s allocated %d MiB (bound %d MiB)", tt.file, alloc>>20, limit>>20)
			}
			if tt.want != nil {
				if err != nil || !bytes.Equal(got, tt.want) {
					t.Fatalf("readModule = %d bytes, %v; want the %d bytes compressed", len(got), err, len(tt.want))
				}
				return
			}
			if err == nil {
				t.Fatalf("readModule accepted %s (%d bytes out)", tt.file, len(got))
			}
			if !strings.Contains(err.Error(), p) || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("error %q; want it to name %s and say %q", err, p, tt.wantErr)
			}
			t.Logf("%s: %v", tt.file, err)
		})
	}
}

// FuzzDecompress: nothing in a module file crashes the decoders or the
// .modinfo parser, and nothing over the bound comes out. The seed corpus
// (testdata/fuzz/FuzzDecompress) holds a small ELF object with a .modinfo
// section compressed by the real xz, zstd and gzip.
func FuzzDecompress(f *testing.F) {
	const limit = 1 << 20
	f.Fuzz(func(t *testing.T, kind uint8, data []byte) {
		c := Compression(kind%3 + 1)
		out, err := Decompress(c, data, limit)
		if err != nil {
			return
		}
		if len(out) > limit {
			t.Fatalf("%s: %d bytes out, over the bound of %d", c, len(out), limit)
		}
		if mi, err := modInfoOf("fuzz.ko", out); err == nil && mi.Name != "fuzz" {
			t.Fatalf("module name %q", mi.Name)
		}
	})
}
