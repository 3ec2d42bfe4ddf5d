package bootfs

import (
	"context"
	"errors"
	"io"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/netkick/netkick/boot"
	"github.com/netkick/netkick/inventory"
)

// newTree builds a boot root inside a temp dir, next to a "secret" file
// outside it, with symlinks that stay inside and that escape.
func newTree(t testing.TB) (*Tree, *inventory.SQLite, string) {
	t.Helper()
	base := t.TempDir()
	root := filepath.Join(base, "boot")
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(os.MkdirAll(filepath.Join(root, "centos-5.3"), 0o755))
	must(os.MkdirAll(filepath.Join(root, "pxelinux.cfg"), 0o755))
	must(os.WriteFile(filepath.Join(root, "pxelinux.0"), []byte("pxelinux"), 0o644))
	must(os.WriteFile(filepath.Join(root, "centos-5.3", "vmlinuz"), []byte("kernel"), 0o644))
	must(os.WriteFile(filepath.Join(base, "secret"), []byte("SECRET"), 0o644))
	must(os.Symlink("centos-5.3/vmlinuz", filepath.Join(root, "inside-link")))
	must(os.Symlink("../secret", filepath.Join(root, "escape-rel")))
	must(os.Symlink(filepath.Join(base, "secret"), filepath.Join(root, "escape-abs")))
	must(os.Symlink("..", filepath.Join(root, "up")))
	st, err := inventory.OpenSQLite(filepath.Join(base, "inv.db"))
	must(err)
	t.Cleanup(func() { st.Close() })
	tr, err := New(Options{Dir: root, Lookup: st})
	must(err)
	t.Cleanup(func() { tr.Close() })
	return tr, st, base
}

func read(t *testing.T, f *File) string {
	t.Helper()
	defer f.Close()
	b, err := io.ReadAll(f)
	if err != nil {
		t.Fatal(err)
	}
	if int64(len(b)) != f.Size {
		t.Fatalf("%s: read %d bytes, Size says %d", f.Name, len(b), f.Size)
	}
	return string(b)
}

