package main

import (
	"context"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/netkick/netkick/internal/pgtest"
	"github.com/netkick/netkick/internal/testenv"
	"github.com/netkick/netkick/inventory"
)

// TestServeThroughPostgresOutage: a `netkick serve` on PostgreSQL (TFTP and
// HTTP on loopback, tokens bound to the host's address) serves a known host
// whose address is a lease; the database is stopped; its pxelinux config,
// its GRUB config looked up by its leased address (TFTP) and its iPXE
// script (HTTP) are still served byte for byte as before, with the token;
// a known machine never read is served from the warm copy of every host,
// an unknown one gets an error, not a local-boot guess; the first
// kickstart fetch, which must be recorded, gets 503 + Retry-After; after the
// database is back writes work again and the kickstart is served.
func TestServeThroughPostgresOutage(t *testing.T) {
	tftpBin := testenv.RequireProgram(t, "tftp")
	srv := pgtest.Start(t)
	url := srv.NewDatabase(t)
	bin := buildNetkick(t)
	data := t.TempDir()
	port := freeUDPPort(t)
	logPath := filepath.Join(t.TempDir(), "serve.log")
	base := startServeLogged(t, bin, logPath, "serve", "--data", data, "--http", "127.0.0.1:0", "--store", url, "--tftp", "127.0.0.1:"+strconv.Itoa(port), "--token-binding", "address")
	t.Cleanup(func() {
		if t.Failed() {
			b, _ := os.ReadFile(logPath)
			t.Logf("netkick serve's log:\n%s", b)
		}
	})
	tok := filepath.Join(data, "admin.token")
	const mac, unknown = "52:54:00:aa:0f:01", "52:54:00:aa:0f:99"
	run(t, bin, "profile", "add", "centos-7.9", "--os", "centos", "--version", "7.9", "--kernel", "centos-7.9/vmlinuz", "--initrd", "centos-7.9/initrd.img", "--server", base, "--token-file", tok)
	run(t, bin, "host", "add", mac, "--hostname", "web1", "--profile", "centos-7.9", "--server", base, "--token-file", tok)
	run(t, bin, "host", "build", "web1", "--server", base, "--token-file", tok)
	// web3 is in build mode too but asks for nothing before the outage:
	// the server's warm copy of every host has it.
	const unread = "52:54:00:aa:0f:03"
	run(t, bin, "host", "add", unread, "--hostname", "web3", "--profile", "centos-7.9", "--server", base, "--token-file", tok)
	run(t, bin, "host", "build", "web3", "--server", base, "--token-file", tok)
	// The host's address is its DHCP lease (no reservation): 127.0.0.1, the
	// address its requests come from.
	ctx := context.Background()
	st, err := inventory.OpenPostgres(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	err = st.SaveLeases(ctx, []inventory.Lease{{IP: "127.0.0.1", MAC: mac, State: inventory.LeaseBound, Expires: now.Add(time.Hour), Updated: now}})
	st.Close()
	if err != nil {
		t.Fatal(err)
	}

	dl := t.TempDir()
	tftpGet := func(name string) ([]byte, error) {
		local := filepath.Join(dl, strings.ReplaceAll(name, "/", "_"))
		os.Remove(local)
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		o, err := exec.CommandContext(ctx, tftpBin, "-m", "binary", "127.0.0.1", strconv.Itoa(port), "-c", "get", name, local).CombinedOutput()
		if err == nil && len(o) > 0 { // tftp-hpa exits 0 on a TFTP error and says it
			err = &exec.ExitError{}
		}
		if err != nil {
			return nil, &tftpError{name: name, out: string(o)}
		}
		return os.ReadFile(local)
	}
	httpGet := func(path string) (int, http.Header, []byte) {
		t.Helper()
		resp, err := http.Get(base + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, resp.Header, b
	}
	pxe := "pxelinux.cfg/01-" + strings.ReplaceAll(mac, ":", "-")
	grub := "grub.cfg-7F000001" // GRUB's try by the requester's address
	ipxe := "/boot.ipxe?mac=" + mac

	before := map[string][]byte{}
	for _, name := range []string{pxe, grub} {
		b, err := tftpGet(name)
		if err != nil {
			t.Fatalf("before the outage: %v", err)
		}
		if !strings.Contains(string(b), "/ks/"+mac+"?token=") {
			t.Fatalf("before the outage, %s carries no kickstart URL with the token:\n%s", name, b)
		}
		before[name] = b
	}
	code, _, b := httpGet(ipxe)
	if code != 200 || !strings.Contains(string(b), "token=") {
		t.Fatalf("before the outage, boot.ipxe: %d\n%s", code, b)
	}
	before[ipxe] = b
	m := regexp.MustCompile(`/ks/` + regexp.QuoteMeta(mac) + `\?token=([A-Za-z0-9_-]+)`).FindStringSubmatch(string(before[pxe]))
	if m == nil {
		t.Fatalf("no token in %s:\n%s", pxe, before[pxe])
	}
	ks := "/ks/" + mac + "?token=" + m[1]

	// The warm copy is refreshed every few seconds: let one refresh pass
	// after the last write.
	time.Sleep(warmEvery + time.Second)
	srv.Stop(t)
	down := true
	t.Cleanup(func() {
		if down {
			srv.Restart(t)
		}
	})
	if code, _, b := httpGet("/healthz"); code != http.StatusServiceUnavailable || !strings.HasPrefix(string(b), "degraded") {
		t.Errorf("/healthz during the outage: %d %s", code, b)
	}
	for _, name := range []string{pxe, grub} {
		b, err := tftpGet(name)
		if err != nil || string(b) != string(before[name]) {
			t.Errorf("%s during the outage: %v\n%s\nwant byte-identical to before:\n%s", name, err, b, before[name])
		}
	}
	if code, _, b := httpGet(ipxe); code != 200 || string(b) != string(before[ipxe]) {
		t.Errorf("boot.ipxe during the outage: %d\n%s\nwant byte-identical to before:\n%s", code, b, before[ipxe])
	}
	// Never read but known: its install entry, from the warm copy; the
	// token is withheld, as its address (a lease it does not hold yet)
	// cannot be checked while the database is down.
	if b, err := tftpGet("pxelinux.cfg/01-" + strings.ReplaceAll(unread, ":", "-")); err != nil ||
		!strings.Contains(string(b), "host web3") || !strings.Contains(string(b), "/ks/"+unread) || strings.Contains(string(b), "token=") {
		t.Errorf("pxelinux config of a known host never read, during the outage: %v\n%s\nwant its install entry from the warm copy, token withheld", err, b)
	}
	// Unknown: an error, never the local-boot config an unknown MAC gets.
	if b, err := tftpGet("pxelinux.cfg/01-" + strings.ReplaceAll(unknown, ":", "-")); err == nil {
		t.Errorf("unknown MAC's pxelinux config during the outage was served (a guess):\n%s", b)
	}
	if code, _, b := httpGet("/boot.ipxe?mac=" + unknown); code < 500 {
		t.Errorf("unknown MAC's boot.ipxe during the outage: %d %s; want a 5xx naming the store", code, b)
	}
	code, hdr, b := httpGet(ks)
	if code != http.StatusServiceUnavailable || hdr.Get("Retry-After") == "" || !strings.Contains(string(b), "store is unreachable") {
		t.Errorf("first kickstart fetch during the outage: %d Retry-After=%q %s; want 503 with Retry-After", code, hdr.Get("Retry-After"), b)
	}
	if b, _ := os.ReadFile(logPath); !strings.Contains(string(b), "kickstart of "+mac+" not served: the inventory store is unreachable") {
		t.Errorf("the server log does not say why the kickstart was refused")
	}
	if code, hdr, b := httpGet("/ks/" + unknown + "?token=0123"); code != http.StatusServiceUnavailable || hdr.Get("Retry-After") == "" {
		t.Errorf("kickstart of a host never read, during the outage: %d Retry-After=%q %s; want 503 (neither a 404 nor a 403 that the outage caused)", code, hdr.Get("Retry-After"), b)
	}

	srv.Restart(t)
	down = false
	deadline := time.Now().Add(20 * time.Second)
	for {
		out, err := exec.Command(bin, "host", "add", "52:54:00:aa:0f:02", "--hostname", "web2", "--profile", "centos-7.9", "--server", base, "--token-file", tok).CombinedOutput()
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("write after the database restarted: %v\n%s", err, out)
		}
		time.Sleep(200 * time.Millisecond)
	}
	if code, _, b := httpGet(ks); code != 200 || !strings.Contains(string(b), "web1") {
		t.Errorf("kickstart after the database restarted: %d\n%s", code, b)
	}
	if code, _, b := httpGet("/healthz"); code != 200 {
		t.Errorf("/healthz after the restart: %d %s", code, b)
	}
}

// tftpError is a failed tftp-hpa get, with what it printed.
type tftpError struct{ name, out string }

func (e *tftpError) Error() string { return "tftp get " + e.name + ": " + strings.TrimSpace(e.out) }

// startServeLogged starts netkick with args, its stderr into logPath (read
// back on failure), stopped in t.Cleanup, and returns its HTTP base URL.
func startServeLogged(t *testing.T, bin, logPath string, args ...string) string {
	t.Helper()
	f, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = f, f
	if err := cmd.Start(); err != nil {
		f.Close()
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	stopAtCleanup(t, cmd)
	re := regexp.MustCompile(`serving HTTP on (\S+)`)
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		b, _ := os.ReadFile(logPath)
		if m := re.FindSubmatch(b); m != nil {
			return "http://" + string(m[1])
		}
	}
	b, _ := os.ReadFile(logPath)
	t.Fatalf("netkick %s did not start:\n%s", strings.Join(args, " "), b)
	return ""
}
