package main

import (
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/netkick/netkick/discovery"
	"github.com/netkick/netkick/internal/initramfs"
	"github.com/netkick/netkick/internal/testenv"
	"github.com/netkick/netkick/testvm"
)

// cpioMember is one entry of a newc archive, as the test reads it.
type cpioMember struct {
	mode         uint32
	data         []byte
	major, minor uint32
}

// readNewc parses a newc ("070701") cpio strictly: the magic, the 13 hex
// fields, the 4-byte alignment of names and data, and the trailer.
func readNewc(t *testing.T, b []byte) map[string]cpioMember {
	t.Helper()
	out := map[string]cpioMember{}
	pad := func(n int) int { return (n + 3) &^ 3 }
	off := 0
	for {
		if off+110 > len(b) {
			t.Fatalf("newc: header at %d runs past the end (%d bytes): no trailer", off, len(b))
		}
		h := b[off : off+110]
		if string(h[:6]) != "070701" {
			t.Fatalf("newc: bad magic %q at %d", h[:6], off)
		}
		var f [13]uint32
		for i := range f {
			v, err := strconv.ParseUint(string(h[6+8*i:14+8*i]), 16, 32)
			if err != nil {
				t.Fatalf("newc: header field %d at %d: %v", i, off, err)
			}
			f[i] = uint32(v)
		}
		mode, size, namesize := f[1], int(f[6]), int(f[11])
		nameAt := off + 110
		name := string(b[nameAt : nameAt+namesize])
		if !strings.HasSuffix(name, "\x00") {
			t.Fatalf("newc: name at %d not NUL-terminated", nameAt)
		}
		name = strings.TrimSuffix(name, "\x00")
		dataAt := pad(nameAt + namesize)
		if dataAt+size > len(b) {
			t.Fatalf("newc: %s: data runs past the end", name)
		}
		if name == "TRAILER!!!" {
			return out
		}
		if _, dup := out[name]; dup {
			t.Fatalf("newc: %s twice", name)
		}
		out[name] = cpioMember{mode: mode, data: b[dataAt : dataAt+size], major: f[9], minor: f[10]}
		off = pad(dataAt + size)
	}
}

func unpackImage(t *testing.T, p string) (map[string]cpioMember, []byte) {
	t.Helper()
	f, err := os.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatalf("%s is not gzip: %v", p, err)
	}
	raw, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	return readNewc(t, raw), raw
}

// rigKernel is a real Debian kernel package unpacked (the test rig's, cached).
func rigKernel(t *testing.T) *testvm.Kernel {
	t.Helper()
	k, err := testvm.FetchKernel(context.Background(), testvm.DefaultCacheDir(), io.Discard)
	if err != nil {
		testenv.Missing(t, fmt.Sprintf("a Debian kernel package (apt-get download linux-image-amd64): %v", err))
	}
	return k
}

func discoveryCLI(t *testing.T, args ...string) (string, error) {
	t.Helper()
	var out, errb bytes.Buffer
	a := &app{stdout: &out, stderr: &errb}
	if code := a.main(context.Background(), append([]string{"discovery", "initramfs"}, args...)); code != 0 {
		return out.String() + errb.String(), fmt.Errorf("exit %d", code)
	}
	return out.String(), nil
}

