package treefetch

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

const centos7Treeinfo = `[general]
name = CentOS-7
family = CentOS
timestamp = 1603803000.71
variant =
version = 7
packagedir =
arch = x86_64

[stage2]
mainimage = LiveOS/squashfs.img

[images-x86_64]
kernel = images/pxeboot/vmlinuz
initrd = images/pxeboot/initrd.img
boot.iso = images/boot.iso

[images-xen]
kernel = images/pxeboot/vmlinuz
initrd = images/pxeboot/initrd.img

[checksums]
images/efiboot.img = sha256:2ac6d5bdd1fa8e4c5ba6b9d3a9b4e0e3a9d5d7f3f1f6c4c2e7a1d5e9f0b3c2a1
images/pxeboot/initrd.img = sha256:07d5e2bd4cbb2b2d2b5ed0d3cbd50e7ab2ad9d6c4e0cd6e1eca2ab8e2c4e9af0
images/pxeboot/vmlinuz = sha256:f0c3bc4a9fd61a5bbd1e2e6b7bd2c3bfb3c5e1d0cdbd7e1d38f9d7f31a2d6b5e
`

func TestParseTreeinfo(t *testing.T) {
	tests := []struct {
		name, text, arch   string
		kernel, initrd     string
		checksums          int
		vmlinuzSum, errSub string
	}{
		{name: "CentOS 7 x86_64", text: centos7Treeinfo, arch: "x86_64", kernel: "images/pxeboot/vmlinuz", initrd: "images/pxeboot/initrd.img",
			checksums: 3, vmlinuzSum: "sha256:f0c3bc4a9fd61a5bbd1e2e6b7bd2c3bfb3c5e1d0cdbd7e1d38f9d7f31a2d6b5e"},
		{name: "another arch names no images", text: centos7Treeinfo, arch: "aarch64", checksums: 3,
			vmlinuzSum: "sha256:f0c3bc4a9fd61a5bbd1e2e6b7bd2c3bfb3c5e1d0cdbd7e1d38f9d7f31a2d6b5e"},
		{name: "old tree without checksums", text: "[general]\nfamily = CentOS\nversion = 5.3\n[images-x86_64]\nkernel = images/pxeboot/vmlinuz\ninitrd = images/pxeboot/initrd.img\n",
			arch: "x86_64", kernel: "images/pxeboot/vmlinuz", initrd: "images/pxeboot/initrd.img"},
		{name: "comments, blanks and spacing", text: "; c\n# c\n\n[ checksums ]\n  images/pxeboot/vmlinuz=SHA1:" + strings.Repeat("ab", 20) + "\n",
			arch: "x86_64", checksums: 1, vmlinuzSum: "sha1:" + strings.Repeat("ab", 20)},
		{name: "unknown algorithm refused", text: "[checksums]\nimages/pxeboot/vmlinuz = crc32:1234abcd\n", arch: "x86_64", errSub: "want md5, sha1, sha256 or sha512"},
		{name: "short digest refused", text: "[checksums]\nimages/pxeboot/vmlinuz = sha256:abcd\n", arch: "x86_64", errSub: "want 64 hex digits"},
		{name: "non-hex digest refused", text: "[checksums]\nimages/pxeboot/vmlinuz = md5:" + strings.Repeat("zz", 16) + "\n", arch: "x86_64", errSub: "want 32 hex digits"},
		{name: "checksum without algorithm refused", text: "[checksums]\nimages/pxeboot/vmlinuz = " + strings.Repeat("ab", 32) + "\n", arch: "x86_64", errSub: "want ALGO:HEX"},
		{name: "broken section header refused", text: "[checksums\nx = y\n", arch: "x86_64", errSub: "no closing ]"},
		{name: "empty file", text: "", arch: "x86_64"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ti, err := ParseTreeinfo(strings.NewReader(tc.text), tc.arch)
			if tc.errSub != "" {
				if err == nil || !strings.Contains(err.Error(), tc.errSub) {
					t.Fatalf("err = %v, want one containing %q", err, tc.errSub)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if ti.Kernel != tc.kernel || ti.Initrd != tc.initrd || len(ti.Checksums) != tc.checksums {
				t.Errorf("got kernel %q initrd %q %d checksums, want %q %q %d", ti.Kernel, ti.Initrd, len(ti.Checksums), tc.kernel, tc.initrd, tc.checksums)
			}
			if tc.vmlinuzSum != "" && ti.Checksums["images/pxeboot/vmlinuz"].String() != tc.vmlinuzSum {
				t.Errorf("vmlinuz checksum %v, want %s", ti.Checksums["images/pxeboot/vmlinuz"], tc.vmlinuzSum)
			}
		})
	}
}

func FuzzParseTreeinfo(f *testing.F) {
	f.Add(centos7Treeinfo)
	f.Add("[checksums]\na = sha256:" + strings.Repeat("0", 64))
	f.Add("[\n=\n[x]]\n")
	f.Fuzz(func(t *testing.T, s string) {
		ti, err := ParseTreeinfo(strings.NewReader(s), "x86_64")
		if err != nil {
			return
		}
		for p, c := range ti.Checksums {
			if len(c.Hex) != digestLen[c.Algo] {
				t.Fatalf("accepted %s = %v", p, c)
			}
		}
	})
}

func TestPlan(t *testing.T) {
	sum := Checksum{Algo: "sha256", Hex: strings.Repeat("a", 64)}
	tests := []struct {
		name       string
		ti         *Treeinfo
		wantFrom   [2]string
		wantChecks [2]bool
	}{
		{"no .treeinfo: the usual paths, unchecked", nil, [2]string{DefaultKernel, DefaultInitrd}, [2]bool{false, false}},
		{".treeinfo paths and checksums", &Treeinfo{Kernel: "isolinux/vmlinuz", Initrd: "isolinux/initrd.img",
			Checksums: map[string]Checksum{"isolinux/vmlinuz": sum}}, [2]string{"isolinux/vmlinuz", "isolinux/initrd.img"}, [2]bool{true, false}},
		{".treeinfo with checksums only", &Treeinfo{Checksums: map[string]Checksum{DefaultKernel: sum, DefaultInitrd: sum}},
			[2]string{DefaultKernel, DefaultInitrd}, [2]bool{true, true}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			fs := Plan(tc.ti, "c7/vmlinuz", "c7/initrd.img")
			if len(fs) != 2 || fs[0].To != "c7/vmlinuz" || fs[1].To != "c7/initrd.img" {
				t.Fatalf("plan %+v", fs)
			}
			for i := range fs {
				if fs[i].From != tc.wantFrom[i] || (fs[i].Want != nil) != tc.wantChecks[i] {
					t.Errorf("file %d: from %q checked %v, want %q %v", i, fs[i].From, fs[i].Want != nil, tc.wantFrom[i], tc.wantChecks[i])
				}
			}
		})
	}
}

