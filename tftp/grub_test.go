package tftp

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/netkick/netkick/boot"
	"github.com/netkick/netkick/inventory"
)

// TestGRUBChainOverTFTP fetches what shim and Debian's grubnetx64 ask for
// with tftp-hpa's client, from an address a host holds by a lease: shim and
// GRUB from disk, shim's optional files cleanly not found, grub/grub.cfg
// generated for the host, all on its timeline.
func TestGRUBChainOverTFTP(t *testing.T) {
	base, root := newRoot(t)
	for _, n := range []string{boot.FileShim, boot.FileGRUB, "deb/vmlinuz", "deb/initrd.img"} {
		if err := os.MkdirAll(filepath.Dir(filepath.Join(root, n)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(root, n), []byte("contents of "+n), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	f := startServer(t, base, root, func(o *Options) { o.PublicURL = "http://192.0.2.1:8080" })
	ctx := context.Background()
	now := time.Now()
	if err := f.store.PutProfile(ctx, &inventory.Profile{Name: "deb", OS: "debian", Version: "12", Kernel: "deb/vmlinuz", Initrd: "deb/initrd.img", BootLoader: "grub"}); err != nil {
		t.Fatal(err)
	}
	if err := f.store.PutHost(ctx, &inventory.Host{MACs: []string{"52:54:00:00:a0:05"}, Hostname: "sb1", Profile: "deb", State: inventory.StateBuild, BuildToken: "tok"}); err != nil {
		t.Fatal(err)
	}
	if err := f.store.SaveLeases(ctx, []inventory.Lease{{IP: "127.0.0.1", MAC: "52:54:00:00:a0:05", State: inventory.LeaseBound, Expires: now.Add(time.Hour), Updated: now}}); err != nil {
		t.Fatal(err)
	}
	dl := t.TempDir()
	get := func(name string) (string, error) {
		out := filepath.Join(dl, strings.ReplaceAll(name, "/", "_"))
		log, err := hpaGet(t, "127.0.0.1", f.addr.Port, name, out)
		if err != nil {
			return log, err
		}
		b, err := os.ReadFile(out)
		return string(b), err
	}
	for _, n := range []string{boot.FileShim, boot.FileGRUB} {
		if got, err := get(n); err != nil || got != "contents of "+n {
			t.Fatalf("%s: %q, %v", n, got, err)
		}
	}
	for _, n := range append(boot.ShimOptionalFiles(), "/grub/x86_64-efi/command.lst") {
		if res := rawFetch(t, f.addr, rrq(opRRQ, n, "octet")); res.errMsg != errNotFound.Error() {
			t.Fatalf("%s: want a clean %q, got %q", n, errNotFound, res.errMsg)
		}
	}
	cfg, err := get("/grub/grub.cfg") // as grubnetx64 asks: its prefix is /grub
	if err != nil || !strings.Contains(cfg, "linux '/deb/vmlinuz' 'ks=http://192.0.2.1:8080/ks/52:54:00:00:a0:05?token=tok'") {
		t.Fatalf("grub/grub.cfg: %v\n%s", err, cfg)
	}
	// Events are written after the transfer ends: wait for the config's.
	joined := ""
	for i := 0; i < 50 && !strings.Contains(joined, "sent grub/grub.cfg ("); i++ {
		time.Sleep(50 * time.Millisecond)
		evs, err := f.store.Events(ctx, "52:54:00:00:a0:05", 0)
		if err != nil {
			t.Fatal(err)
		}
		var sent []string
		for _, e := range evs {
			if e.Kind == "tftp" {
				sent = append(sent, e.Detail)
			}
		}
		joined = strings.Join(sent, "\n")
	}
	for _, n := range []string{boot.FileShim, boot.FileGRUB, "grub/grub.cfg"} {
		if !strings.Contains(joined, "sent "+n+" (") {
			t.Errorf("timeline lacks %s:\n%s", n, joined)
		}
	}
	if strings.Contains(joined, "revocations") {
		t.Errorf("a missing optional file of shim is on the timeline:\n%s", joined)
	}
}

// TestLoaderStallHint: iPXE sent to a known host that then asks for nothing
// gets the Secure Boot hint on its timeline once the quiet time is over;
// a host whose loader fetches its next file does not.
func TestLoaderStallHint(t *testing.T) {
	base, root := newRoot(t)
	for _, n := range []string{boot.FileIPXEEFI, boot.FileShim, boot.FileGRUB} {
		if err := os.WriteFile(filepath.Join(root, n), []byte("loader"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	f := startServer(t, base, root, func(o *Options) { o.StallQuiet = time.Second })
	st := f.store
	ctx := context.Background()
	now := time.Now()
	if err := st.PutHost(ctx, &inventory.Host{MACs: []string{"52:54:00:00:a0:06"}, Hostname: "sb2", State: inventory.StateBuild}); err != nil {
		t.Fatal(err)
	}
	if err := st.SaveLeases(ctx, []inventory.Lease{{IP: "127.0.0.1", MAC: "52:54:00:00:a0:06", State: inventory.LeaseBound, Expires: now.Add(time.Hour), Updated: now}}); err != nil {
		t.Fatal(err)
	}
	dl := t.TempDir()
	if log, err := hpaGet(t, "127.0.0.1", f.addr.Port, boot.FileIPXEEFI, filepath.Join(dl, "x")); err != nil {
		t.Fatalf("%v: %s", err, log)
	}
	hint := ""
	for i := 0; i < 50 && hint == ""; i++ {
		time.Sleep(100 * time.Millisecond)
		evs, _ := st.Events(ctx, "52:54:00:00:a0:06", 0)
		for _, e := range evs {
			if e.Kind == boot.EventKindHint {
				hint = e.Detail
			}
		}
	}
	if !strings.Contains(hint, "a Secure Boot refusal is the usual cause; use the grub loader") {
		t.Fatalf("no Secure Boot hint on the timeline (got %q)", hint)
	}
	// shim, then GRUB within the quiet time: no hint.
	for _, n := range []string{boot.FileShim, boot.FileGRUB} {
		if log, err := hpaGet(t, "127.0.0.1", f.addr.Port, n, filepath.Join(dl, n)); err != nil {
			t.Fatalf("%v: %s", err, log)
		}
	}
	time.Sleep(2500 * time.Millisecond)
	evs, _ := st.Events(ctx, "52:54:00:00:a0:06", 0)
	hints := 0
	for _, e := range evs {
		if e.Kind == boot.EventKindHint {
			hints++
		}
	}
	if hints != 1 {
		t.Fatalf("want exactly the one hint for iPXE, got %d: %+v", hints, evs)
	}
}