// TestDiscoveryInitramfsCommand builds the discovery initramfs from a real
// kernel package and BusyBox into a data dir's boot root, and checks the
// archive: valid newc (Go and GNU cpio agree), /init, the facts script and
// the udhcpc hook as embedded, BusyBox and its libraries executable, the
// drivers with their dependencies and their list, the console node; and the
// kernel copied beside it.
func TestDiscoveryInitramfsCommand(t *testing.T) {
	bb := testenv.RequireProgram(t, "busybox")
	cpio := testenv.RequireProgram(t, "cpio")
	k := rigKernel(t)
	dynamic, err := exec.LookPath("ls") // a dynamically linked program in BusyBox's place
	if err != nil {
		t.Fatal(err)
	}
	dynLibs, err := initramfs.SharedLibs(dynamic)
	if err != nil || len(dynLibs) == 0 {
		t.Fatalf("ldd %s: %v %v: want a dynamically linked program", dynamic, dynLibs, err)
	}
	tests := []struct {
		name    string
		busybox string
		libs    []string
	}{
		{"static busybox", bb, nil},
		{"dynamically linked busybox brings its libraries", dynamic, dynLibs},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			data := t.TempDir()
			out, err := discoveryCLI(t, "--data", data, "--modules-from", k.ModulesDir, "--busybox", tt.busybox, "--module", "e1000")
			if err != nil {
				t.Fatalf("%v\n%s", err, out)
			}
			img := filepath.Join(data, "boot", "discovery", "initrd.img")
			if !strings.Contains(out, "wrote "+img) || !strings.Contains(out, "initrd: discovery/initrd.img") || !strings.Contains(out, "netkick discovered list") {
				t.Errorf("output does not say where the image went and what comes next:\n%s", out)
			}
			vmlinuz, _ := os.ReadFile(k.Vmlinuz)
			if got, err := os.ReadFile(filepath.Join(data, "boot", "discovery", "vmlinuz")); err != nil || !bytes.Equal(got, vmlinuz) {
				t.Errorf("kernel not copied to the boot root's discovery/vmlinuz: %v", err)
			}
			m, raw := unpackImage(t, img)
			exe := func(p string, want []byte) {
				t.Helper()
				e, ok := m[p]
				if !ok {
					t.Errorf("%s missing from the image", p)
					return
				}
				if e.mode&initramfs.TypeMask != initramfs.TypeReg || e.mode&0o111 == 0 {
					t.Errorf("%s: mode %o, want an executable regular file", p, e.mode)
				}
				if want != nil && !bytes.Equal(e.data, want) {
					t.Errorf("%s: content differs from its source (%d bytes, want %d)", p, len(e.data), len(want))
				}
			}
			for name, dst := range discovery.Files {
				exe(strings.TrimPrefix(dst, "/"), discovery.File(name))
			}
			bin, _ := os.ReadFile(tt.busybox)
			exe("bin/busybox", bin)
			for _, l := range tt.libs {
				lib, _ := os.ReadFile(l)
				exe(strings.TrimPrefix(l, "/"), lib)
			}
			if sh := m["bin/sh"]; sh.mode&initramfs.TypeMask != initramfs.TypeLink || string(sh.data) != "busybox" {
				t.Errorf("bin/sh: mode %o → %q, want a symlink to busybox", sh.mode, sh.data)
			}
			if c := m["dev/console"]; c.mode&initramfs.TypeMask != initramfs.TypeChr || c.major != 5 || c.minor != 1 {
				t.Errorf("dev/console: mode %o %d:%d, want the character device 5:1", c.mode, c.major, c.minor)
			}
			list := strings.Fields(string(m[strings.TrimPrefix(discovery.ModulesFile, "/")].data))
			if len(list) == 0 || list[0] != "e1000" {
				t.Errorf("%s lists %v, want e1000 first", discovery.ModulesFile, list)
			}
			base := "lib/modules/" + k.Version + "/"
			for _, want := range []string{"kernel/drivers/net/ethernet/intel/e1000/e1000.ko", "modules.order", "modules.builtin"} {
				if _, ok := m[base+want]; !ok {
					t.Errorf("%s%s missing", base, want)
				}
			}
			// Every module listed is in the image with its hard dependencies.
			idx, err := initramfs.ModuleIndex(k.ModulesDir)
			if err != nil {
				t.Fatal(err)
			}
			need, err := initramfs.ModuleClosure(list, initramfs.InfoFunc(idx))
			if err != nil {
				t.Fatal(err)
			}
			for _, n := range need {
				rel, _ := filepath.Rel(k.ModulesDir, idx[n])
				if _, ok := m[base+filepath.ToSlash(rel)]; !ok {
					t.Errorf("module %s (%s) listed or needed but not in the image", n, rel)
				}
			}
			// GNU cpio reads the same archive.
			cmd := exec.Command(cpio, "-it", "--quiet")
			cmd.Stdin = bytes.NewReader(raw)
			lst, err := cmd.CombinedOutput()
			if err != nil {
				t.Fatalf("cpio -it: %v\n%s", err, lst)
			}
			if n := len(strings.Fields(string(lst))); n != len(m) {
				t.Errorf("GNU cpio lists %d members, the newc reader %d", n, len(m))
			}
		})
	}
}