// tree writes an install tree with a kernel and initrd of random content and
// a .treeinfo with their sha256; it returns the directory and the contents.
func tree(t *testing.T) (dir string, kernel, initrd []byte) {
	t.Helper()
	dir = t.TempDir()
	kernel, initrd = random(t, 300<<10), random(t, 700<<10)
	must(t, os.MkdirAll(filepath.Join(dir, "images", "pxeboot"), 0o755))
	must(t, os.WriteFile(filepath.Join(dir, DefaultKernel), kernel, 0o644))
	must(t, os.WriteFile(filepath.Join(dir, DefaultInitrd), initrd, 0o644))
	ti := fmt.Sprintf("[images-x86_64]\nkernel = %s\ninitrd = %s\n[checksums]\n%s = sha256:%s\n%s = sha256:%s\n",
		DefaultKernel, DefaultInitrd, DefaultKernel, sha(kernel), DefaultInitrd, sha(initrd))
	must(t, os.WriteFile(filepath.Join(dir, ".treeinfo"), []byte(ti), 0o644))
	return dir, kernel, initrd
}

func random(t *testing.T, n int) []byte {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return b
}

func sha(b []byte) string { s := sha256.Sum256(b); return hex.EncodeToString(s[:]) }

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// serve runs an HTTP server on loopback for the test.
func serve(t *testing.T, h http.Handler) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	must(t, err)
	srv := httptest.NewUnstartedServer(h)
	srv.Listener.Close()
	srv.Listener = l
	srv.Start()
	t.Cleanup(srv.Close)
	return srv.URL
}

