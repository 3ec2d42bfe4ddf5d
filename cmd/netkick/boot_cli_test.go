package main

import (
	"bytes"
	"context"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/netkick/netkick/internal/testenv"
)

// freeUDPPort returns a loopback UDP port that was free a moment ago.
func freeUDPPort(t *testing.T) int {
	t.Helper()
	c, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	return c.LocalAddr().(*net.UDPAddr).Port
}

// TestBootfilesAndServeTFTP fills a boot root from the Debian packages, then
// runs `netkick serve --demo --tftp` and fetches loaders and generated
// configs with tftp-hpa and over HTTP.
func TestBootfilesAndServeTFTP(t *testing.T) {
	for _, f := range []string{"/usr/lib/PXELINUX/pxelinux.0", "/usr/lib/syslinux/modules/bios/ldlinux.c32", "/usr/lib/ipxe/undionly.kpxe", "/usr/lib/ipxe/ipxe.efi",
		"/usr/lib/shim/shimx64.efi.signed", "/usr/lib/grub/x86_64-efi-signed/grubnetx64.efi.signed"} {
		testenv.RequireFile(t, f)
	}
	tftpBin := testenv.RequireProgram(t, "tftp")
	bin := buildNetkick(t)
	data := t.TempDir()
	out := run(t, bin, "bootfiles", "--data", data)
	if strings.Count(out, "found ") != 8 || !strings.Contains(out, "has all 8 PXE loaders") {
		t.Fatalf("bootfiles:\n%s", out)
	}
	want, _ := os.ReadFile("/usr/lib/PXELINUX/pxelinux.0")
	got, _ := os.ReadFile(filepath.Join(data, "boot", "pxelinux.0"))
	if !bytes.Equal(got, want) {
		t.Fatal("bootfiles: pxelinux.0 differs from the package's")
	}
	wantGRUB, _ := os.ReadFile("/usr/lib/grub/x86_64-efi-signed/grubnetx64.efi.signed")
	gotGRUB, _ := os.ReadFile(filepath.Join(data, "boot", "grubx64.efi"))
	if len(wantGRUB) == 0 || !bytes.Equal(gotGRUB, wantGRUB) {
		t.Fatal("bootfiles: grubx64.efi is not grub-efi-amd64-signed's grubnetx64.efi.signed")
	}

	port := freeUDPPort(t)
	base, _ := startServe(t, bin, data, "--demo", "--tftp", "127.0.0.1:"+strconv.Itoa(port))
	httpHost := strings.TrimPrefix(base, "http://")
	dl := t.TempDir()
	tftpGet := func(name string) []byte {
		t.Helper()
		local := filepath.Join(dl, strings.ReplaceAll(name, "/", "_"))
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if o, err := exec.CommandContext(ctx, tftpBin, "-m", "binary", "127.0.0.1", strconv.Itoa(port), "-c", "get", name, local).CombinedOutput(); err != nil || len(o) > 0 {
			t.Fatalf("tftp get %s: %v %s", name, err, o)
		}
		b, err := os.ReadFile(local)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	if !bytes.Equal(tftpGet("pxelinux.0"), want) {
		t.Fatal("pxelinux.0 over TFTP differs")
	}
	cfg := string(tftpGet("pxelinux.cfg/01-52-54-00-4e-4b-01"))
	if !strings.Contains(cfg, "KERNEL centos-5.3/vmlinuz") || !strings.Contains(cfg, "ks=http://"+httpHost+"/ks/52:54:00:4e:4b:01") {
		t.Fatalf("a01's pxelinux config over TFTP:\n%s", cfg)
	}
	if c := string(tftpGet("pxelinux.cfg/01-52-54-00-ff-ff-ff")); !strings.Contains(c, "LOCALBOOT 0") {
		t.Fatalf("unknown host's config:\n%s", c)
	}
	// The same tree over HTTP.
	code, body := get(t, base+"/boot/ldlinux.c32")
	ld, _ := os.ReadFile("/usr/lib/syslinux/modules/bios/ldlinux.c32")
	if code != 200 || body != string(ld) {
		t.Fatalf("/boot/ldlinux.c32: %d, %d bytes", code, len(body))
	}
	code, body = get(t, base+"/boot.ipxe?mac=52-54-00-4e-4b-01")
	if code != 200 || !strings.Contains(body, "kernel http://"+httpHost+"/boot/centos-5.3/vmlinuz") {
		t.Fatalf("/boot.ipxe: %d\n%s", code, body)
	}
	code, body = get(t, base+"/metrics")
	if code != 200 || !strings.Contains(body, `netkick_tftp_transfers_total{result="served"} 3`) {
		t.Fatalf("/metrics lacks the TFTP counters:\n%s", body)
	}
	// The config fetch is on a01's timeline.
	tok, _ := os.ReadFile(filepath.Join(data, "admin.token"))
	var events string
	for i := 0; i < 50; i++ {
		req, _ := http.NewRequest("GET", base+"/api/v1/hosts/a01/events", nil)
		req.Header.Set("Authorization", "Bearer "+strings.TrimSpace(string(tok)))
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var evb bytes.Buffer
		evb.ReadFrom(res.Body)
		res.Body.Close()
		// The config's event, not only the first tftp one: pxelinux.0's
		// (the requester by its lease) can be committed before it.
		if events = evb.String(); strings.Contains(events, "pxelinux.cfg/01-52-54-00-4e-4b-01") {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if !strings.Contains(events, `"kind":"tftp"`) || !strings.Contains(events, "pxelinux.cfg/01-52-54-00-4e-4b-01") {
		t.Fatalf("a01 events: %s", events)
	}
	// render shows the same decisions.
	if out := run(t, bin, "render", "pxelinux", "a01", "--data", data, "--public-url", "http://192.0.2.1:8080"); !strings.Contains(out, "ks=http://192.0.2.1:8080/ks/52:54:00:4e:4b:01") {
		t.Fatalf("render pxelinux a01:\n%s", out)
	}
	if out := run(t, bin, "render", "ipxe", "52:54:00:4e:4b:03", "--data", data, "--public-url", "http://192.0.2.1:8080"); !strings.Contains(out, "kernel http://192.0.2.1:8080/boot/rocky-9.4/vmlinuz") {
		t.Fatalf("render ipxe b01:\n%s", out)
	}
	// GRUB's per-MAC config over TFTP (EL grub2's first try), and render grub.
	if c := string(tftpGet("grub.cfg-01-52-54-00-4e-4b-01")); !strings.Contains(c, "linux '/centos-5.3/vmlinuz' 'ks=http://"+httpHost+"/ks/52:54:00:4e:4b:01") {
		t.Fatalf("a01's GRUB config over TFTP:\n%s", c)
	}
	if out := run(t, bin, "render", "grub", "a01", "--data", data, "--public-url", "http://192.0.2.1:8080"); !strings.Contains(out, "'ks=http://192.0.2.1:8080/ks/52:54:00:4e:4b:01") || !strings.Contains(out, "initrd '/centos-5.3/initrd.img'") {
		t.Fatalf("render grub a01:\n%s", out)
	}
}

// TestServeTFTPPortTaken: an explicit --tftp on a busy port stops serve with
// a message that says what to do.
func TestServeTFTPPortTaken(t *testing.T) {
	bin := buildNetkick(t)
	busy, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, bin, "serve", "--data", t.TempDir(), "--http", "127.0.0.1:0", "--tftp", busy.LocalAddr().String()).CombinedOutput()
	if err == nil || !strings.Contains(string(out), "already in use") || !strings.Contains(string(out), "--tftp") {
		t.Fatalf("want a clear 'already in use' error, got %v:\n%s", err, out)
	}
}
