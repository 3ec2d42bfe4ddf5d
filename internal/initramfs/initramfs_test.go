package initramfs

import (
	"bytes"
	"compress/gzip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/netkick/netkick/internal/testenv"
)

func TestParseModInfo(t *testing.T) {
	tests := []struct {
		name    string
		file    string
		section string
		depends []string
		softPre []string
	}{
		{"hard dependencies", "sd_mod.ko", "license=GPL\x00depends=scsi_mod,t10-pi,scsi_common\x00", []string{"scsi_mod", "t10_pi", "scsi_common"}, nil},
		{"no dependencies", "crc32c_generic.ko", "depends=\x00alias=crypto-crc32c\x00", nil, nil},
		{"soft dependency", "libcrc32c.ko", "softdep=pre: crc32c\x00depends=\x00", nil, []string{"crc32c"}},
		{"pre and post", "x.ko", "softdep=pre: a b post: c\x00", nil, []string{"a", "b"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			mi := ParseModInfo(tt.file, []byte(tt.section))
			if strings.Join(mi.Depends, ",") != strings.Join(tt.depends, ",") || strings.Join(mi.SoftPre, ",") != strings.Join(tt.softPre, ",") {
				t.Fatalf("got depends %v softpre %v; want %v %v", mi.Depends, mi.SoftPre, tt.depends, tt.softPre)
			}
		})
	}
}

func TestModuleClosure(t *testing.T) {
	db := map[string]ModInfo{
		"sd_mod":      {Name: "sd_mod", Depends: []string{"scsi_mod", "t10_pi"}},
		"scsi_mod":    {Name: "scsi_mod", Depends: []string{"scsi_common"}},
		"scsi_common": {Name: "scsi_common"},
		"t10_pi":      {Name: "t10_pi", Depends: []string{"crc_t10dif"}},
		"crc_t10dif":  {Name: "crc_t10dif"},
		"e1000":       {Name: "e1000"},
	}
	info := func(n string) (ModInfo, error) {
		if m, ok := db[n]; ok {
			return m, nil
		}
		return ModInfo{}, os.ErrNotExist
	}
	tests := []struct {
		name    string
		want    []string
		closure string
		wantErr bool
	}{
		{"transitive", []string{"sd-mod"}, "crc_t10dif,scsi_common,scsi_mod,sd_mod,t10_pi", false},
		{"two roots", []string{"e1000", "scsi_common"}, "e1000,scsi_common", false},
		{"missing module", []string{"ata_piix"}, "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ModuleClosure(tt.want, info)
			if (err != nil) != tt.wantErr || strings.Join(got, ",") != tt.closure {
				t.Fatalf("ModuleClosure = %v, %v; want %s, err %v", got, err, tt.closure, tt.wantErr)
			}
		})
	}
}

func TestParseLdd(t *testing.T) {
	tests := []struct {
		name, in string
		want     []string
		wantErr  bool
	}{
		{"parted", "\tlinux-vdso.so.1 (0x00007ffd)\n\tlibparted.so.2 => /lib/x86_64-linux-gnu/libparted.so.2 (0x1)\n\t/lib64/ld-linux-x86-64.so.2 (0x2)\n",
			[]string{"/lib/x86_64-linux-gnu/libparted.so.2", "/lib64/ld-linux-x86-64.so.2"}, false},
		{"static", "\tstatically linked\n", nil, false},
		{"missing library", "\tlibfoo.so.1 => not found\n", nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseLdd(tt.in)
			if (err != nil) != tt.wantErr || strings.Join(got, " ") != strings.Join(tt.want, " ") {
				t.Fatalf("ParseLdd = %v, %v; want %v", got, err, tt.want)
			}
		})
	}
}

// TestImageTreeCpio writes an initramfs tree and lists it with GNU cpio.
func TestImageTreeCpio(t *testing.T) {
	testenv.RequireProgram(t, "cpio")
	src := filepath.Join(t.TempDir(), "hello")
	os.WriteFile(src, []byte("hello\n"), 0o644)
	tr := Tree{}
	tr.File("/usr/bin/hello", 0o755, src)
	tr.Bytes("/init", 0o755, []byte("#!/bin/sh\n"))
	tr.Symlink("/bin/sh", "busybox")
	tr.CharDev("/dev/console", 0o600, 5, 1)
	var buf bytes.Buffer
	if err := tr.Write(&buf); err != nil {
		t.Fatal(err)
	}
	zr, err := gzip.NewReader(&buf)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("cpio", "-itv")
	cmd.Stdin = zr
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("cpio -itv: %v: %s", err, out)
	}
	for _, want := range []string{"usr/bin/hello", "bin/sh -> busybox", "init", "dev/console", "usr/bin\n"} {
		if !strings.Contains(string(out)+"\n", want) {
			t.Errorf("cpio listing lacks %q:\n%s", want, out)
		}
	}
	if !strings.Contains(string(out), "crw-------") {
		t.Errorf("dev/console is not a character device:\n%s", out)
	}
	k1, _ := tr.Key()
	tr.Bytes("/init", 0o755, []byte("#!/bin/sh\necho changed\n"))
	if k2, _ := tr.Key(); k1 == k2 {
		t.Error("the cache key did not change with the content")
	}
}

func TestAddModulesErrors(t *testing.T) {
	dir := t.TempDir()
	mods := filepath.Join(dir, "6.1.0-9-amd64")
	os.MkdirAll(filepath.Join(mods, "kernel"), 0o755)
	xz := filepath.Join(t.TempDir(), "6.1.0-9-amd64")
	os.MkdirAll(filepath.Join(xz, "kernel"), 0o755)
	os.WriteFile(filepath.Join(xz, "kernel", "e1000.ko.xz"), []byte("not really xz"), 0o644)
	tests := []struct {
		name    string
		ms      ModuleSet
		wantErr string
	}{
		{"no such directory", ModuleSet{Dir: filepath.Join(dir, "nope"), Want: []string{"e1000"}}, "not a directory"},
		{"wanted module missing", ModuleSet{Dir: mods, Want: []string{"e1000"}}, "module e1000 is not in the kernel package"},
		{"compressed module that is not what its name says", ModuleSet{Dir: xz, Want: []string{"e1000"}}, "e1000.ko.xz: not xz data (it starts with 6e6f74207265)"},
		{"optional modules missing are skipped", ModuleSet{Dir: mods, Optional: []string{"e1000", "igb"}}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tr := Tree{}
			load, skipped, err := AddModules(tr, tt.ms)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("AddModules = %v; want an error with %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || len(load) != 0 || strings.Join(skipped, ",") != "e1000,igb" {
				t.Fatalf("AddModules = load %v, skipped %v, %v", load, skipped, err)
			}
		})
	}
}