func openRoot(t *testing.T) (string, *os.Root) {
	t.Helper()
	dir := t.TempDir()
	r, err := os.OpenRoot(dir)
	must(t, err)
	t.Cleanup(func() { r.Close() })
	return dir, r
}

// leftovers lists files under dir whose name marks an unfinished fetch.
func leftovers(t *testing.T, dir string) []string {
	var out []string
	filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err == nil && strings.Contains(d.Name(), ".part-") {
			out = append(out, p)
		}
		return nil
	})
	return out
}

func TestFetchOverHTTP(t *testing.T) {
	dir, kernel, initrd := tree(t)
	base := serve(t, http.FileServer(http.Dir(dir)))
	src, err := NewSource(base+"/", nil)
	must(t, err)
	ctx := context.Background()
	ti, err := src.ReadTreeinfo(ctx, "x86_64")
	must(t, err)
	if ti == nil || len(ti.Checksums) != 2 {
		t.Fatalf("treeinfo %+v", ti)
	}
	bootDir, root := openRoot(t)
	var reports int
	for _, f := range Plan(ti, "centos-7/vmlinuz", "centos-7/initrd.img") {
		res, err := Fetch(ctx, src, root, f, func(done, total int64) { reports++ })
		must(t, err)
		if res.UpToDate || res.Digest != *f.Want {
			t.Errorf("%s: %+v", f.To, res)
		}
	}
	if reports < 2 {
		t.Errorf("progress reported %d times, want at least once per file", reports)
	}
	for name, want := range map[string][]byte{"centos-7/vmlinuz": kernel, "centos-7/initrd.img": initrd} {
		got, err := os.ReadFile(filepath.Join(bootDir, name))
		must(t, err)
		if !bytes.Equal(got, want) {
			t.Errorf("%s: content differs", name)
		}
	}
	// Again: nothing to fetch.
	res, err := Fetch(ctx, src, root, Plan(ti, "centos-7/vmlinuz", "centos-7/initrd.img")[0], nil)
	must(t, err)
	if !res.UpToDate {
		t.Errorf("second fetch of an unchanged kernel was not up to date: %+v", res)
	}
	if l := leftovers(t, bootDir); len(l) > 0 {
		t.Errorf("temporary files left: %v", l)
	}
}

func TestFetchFromDirectory(t *testing.T) {
	dir, kernel, _ := tree(t)
	for _, s := range []string{dir, "file://" + dir} {
		src, err := NewSource(s, nil)
		must(t, err)
		ti, err := src.ReadTreeinfo(context.Background(), "x86_64")
		must(t, err)
		bootDir, root := openRoot(t)
		_, err = Fetch(context.Background(), src, root, Plan(ti, "k", "i")[0], nil)
		must(t, err)
		got, _ := os.ReadFile(filepath.Join(bootDir, "k"))
		if !bytes.Equal(got, kernel) {
			t.Errorf("%s: kernel differs", s)
		}
	}
}

