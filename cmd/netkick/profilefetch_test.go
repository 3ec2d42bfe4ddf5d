package main

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/netkick/netkick/internal/testenv"
)

// TestProfileFetch: `netkick profile fetch` copies a tree's kernel and initrd
// over HTTP into the boot root, checks them against .treeinfo, points the
// profile at them, and refuses a corrupted kernel without touching the copy.
func TestProfileFetch(t *testing.T) {
	bin := buildNetkick(t)
	data := t.TempDir()
	tree := filepath.Join(t.TempDir(), "os")
	if err := os.MkdirAll(filepath.Join(tree, "images", "pxeboot"), 0o755); err != nil {
		t.Fatal(err)
	}
	files := map[string][]byte{}
	var sums strings.Builder
	for _, name := range []string{"images/pxeboot/vmlinuz", "images/pxeboot/initrd.img"} {
		b := make([]byte, 1<<20)
		rand.Read(b)
		files[name] = b
		if err := os.WriteFile(filepath.Join(tree, name), b, 0o644); err != nil {
			t.Fatal(err)
		}
		s := sha256.Sum256(b)
		fmt.Fprintf(&sums, "%s = sha256:%s\n", name, hex.EncodeToString(s[:]))
	}
	if err := os.WriteFile(filepath.Join(tree, ".treeinfo"), []byte("[general]\nfamily = CentOS\n[checksums]\n"+sums.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.StripPrefix("/centos/7/", http.FileServer(http.Dir(tree)))}
	go srv.Serve(l)
	t.Cleanup(func() { srv.Close() })
	treeURL := "http://" + l.Addr().String() + "/centos/7/"

	run(t, bin, "profile", "add", "c7", "--version", "7.9", "--install-url", treeURL, "--data", data)
	out := run(t, bin, "profile", "fetch", "c7", "--data", data)
	if strings.Count(out, "sha256 ok (.treeinfo)") != 2 || !strings.Contains(out, "profile c7 now boots kernel c7/vmlinuz, initrd c7/initrd.img") {
		t.Fatalf("profile fetch:\n%s", out)
	}
	for name, to := range map[string]string{"images/pxeboot/vmlinuz": "c7/vmlinuz", "images/pxeboot/initrd.img": "c7/initrd.img"} {
		got, err := os.ReadFile(filepath.Join(data, "boot", to))
		if err != nil || !bytes.Equal(got, files[name]) {
			t.Fatalf("%s: %v, content equal %v", to, err, bytes.Equal(got, files[name]))
		}
	}
	if exp := run(t, bin, "export", "--data", data); !strings.Contains(exp, "kernel: c7/vmlinuz") || !strings.Contains(exp, "initrd: c7/initrd.img") {
		t.Fatalf("the profile does not name the fetched files:\n%s", exp)
	}
	if out := run(t, bin, "profile", "fetch", "c7", "--data", data); strings.Count(out, "already up to date") != 2 {
		t.Fatalf("second fetch:\n%s", out)
	}

	// A mirror serving a kernel that is not the one .treeinfo describes.
	bad := append([]byte(nil), files["images/pxeboot/vmlinuz"]...)
	bad[100] ^= 1
	if err := os.WriteFile(filepath.Join(tree, "images/pxeboot/vmlinuz"), bad, 0o644); err != nil {
		t.Fatal(err)
	}
	// Into a boot root that holds an older kernel: the fetch fails, the old
	// kernel stays.
	root2 := t.TempDir()
	os.MkdirAll(filepath.Join(root2, "c7"), 0o755)
	os.WriteFile(filepath.Join(root2, "c7", "vmlinuz"), []byte("older kernel"), 0o644)
	out2, err := exec.Command(bin, "profile", "fetch", "c7", "--data", data, "--boot-root", root2).CombinedOutput()
	if code := exitCode(err); code != 1 || !strings.Contains(string(out2), ".treeinfo says") {
		t.Fatalf("corrupted kernel: exit %d\n%s", code, out2)
	}
	if got, _ := os.ReadFile(filepath.Join(root2, "c7", "vmlinuz")); string(got) != "older kernel" {
		t.Fatal("a refused fetch changed the kernel in the boot root")
	}

	for _, tc := range []struct {
		name string
		args []string
		code int
		want string
	}{
		{"remote server", []string{"profile", "fetch", "c7", "--server", "http://127.0.0.1:1"}, 2, "run it where `netkick serve` runs"},
		{"unknown profile", []string{"profile", "fetch", "nope", "--data", data}, 1, "does not exist"},
		{"no name", []string{"profile", "fetch", "--data", data}, 2, "want the profile NAME"},
		{"tree that does not exist", []string{"profile", "fetch", "c7", "--data", data, "--from", filepath.Join(data, "no-such-dvd")}, 1, "mounted DVD"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, err := exec.Command(bin, tc.args...).CombinedOutput()
			if code := exitCode(err); code != tc.code || !strings.Contains(string(out), tc.want) {
				t.Fatalf("exit %d (want %d)\n%s\nwant %q", code, tc.code, out, tc.want)
			}
		})
	}
}

