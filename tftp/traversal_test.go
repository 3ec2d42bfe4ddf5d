package tftp

import (
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// TestTraversalRefused asks for files outside the boot root in many
// spellings, over the wire, and checks each gets a TFTP ERROR and no DATA.
// A secret file sits next to the root; symlinks inside the root point at it
// and at the root's parent.
func TestTraversalRefused(t *testing.T) {
	base, root := newRoot(t)
	secret := []byte("SECRET-OUTSIDE-THE-BOOT-ROOT")
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(os.WriteFile(filepath.Join(base, "secret"), secret, 0o644))
	must(os.MkdirAll(filepath.Join(root, "pxelinux.cfg"), 0o755))
	must(os.MkdirAll(filepath.Join(root, "sub"), 0o755))
	writeRandom(t, filepath.Join(root, "pxelinux.0"), 1000)
	must(os.Symlink("../secret", filepath.Join(root, "link-rel")))
	must(os.Symlink(filepath.Join(base, "secret"), filepath.Join(root, "link-abs")))
	must(os.Symlink("..", filepath.Join(root, "link-up")))
	must(os.Symlink(base, filepath.Join(root, "link-base")))
	must(os.Symlink("../../secret", filepath.Join(root, "sub", "link-deep")))
	must(os.Symlink("/etc/passwd", filepath.Join(root, "link-passwd")))
	must(os.Symlink("link-rel", filepath.Join(root, "link-chain")))
	f := startServer(t, base, root, nil)
	// Watch the secret with inotify: any open or read of it, by anyone,
	// during the requests below fails the test.
	ino, err := unix.InotifyInit1(unix.IN_NONBLOCK | unix.IN_CLOEXEC)
	must(err)
	defer unix.Close(ino)
	if _, err := unix.InotifyAddWatch(ino, filepath.Join(base, "secret"), unix.IN_OPEN|unix.IN_ACCESS); err != nil {
		t.Fatal(err)
	}

	names := []string{
		"../secret",
		"../../../../../../etc/passwd",
		"/etc/passwd",
		"/../secret",
		"//etc/passwd",
		`..\secret`,
		`\etc\passwd`,
		`sub\..\..\secret`,
		"sub/../../secret",
		"./../secret",
		"pxelinux.cfg/../../secret",
		"..",
		"../",
		"sub/../..",
		"link-rel",
		"link-abs",
		"link-up/secret",
		"link-base/secret",
		"sub/link-deep",
		"link-passwd",
		"link-chain",
		"link-up/boot/pxelinux.0",
		"%2e%2e/secret",
		"..%2fsecret",
		"....//secret",
		"",
		"sub",
		"pxelinux.0/../../secret",
		"../boot/../secret",
	}
	for i, name := range names {
		t.Run(strconv.Itoa(i)+"_"+strings.NewReplacer("/", "_", `\`, "_").Replace(name), func(t *testing.T) {
			res := rawFetch(t, f.addr, rrq(opRRQ, name, "octet"))
			if res.errMsg == "" || res.dataPkts != 0 || len(res.data) != 0 {
				t.Fatalf("%q: want a TFTP ERROR and no data, got %d data packets, error %q", name, res.dataPkts, res.errMsg)
			}
			if bytes.Contains(res.data, secret) || strings.Contains(res.errMsg, "SECRET") || strings.Contains(res.errMsg, base) {
				t.Fatalf("%q: the reply leaks something from outside the root: %q", name, res.errMsg)
			}
		})
	}
	// A NUL inside the name cannot be sent as such (it ends the name in the
	// RRQ); what follows it is taken as the mode and must not matter.
	t.Run("NUL-split", func(t *testing.T) {
		req := append([]byte{0, opRRQ}, "link-rel\x00../secret\x00octet\x00"...)
		res := rawFetch(t, f.addr, req)
		if res.errMsg == "" || len(res.data) != 0 {
			t.Fatalf("NUL-split name: got %d bytes, error %q", len(res.data), res.errMsg)
		}
	})
	buf := make([]byte, 4096)
	if n, _ := unix.Read(ino, buf); n > 0 {
		t.Fatalf("the secret outside the boot root was opened or read during the requests (%d bytes of inotify events)", n)
	}
	// The watch is live: reading the secret ourselves is seen.
	if _, err := os.ReadFile(filepath.Join(base, "secret")); err != nil {
		t.Fatal(err)
	}
	if n, _ := unix.Read(ino, buf); n <= 0 {
		t.Fatal("inotify saw no event for a read of the secret: the watch proves nothing")
	}
	m := f.srv.Metrics().Snapshot()
	if m.Served != 0 || m.Refused+m.NotFound != int64(len(names)+1) {
		t.Fatalf("metrics %+v: want 0 served and %d refused or not found", m, len(names)+1)
	}
	// The root itself still works.
	if res := rawFetch(t, f.addr, rrq(opRRQ, "pxelinux.0", "octet")); res.errMsg != "" || len(res.data) != 1000 {
		t.Fatalf("pxelinux.0: %q", res.errMsg)
	}
}