// TestCheckNamesDiscoveryFiles: `netkick check` names a discovery kernel
// and initrd the config names but the boot root lacks, with the command that
// makes them, and is quiet about them once that command ran.
func TestCheckNamesDiscoveryFiles(t *testing.T) {
	bb := testenv.RequireProgram(t, "busybox")
	k := rigKernel(t)
	data := t.TempDir()
	cfg := filepath.Join(t.TempDir(), "netkick.yaml")
	if err := os.WriteFile(cfg, []byte("discovery:\n  kernel: disc/vmlinuz\n  initrd: disc/initrd.img\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	check := func() string {
		var out, errb bytes.Buffer
		a := &app{stdout: &out, stderr: &errb}
		a.main(context.Background(), []string{"check", "--data", data, "--config", cfg, "--http", "127.0.0.1:0", "--tftp", "127.0.0.1:0"})
		return out.String()
	}
	if err := os.MkdirAll(filepath.Join(data, "boot"), 0o755); err != nil {
		t.Fatal(err)
	}
	got := check()
	for _, w := range []string{"discovery discovery.kernel: " + filepath.Join(data, "boot", "disc", "vmlinuz") + " is missing", "discovery discovery.initrd: ", "fix: run `netkick discovery initramfs"} {
		if !strings.Contains(got, w) {
			t.Errorf("check output lacks %q:\n%s", w, got)
		}
	}
	if out, err := discoveryCLI(t, "--data", data, "--config", cfg, "--modules-from", k.ModulesDir, "--busybox", bb); err != nil {
		t.Fatalf("%v\n%s", err, out)
	} else if !strings.Contains(out, filepath.Join(data, "boot", "disc", "initrd.img")) || !strings.Contains(out, "initrd: disc/initrd.img") {
		t.Errorf("the command did not write where the config's discovery.initrd says:\n%s", out)
	}
	if got := check(); strings.Contains(got, "discovery") {
		t.Errorf("check still reports the discovery files:\n%s", got)
	}
}

// TestDiscoveryInitramfsErrors: what is missing is named, with the fix.
func TestDiscoveryInitramfsErrors(t *testing.T) {
	bb := testenv.RequireProgram(t, "busybox")
	mods := filepath.Join(t.TempDir(), "6.1.0-9-amd64")
	if err := os.MkdirAll(filepath.Join(mods, "kernel"), 0o755); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		args []string
		want []string
	}{
		{"busybox missing", []string{"--busybox", "/nonexistent/busybox", "--modules-from", mods}, []string{"/nonexistent/busybox", "install busybox-static"}},
		{"modules directory missing", []string{"--busybox", bb, "--modules-from", "/nonexistent/lib/modules/6.1.0-9-amd64"}, []string{"/nonexistent/lib/modules/6.1.0-9-amd64 not found", "--modules-from"}},
		{"kernel version without modules", []string{"--busybox", bb, "--kernel-version", "0.0.0-nonexistent"}, []string{"/lib/modules/0.0.0-nonexistent not found"}},
		{"driver not in the kernel", []string{"--busybox", bb, "--modules-from", mods, "--module", "nosuchdriver"}, []string{"module nosuchdriver is not in the kernel package"}},
		{"both kernel flags", []string{"--modules-from", mods, "--kernel-version", "6.1.0-9-amd64"}, []string{"not both"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			data := t.TempDir()
			out, err := discoveryCLI(t, append([]string{"--data", data}, tt.args...)...)
			if err == nil {
				t.Fatalf("accepted:\n%s", out)
			}
			for _, w := range tt.want {
				if !strings.Contains(out, w) {
					t.Errorf("error lacks %q:\n%s", w, out)
				}
			}
			if _, err := os.Stat(filepath.Join(data, "boot", "discovery", "initrd.img")); err == nil {
				t.Error("an image was written despite the error")
			}
		})
	}
}