// TestFetchFailuresKeepTheOldFile: every way a fetch can go wrong leaves the
// file already in the boot root as it was, and no temporary file behind.
func TestFetchFailuresKeepTheOldFile(t *testing.T) {
	dir, kernel, _ := tree(t)
	good := sha(kernel)
	bad := append([]byte(nil), kernel...)
	bad[1000] ^= 0xff
	mux := http.NewServeMux()
	mux.Handle("/good/", http.StripPrefix("/good", http.FileServer(http.Dir(dir))))
	mux.HandleFunc("/corrupt/images/pxeboot/vmlinuz", func(w http.ResponseWriter, r *http.Request) { w.Write(bad) })
	mux.HandleFunc("/cut/images/pxeboot/vmlinuz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", strconv.Itoa(len(kernel)))
		w.Write(kernel[:len(kernel)/2])
		// returning closes the connection short of the announced length
	})
	mux.HandleFunc("/empty/images/pxeboot/vmlinuz", func(w http.ResponseWriter, r *http.Request) {})
	mux.HandleFunc("/denied/images/pxeboot/vmlinuz", func(w http.ResponseWriter, r *http.Request) { http.Error(w, "no", http.StatusForbidden) })
	base := serve(t, mux)
	want := &Checksum{Algo: "sha256", Hex: good}
	tests := []struct {
		name, tree string
		file       File
		errSub     string
	}{
		{"checksum mismatch", "/corrupt/", File{From: DefaultKernel, To: "c7/vmlinuz", Want: want}, ".treeinfo says " + good},
		{"connection cut short", "/cut/", File{From: DefaultKernel, To: "c7/vmlinuz"}, "connection cut?"},
		{"empty file", "/empty/", File{From: DefaultKernel, To: "c7/vmlinuz"}, "the file is empty"},
		{"missing file", "/good/", File{From: "images/pxeboot/nothing", To: "c7/vmlinuz"}, "404"},
		{"server refuses", "/denied/", File{From: DefaultKernel, To: "c7/vmlinuz"}, "403"},
		{"destination outside the boot root", "/good/", File{From: DefaultKernel, To: "../vmlinuz"}, "inside the boot root"},
		{"absolute destination", "/good/", File{From: DefaultKernel, To: "/etc/vmlinuz"}, "inside the boot root"},
		{"tree path outside the tree", "/good/", File{From: "../../etc/passwd", To: "c7/vmlinuz"}, "clean path inside the tree"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			bootDir, root := openRoot(t)
			must(t, os.MkdirAll(filepath.Join(bootDir, "c7"), 0o755))
			old := []byte("the kernel that was there")
			must(t, os.WriteFile(filepath.Join(bootDir, "c7", "vmlinuz"), old, 0o644))
			src, err := NewSource(base+tc.tree, nil)
			must(t, err)
			_, err = Fetch(context.Background(), src, root, tc.file, nil)
			if err == nil || !strings.Contains(err.Error(), tc.errSub) {
				t.Fatalf("err = %v, want one containing %q", err, tc.errSub)
			}
			got, _ := os.ReadFile(filepath.Join(bootDir, "c7", "vmlinuz"))
			if !bytes.Equal(got, old) {
				t.Errorf("the old file was changed")
			}
			if l := leftovers(t, bootDir); len(l) > 0 {
				t.Errorf("temporary files left: %v", l)
			}
		})
	}
}

func TestNewSource(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "f")
	must(t, os.WriteFile(file, nil, 0o644))
	tests := []struct{ name, in, errSub string }{
		{"http URL", "http://192.0.2.9/centos/7/os/x86_64", ""},
		{"https URL", "https://mirror.example/os/", ""},
		{"directory", dir, ""},
		{"file URL", "file://" + dir, ""},
		{"ftp refused", "ftp://mirror.example/os/", "scheme not supported"},
		{"URL without host", "http:///os/", "not a usable URL"},
		{"missing directory", filepath.Join(dir, "nope"), "mounted DVD"},
		{"a file is not a tree", file, "not a directory"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := NewSource(tc.in, nil)
			if (tc.errSub == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), tc.errSub)) {
				t.Fatalf("NewSource(%q) = %v, want error containing %q", tc.in, err, tc.errSub)
			}
		})
	}
}