func TestOpen(t *testing.T) {
	tr, st, base := newTree(t)
	ctx := context.Background()
	// Even a file of that name in the boot root is not served.
	if err := os.WriteFile(filepath.Join(base, "boot", boot.FileLocalBoot), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := st.PutProfile(ctx, &inventory.Profile{Name: "centos-5.3", OS: "centos", Version: "5.3", Kernel: "centos-5.3/vmlinuz", Initrd: "centos-5.3/initrd.img"}); err != nil {
		t.Fatal(err)
	}
	if err := st.PutHost(ctx, &inventory.Host{MACs: []string{"52:54:00:00:a0:01"}, Hostname: "a01", Profile: "centos-5.3", State: inventory.StateBuild, BuildToken: "tok-a01"}); err != nil {
		t.Fatal(err)
	}
	if err := st.PutHost(ctx, &inventory.Host{MACs: []string{"52:54:00:00:b0:01"}, Hostname: "b01", Profile: "centos-5.3", State: inventory.StateInstalled}); err != nil {
		t.Fatal(err)
	}
	req := Request{BaseURL: "http://192.0.2.1:8080"}
	tests := []struct {
		name, in string
		want     string // substring of the content
		err      error
	}{
		{"disk file", "pxelinux.0", "pxelinux", nil},
		{"symlink inside root", "inside-link", "kernel", nil},
		{"host in build, with its build token", "pxelinux.cfg/01-52-54-00-00-a0-01", "ks=http://192.0.2.1:8080/ks/52:54:00:00:a0:01?token=tok-a01\n", nil},
		{"host installed", "pxelinux.cfg/01-52-54-00-00-b0-01", "LOCALBOOT 0", nil},
		{"unknown host", "pxelinux.cfg/01-52-54-00-00-ff-ff", "LOCALBOOT 0", nil},
		{"default generated", "pxelinux.cfg/default", "LOCALBOOT 0", nil},
		{"missing", "nope", "", ErrNotFound},
		{"UEFI local-boot file is always refused", boot.FileLocalBoot, "", ErrNotFound},
		{"directory", "centos-5.3", "", ErrNotFound},
		{"relative symlink escape", "escape-rel", "", ErrRefused},
		{"absolute symlink escape", "escape-abs", "", ErrRefused},
		{"directory symlink escape", "up/secret", "", ErrRefused},
		{"dot-dot", "../secret", "", ErrRefused},
		{"absolute", "/etc/passwd", "", ErrRefused},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f, err := tr.Open(ctx, tc.in, req)
			if tc.err != nil {
				if !errors.Is(err, tc.err) {
					t.Fatalf("Open(%q) = %v; want %v", tc.in, err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatalf("Open(%q): %v", tc.in, err)
			}
			if got := read(t, f); !strings.Contains(got, tc.want) || strings.Contains(got, "SECRET") {
				t.Fatalf("Open(%q) content %q; want it to contain %q", tc.in, got, tc.want)
			}
		})
	}
}

func TestOperatorDefaultWins(t *testing.T) {
	tr, _, _ := newTree(t)
	if err := os.WriteFile(filepath.Join(tr.Dir(), "pxelinux.cfg", "default"), []byte("DEFAULT menu\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	f, err := tr.Open(context.Background(), "pxelinux.cfg/default", Request{})
	if err != nil {
		t.Fatal(err)
	}
	if got := read(t, f); got != "DEFAULT menu\n" {
		t.Fatalf("got %q, want the operator's file", got)
	}
}

func TestIPXEAnySpelling(t *testing.T) {
	tr, st, _ := newTree(t)
	ctx := context.Background()
	if err := st.PutHost(ctx, &inventory.Host{MACs: []string{"52:54:00:00:b0:02"}, Hostname: "b02", State: inventory.StateInstalled}); err != nil {
		t.Fatal(err)
	}
	for _, mac := range []string{"52:54:00:00:b0:02", "52-54-00-00-B0-02", "5254.0000.b002", "52540000b002", "01-52-54-00-00-b0-02"} {
		s, err := tr.IPXE(ctx, mac, Request{BaseURL: "http://192.0.2.1:8080"})
		if err != nil || !strings.Contains(s, "host b02 (52:54:00:00:b0:02") {
			t.Fatalf("IPXE(%q) = %q, %v", mac, s, err)
		}
	}
	if _, err := tr.IPXE(ctx, "not-a-mac", Request{}); !errors.Is(err, ErrRefused) {
		t.Fatalf("bad MAC: %v", err)
	}
	// By hostname, as `netkick render pxelinux b02` does.
	s, err := Render(ctx, st, nil, "pxelinux", "b02", Request{})
	if err != nil || !strings.Contains(s, "LOCALBOOT 0") || !strings.Contains(s, "52:54:00:00:b0:02") {
		t.Fatalf("Render by hostname = %q, %v", s, err)
	}
}

// FuzzOpen: whatever name a client sends, the tree either refuses it or
// serves a file from inside the root; the secret next to the root never
// comes back.
func FuzzOpen(f *testing.F) {
	for _, s := range []string{"pxelinux.0", "../secret", "escape-rel", "up/secret", "inside-link", "pxelinux.cfg/default",
		"pxelinux.cfg/01-52-54-00-00-a0-01", "escape-abs", "./up/../secret", "centos-5.3/../../secret"} {
		f.Add(s)
	}
	tr, _, _ := newTree(f)
	ctx := context.Background()
	f.Fuzz(func(t *testing.T, name string) {
		fl, err := tr.Open(ctx, name, Request{BaseURL: "http://192.0.2.1"})
		if err != nil {
			if !errors.Is(err, ErrRefused) && !errors.Is(err, ErrNotFound) {
				t.Fatalf("Open(%q): unexpected error kind: %v", name, err)
			}
			return
		}
		defer fl.Close()
		b, err := io.ReadAll(fl)
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(string(b), "SECRET") {
			t.Fatalf("Open(%q) served the file outside the root", name)
		}
	})
}

// TestGRUBPaths opens every config name the GRUB builds ask for, with the
// real SQLite store's leases naming the requester.
func TestGRUBPaths(t *testing.T) {
	base := t.TempDir()
	root := filepath.Join(base, "boot")
	if err := os.MkdirAll(filepath.Join(root, "grub"), 0o755); err != nil {
		t.Fatal(err)
	}
	st, err := inventory.OpenSQLite(filepath.Join(base, "inv.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	tr, err := New(Options{Dir: root, Lookup: st, Leases: st})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tr.Close() })
	ctx := context.Background()
	now := time.Now()
	if err := st.PutProfile(ctx, &inventory.Profile{Name: "deb", OS: "debian", Version: "12", Kernel: "deb/vmlinuz", Initrd: "deb/initrd.img", BootLoader: "grub"}); err != nil {
		t.Fatal(err)
	}
	for _, h := range []*inventory.Host{
		{MACs: []string{"52:54:00:00:a0:01"}, Hostname: "a01", Profile: "deb", State: inventory.StateBuild, BuildToken: "tok-a01"},
		{MACs: []string{"52:54:00:00:b0:01"}, Hostname: "b01", Profile: "deb", State: inventory.StateInstalled},
	} {
		if err := st.PutHost(ctx, h); err != nil {
			t.Fatal(err)
		}
	}
	if err := st.SaveLeases(ctx, []inventory.Lease{
		{IP: "192.0.2.10", MAC: "52:54:00:00:a0:01", State: inventory.LeaseBound, Expires: now.Add(time.Hour), Updated: now},
		{IP: "192.0.2.11", MAC: "52:54:00:00:b0:01", State: inventory.LeaseBound, Expires: now.Add(time.Hour), Updated: now},
	}); err != nil {
		t.Fatal(err)
	}
	install := "linux '/deb/vmlinuz' 'ks=http://192.0.2.1:8080/ks/52:54:00:00:a0:01?token=tok-a01'"
	tests := []struct {
		name, file, client string
		want, host         string // substring of the content; host ID on the File
		err                error
	}{
		{"Debian grubnetx64 by lease address", "grub/grub.cfg", "192.0.2.10", install, "52:54:00:00:a0:01", nil},
		{"EL grub2 per MAC", "grub.cfg-01-52-54-00-00-a0-01", "192.0.2.10", install, "52:54:00:00:a0:01", nil},
		{"upstream per MAC", "grub.cfg-52-54-00-00-a0-01", "192.0.2.10", install, "52:54:00:00:a0:01", nil},
		{"own hex address", "grub.cfg-C000020A", "192.0.2.10", install, "52:54:00:00:a0:01", nil},
		{"another machine's hex address", "grub.cfg-C000020A", "192.0.2.11", "", "", ErrNotFound},
		{"shortened hex address", "grub.cfg-C00002", "192.0.2.10", "", "", ErrNotFound},
		{"installed host by address boots locally", "grub/grub.cfg", "192.0.2.11", "exit 1", "52:54:00:00:b0:01", nil},
		{"no lease: dispatch on GRUB's MAC", "grub/grub.cfg", "192.0.2.99", `configfile "$prefix/grub.cfg-$net_default_mac"`, "", nil},
		{"dispatched by colon MAC", "grub/grub.cfg-52:54:00:00:a0:01", "192.0.2.99", install, "52:54:00:00:a0:01", nil},
		{"module lists absent", "grub/x86_64-efi/command.lst", "192.0.2.10", "", "", ErrNotFound},
		{"shim's optional file absent", "revocations_sbat.efi", "192.0.2.10", "", "", ErrNotFound},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f, err := tr.Open(ctx, tc.file, Request{BaseURL: "http://192.0.2.1:8080", ClientIP: tc.client})
			if tc.err != nil {
				if !errors.Is(err, tc.err) {
					t.Fatalf("Open(%q) = %v; want %v", tc.file, err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatalf("Open(%q): %v", tc.file, err)
			}
			if f.HostID != tc.host {
				t.Errorf("HostID = %q, want %q", f.HostID, tc.host)
			}
			if got := read(t, f); !strings.Contains(got, tc.want) {
				t.Fatalf("Open(%q) from %s:\n%s\nwant it to contain %q", tc.file, tc.client, got, tc.want)
			}
		})
	}
	// An operator's own grub.cfg is served to machines no lease names.
	if err := os.WriteFile(filepath.Join(root, "grub", "grub.cfg"), []byte("menuentry own {}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	f, err := tr.Open(ctx, "grub/grub.cfg", Request{ClientIP: "192.0.2.99"})
	if err != nil || read(t, f) != "menuentry own {}\n" {
		t.Fatalf("operator's grub.cfg not served: %v", err)
	}
	s, err := Render(ctx, st, nil, "grub", "a01", Request{BaseURL: "http://192.0.2.1:8080"})
	if err != nil || !strings.Contains(s, install) {
		t.Fatalf("Render grub a01 = %q, %v", s, err)
	}
}

// onlyFrom binds requests from one address (bind.Binder is tested on its own).
type onlyFrom netip.Addr

func (o onlyFrom) Check(_ context.Context, h *inventory.Host, remote netip.Addr) error {
	if remote != netip.Addr(o) {
		return &boot.Refusal{Reason: "not " + h.Hostname + "'s address"}
	}
	return nil
}

// TestTokenWithheld: every generated config that carries a token (pxelinux,
// GRUB, iPXE) carries it only to a requester the binder accepts.
func TestTokenWithheld(t *testing.T) {
	tr, st, _ := newTree(t)
	ctx := context.Background()
	if err := st.PutProfile(ctx, &inventory.Profile{Name: "centos-7", OS: "centos", Version: "7", Kernel: "k", Initrd: "i"}); err != nil {
		t.Fatal(err)
	}
	if err := st.PutHost(ctx, &inventory.Host{MACs: []string{"52:54:00:00:a0:01"}, Hostname: "a01", Profile: "centos-7", State: inventory.StateBuild, BuildToken: "tok-a01"}); err != nil {
		t.Fatal(err)
	}
	tr.bind = onlyFrom(netip.MustParseAddr("192.0.2.10"))
	for _, name := range []string{"pxelinux.cfg/01-52-54-00-00-a0-01", "grub/grub.cfg-01-52-54-00-00-a0-01"} {
		for _, tc := range []struct {
			client string
			token  bool
		}{{"192.0.2.10", true}, {"192.0.2.66", false}, {"", false}} {
			f, err := tr.Open(ctx, name, Request{BaseURL: "http://192.0.2.1:8080", ClientIP: tc.client})
			if err != nil {
				t.Fatalf("%s from %q: %v", name, tc.client, err)
			}
			got := read(t, f)
			if strings.Contains(got, "tok-a01") != tc.token || (f.Withheld == nil) != tc.token {
				t.Fatalf("%s from %q: token in config %v, withheld %v; want token %v:\n%s", name, tc.client, strings.Contains(got, "tok-a01"), f.Withheld, tc.token, got)
			}
		}
	}
	s, withheld, err := tr.IPXEBound(ctx, "52:54:00:00:a0:01", Request{BaseURL: "http://192.0.2.1:8080", ClientIP: "192.0.2.66"})
	if err != nil || withheld == nil || strings.Contains(s, "tok-a01") {
		t.Fatalf("iPXE to a stranger: withheld %v, %v:\n%s", withheld, err, s)
	}
	s, withheld, err = tr.IPXEBound(ctx, "52:54:00:00:a0:01", Request{BaseURL: "http://192.0.2.1:8080", ClientIP: "192.0.2.10"})
	if err != nil || withheld != nil || !strings.Contains(s, "token=tok-a01") {
		t.Fatalf("iPXE to the machine: withheld %v, %v:\n%s", withheld, err, s)
	}
}