// exitCode is a finished command's exit status (0 when err is nil).
func exitCode(err error) int {
	if err == nil {
		return 0
	}
	if ee, ok := err.(*exec.ExitError); ok {
		return ee.ExitCode()
	}
	return -1
}

func TestReportProgress(t *testing.T) {
	tests := []struct {
		name        string
		tty         bool
		since       time.Duration
		done, total int64
		want        bool
	}{
		{"terminal: every call", true, 0, 10, 100, true},
		{"log: too soon", false, 4 * time.Second, 10, 100, false},
		{"log: 5 s passed", false, 5 * time.Second, 10, 100, true},
		{"log: size unknown", false, 6 * time.Second, 10, -1, true},
		{"log: finished, the summary follows", false, 6 * time.Second, 100, 100, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := reportProgress(tc.tty, tc.since, tc.done, tc.total); got != tc.want {
				t.Errorf("reportProgress(%v, %v, %d, %d) = %v, want %v", tc.tty, tc.since, tc.done, tc.total, got, tc.want)
			}
		})
	}
}

// TestProfileFetchSecureBoot: from a DVD-style tree directory that has
// EFI/BOOT/BOOTX64.EFI and grubx64.efi (Debian's signed shim and GRUB stand
// in for the distribution's), profile fetch copies both beside the kernel,
// checked against .treeinfo, and points the profile's shim at them: DHCP
// then names the profile's own shim, and its EL7 GRUB gets linuxefi.
func TestProfileFetchSecureBoot(t *testing.T) {
	shimSrc, grubSrc := "/usr/lib/shim/shimx64.efi.signed", "/usr/lib/grub/x86_64-efi-signed/grubnetx64.efi.signed"
	testenv.RequireFile(t, shimSrc)
	testenv.RequireFile(t, grubSrc)
	bin := buildNetkick(t)
	data := t.TempDir()
	tree := t.TempDir()
	var sums strings.Builder
	for name, src := range map[string]string{"images/pxeboot/vmlinuz": "", "images/pxeboot/initrd.img": "", "EFI/BOOT/BOOTX64.EFI": shimSrc, "EFI/BOOT/grubx64.efi": grubSrc} {
		b := []byte("image " + name)
		if src != "" {
			var err error
			if b, err = os.ReadFile(src); err != nil {
				t.Fatal(err)
			}
		}
		if err := os.MkdirAll(filepath.Dir(filepath.Join(tree, name)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(tree, name), b, 0o644); err != nil {
			t.Fatal(err)
		}
		s := sha256.Sum256(b)
		fmt.Fprintf(&sums, "%s = sha256:%s\n", name, hex.EncodeToString(s[:]))
	}
	if err := os.WriteFile(filepath.Join(tree, ".treeinfo"), []byte("[checksums]\n"+sums.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	run(t, bin, "profile", "add", "c7", "--version", "7.9", "--bootloader", "grub", "--data", data)
	out := run(t, bin, "profile", "fetch", "c7", "--from", tree, "--data", data)
	if strings.Count(out, "sha256 ok (.treeinfo)") != 4 || !strings.Contains(out, "through its own shim c7/shimx64.efi") {
		t.Fatalf("profile fetch:\n%s", out)
	}
	for to, src := range map[string]string{"c7/shimx64.efi": shimSrc, "c7/grubx64.efi": grubSrc} {
		got, _ := os.ReadFile(filepath.Join(data, "boot", to))
		want, _ := os.ReadFile(src)
		if !bytes.Equal(got, want) {
			t.Fatalf("%s differs from the tree's", to)
		}
	}
	if exp := run(t, bin, "export", "--data", data); !strings.Contains(exp, "shim: c7/shimx64.efi") {
		t.Fatalf("profile c7 has no shim after the fetch:\n%s", exp)
	}
	run(t, bin, "host", "add", "52:54:00:4e:4b:21", "--hostname", "sb7", "--profile", "c7", "--data", data)
	run(t, bin, "host", "build", "sb7", "--data", data)
	if cfg := run(t, bin, "render", "grub", "sb7", "--data", data, "--public-url", "http://192.0.2.1:8080"); !strings.Contains(cfg, "linuxefi '/c7/vmlinuz'") || !strings.Contains(cfg, "initrdefi '/c7/initrd.img'") {
		t.Fatalf("render grub sb7 (EL7's own GRUB):\n%s", cfg)
	}
	// A tree without EFI/BOOT keeps the boot root's shim.
	if err := os.RemoveAll(filepath.Join(tree, "EFI")); err != nil {
		t.Fatal(err)
	}
	run(t, bin, "profile", "add", "c7b", "--version", "7.9", "--bootloader", "grub", "--data", data)
	if out := run(t, bin, "profile", "fetch", "c7b", "--from", tree, "--data", data); !strings.Contains(out, "EFI/BOOT/BOOTX64.EFI: not in the tree") {
		t.Fatalf("profile fetch without EFI/BOOT:\n%s", out)
	}
}
