package tftp

import (
	"bytes"
	"context"
	"encoding/binary"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/netkick/netkick/internal/testenv"
	"github.com/netkick/netkick/inventory"
	ptftp "github.com/pin/tftp/v3"
)

// hpaGet fetches name with tftp-hpa's client (RFC 1350, 512-byte blocks, no options).
func hpaGet(t *testing.T, addr string, port int, name, out string) (string, error) {
	t.Helper()
	bin := testenv.RequireProgram(t, "tftp")
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "-m", "binary", addr, strconv.Itoa(port), "-c", "get", name, out)
	b, err := cmd.CombinedOutput()
	return string(b), err
}

// atftpGet fetches name with atftp, asking for the given options ("blksize 1468", "tsize 0").
func atftpGet(t *testing.T, addr string, port int, name, out string, opts ...string) (string, error) {
	t.Helper()
	bin := testenv.RequireProgram(t, "atftp")
	args := []string{"--trace", "--get", "-r", name, "-l", out}
	for _, o := range opts {
		args = append(args, "--option", o)
	}
	args = append(args, addr, strconv.Itoa(port))
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	b, err := exec.CommandContext(ctx, bin, args...).CombinedOutput()
	return string(b), err
}

func TestRealClients(t *testing.T) {
	base, root := newRoot(t)
	files := map[string]string{
		"random-3m":        writeRandom(t, filepath.Join(root, "random-3m"), 3<<20+123),
		"exact-1468x100":   writeRandom(t, filepath.Join(root, "exact-1468x100"), 1468*100),
		"exact-512x100":    writeRandom(t, filepath.Join(root, "exact-512x100"), 512*100),
		"empty":            writeRandom(t, filepath.Join(root, "empty"), 0),
		"dir/nested-small": "",
	}
	os.MkdirAll(filepath.Join(root, "dir"), 0o755)
	files["dir/nested-small"] = writeRandom(t, filepath.Join(root, "dir", "nested-small"), 700)
	f := startServer(t, base, root, nil)
	out := t.TempDir()
	clients := []struct {
		name string
		get  func(name, local string) (string, error)
		// wantOACK: substrings atftp's trace must show (nil: no options asked).
		wantOACK []string
	}{
		{"tftp-hpa 512", func(n, l string) (string, error) { return hpaGet(t, "127.0.0.1", f.addr.Port, n, l) }, nil},
		{"atftp blksize 512", func(n, l string) (string, error) {
			return atftpGet(t, "127.0.0.1", f.addr.Port, n, l, "blksize 512")
		}, []string{"blksize: 512"}},
		{"atftp blksize 1468 tsize", func(n, l string) (string, error) {
			return atftpGet(t, "127.0.0.1", f.addr.Port, n, l, "blksize 1468", "tsize 0")
		}, []string{"blksize: 1468", "tsize:"}},
		{"atftp blksize 8192 capped at 1468", func(n, l string) (string, error) {
			return atftpGet(t, "127.0.0.1", f.addr.Port, n, l, "blksize 8192")
		}, []string{"blksize: 1468"}},
	}
	ran := 0
	for _, c := range clients {
		for name, want := range files {
			t.Run(c.name+"/"+name, func(t *testing.T) {
				local := filepath.Join(out, strings.NewReplacer("/", "_", " ", "_").Replace(c.name+"-"+name))
				log, err := c.get(name, local)
				if err != nil {
					t.Fatalf("fetch failed: %v\n%s", err, log)
				}
				if got := sumFile(t, local); got != want {
					t.Fatalf("checksum mismatch: got %s want %s\n%s", got, want, log)
				}
				ran++
				for _, s := range c.wantOACK {
					if !strings.Contains(log, "OACK") || !strings.Contains(log, s) {
						t.Fatalf("atftp trace lacks OACK %q:\n%s", s, lastLines(log, 15))
					}
				}
			})
		}
	}
	// A transfer gives its slot back (Active) before it is counted, so
	// wait for both: the counts settle just after the last slot is free.
	waitFor(t, func() bool { m := f.srv.Metrics().Snapshot(); return m.Active == 0 && m.Served+m.Failed >= int64(ran) })
	m := f.srv.Metrics().Snapshot()
	if m.Served != int64(ran) || m.Failed != 0 {
		t.Fatalf("metrics: %+v; want %d served, 0 failed", m, ran)
	}
}

func lastLines(s string, n int) string {
	l := strings.Split(strings.TrimSpace(s), "\n")
	if len(l) > n {
		l = l[len(l)-n:]
	}
	return strings.Join(l, "\n")
}

// TestTSizeAnswered asks for tsize with a Go client and checks the size it was told.
func TestTSizeAnswered(t *testing.T) {
	base, root := newRoot(t)
	want := writeRandom(t, filepath.Join(root, "f"), 100000)
	f := startServer(t, base, root, nil)
	c, err := ptftp.NewClient(f.addr.String())
	if err != nil {
		t.Fatal(err)
	}
	c.RequestTSize(true)
	c.SetBlockSize(1468)
	wt, err := c.Receive("f", "octet")
	if err != nil {
		t.Fatal(err)
	}
	size, ok := wt.(ptftp.IncomingTransfer).Size()
	if !ok || size != 100000 {
		t.Fatalf("tsize = %d, %v; want 100000", size, ok)
	}
	var b strings.Builder
	if _, err := wt.WriteTo(&b); err != nil {
		t.Fatal(err)
	}
	if sum([]byte(b.String())) != want {
		t.Fatal("checksum mismatch")
	}
}

// TestBlockNumberWrap sends a file of more than 65535 512-byte blocks
// (70,000 blocks) with tftp-hpa: block numbers wrap to 0 and continue.
func TestBlockNumberWrap(t *testing.T) {
	base, root := newRoot(t)
	const blocks = 70000
	want := writeRandom(t, filepath.Join(root, "big"), blocks*512+77)
	f := startServer(t, base, root, nil)
	local := filepath.Join(t.TempDir(), "big")
	if log, err := hpaGet(t, "127.0.0.1", f.addr.Port, "big", local); err != nil {
		t.Fatalf("tftp-hpa: %v\n%s", err, log)
	}
	if got := sumFile(t, local); got != want {
		t.Fatalf("checksum mismatch after %d blocks", blocks)
	}
	// The same with the packet-level client, counting DATA packets past the wrap.
	res := rawFetch(t, f.addr, rrq(opRRQ, "big", "octet"))
	if res.errMsg != "" || sum(res.data) != want || res.dataPkts != blocks+1 {
		t.Fatalf("raw fetch: err %q, %d packets (want %d), checksum ok=%v", res.errMsg, res.dataPkts, blocks+1, sum(res.data) == want)
	}
}

// TestUEFISizeProbe replays what UEFI PXE firmware does: RRQ with tsize,
// read the size from the OACK, answer ERROR 8, then RRQ again for the data.
func TestUEFISizeProbe(t *testing.T) {
	base, root := newRoot(t)
	want := writeRandom(t, filepath.Join(root, "ipxe.efi"), 200000)
	f := startServer(t, base, root, nil)
	c, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.WriteToUDP(rrq(opRRQ, "ipxe.efi", "octet", "tsize", "0", "blksize", "1468"), f.addr)
	buf := make([]byte, 2000)
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	n, from, err := c.ReadFromUDP(buf)
	if err != nil || binary.BigEndian.Uint16(buf) != opOACK {
		t.Fatalf("want OACK, got %x %v", buf[:n], err)
	}
	if !bytes.Contains(buf[:n], []byte("tsize\x00200000\x00")) || !bytes.Contains(buf[:n], []byte("blksize\x001468\x00")) {
		t.Fatalf("OACK lacks tsize 200000 / blksize 1468: %q", buf[:n])
	}
	// Error 8: "option negotiation refused" ends the probe.
	e := append(binary.BigEndian.AppendUint16(binary.BigEndian.AppendUint16(nil, opERROR), 8), "probe done\x00"...)
	c.WriteToUDP(e, from)
	res := rawFetch(t, f.addr, rrq(opRRQ, "ipxe.efi", "octet", "blksize", "1468"))
	if res.errMsg != "" || sum(res.data) != want || res.firstData != 1468 {
		t.Fatalf("second RRQ: err %q, first block %d bytes, checksum ok=%v", res.errMsg, res.firstData, sum(res.data) == want)
	}
	waitFor(t, func() bool { m := f.srv.Metrics().Snapshot(); return m.Probes == 1 && m.Served == 1 })
	if m := f.srv.Metrics().Snapshot(); m.Failed != 0 {
		t.Fatalf("a size probe must not count as a failure: %+v", m)
	}
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	for i := 0; i < 100; i++ {
		if cond() {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatal("condition not met within 5 s")
}

func TestOptionNames(t *testing.T) {
	base, root := newRoot(t)
	want := writeRandom(t, filepath.Join(root, "f"), 5000)
	f := startServer(t, base, root, nil)
	tests := []struct {
		name      string
		req       []byte
		oack      map[string]string // nil: no OACK expected
		firstData int
	}{
		{"no options: 512", rrq(opRRQ, "f", "octet"), nil, 512},
		{"blksize 1468 granted", rrq(opRRQ, "f", "octet", "blksize", "1468"), map[string]string{"blksize": "1468"}, 1468},
		{"blksize 65464 capped", rrq(opRRQ, "f", "octet", "blksize", "65464"), map[string]string{"blksize": "1468"}, 1468},
		{"blksize 1024 granted", rrq(opRRQ, "f", "octet", "blksize", "1024"), map[string]string{"blksize": "1024"}, 1024},
		{"tsize answered", rrq(opRRQ, "f", "octet", "tsize", "0"), map[string]string{"tsize": "5000"}, 512},
		{"unknown option dropped", rrq(opRRQ, "f", "octet", "windowsize", "8", "blksize", "1468"), map[string]string{"blksize": "1468"}, 1468},
		// The library matches option names case-sensitively: upper-case names
		// get a plain RFC 1350 transfer, which still works.
		{"upper-case option ignored", rrq(opRRQ, "f", "octet", "BLKSIZE", "1468"), nil, 512},
		{"mode is case-insensitive enough", rrq(opRRQ, "f", "OCTET"), nil, 512},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res := rawFetch(t, f.addr, tc.req)
			if res.errMsg != "" {
				t.Fatalf("error %d %q", res.errCode, res.errMsg)
			}
			if sum(res.data) != want {
				t.Fatal("checksum mismatch")
			}
			if res.firstData != tc.firstData {
				t.Fatalf("first block %d bytes, want %d", res.firstData, tc.firstData)
			}
			if len(res.oack) != len(tc.oack) {
				t.Fatalf("OACK %v, want %v", res.oack, tc.oack)
			}
			for k, v := range tc.oack {
				if res.oack[k] != v {
					t.Fatalf("OACK %v, want %v", res.oack, tc.oack)
				}
			}
		})
	}
}

func TestWriteRefused(t *testing.T) {
	base, root := newRoot(t)
	f := startServer(t, base, root, nil)
	src := filepath.Join(t.TempDir(), "up")
	os.WriteFile(src, []byte("upload"), 0o644)
	bin := testenv.RequireProgram(t, "tftp")
	out, _ := exec.Command(bin, "-m", "binary", "127.0.0.1", strconv.Itoa(f.addr.Port), "-c", "put", src, "uploaded").CombinedOutput()
	if !strings.Contains(string(out), "Error code") {
		t.Fatalf("tftp-hpa put: want a TFTP error, got %q", out)
	}
	if _, err := os.Stat(filepath.Join(root, "uploaded")); err == nil {
		t.Fatal("a write request created a file in the boot root")
	}
	res := rawFetch(t, f.addr, rrq(opWRQ, "uploaded", "octet"))
	if res.errMsg == "" {
		t.Fatal("WRQ: want an ERROR packet")
	}
}

// TestBusy holds the only transfer slot with a client that never ACKs; the
// next request gets a "busy" error at once, and the slot frees afterwards.
func TestBusy(t *testing.T) {
	base, root := newRoot(t)
	want := writeRandom(t, filepath.Join(root, "f"), 3000)
	f := startServer(t, base, root, func(o *Options) { o.MaxTransfers = 1; o.Timeout = 300 * time.Millisecond; o.Retries = 2 })
	stall, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer stall.Close()
	stall.WriteToUDP(rrq(opRRQ, "f", "octet"), f.addr)
	buf := make([]byte, 600)
	stall.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, _, err := stall.ReadFromUDP(buf); err != nil { // block 1 arrives; we never ACK
		t.Fatal(err)
	}
	res := rawFetch(t, f.addr, rrq(opRRQ, "f", "octet"))
	if !strings.Contains(res.errMsg, "busy") {
		t.Fatalf("second transfer: want a busy error, got %q (%d bytes)", res.errMsg, len(res.data))
	}
	waitFor(t, func() bool { return f.srv.Metrics().Snapshot().Active == 0 })
	res = rawFetch(t, f.addr, rrq(opRRQ, "f", "octet"))
	if res.errMsg != "" || sum(res.data) != want {
		t.Fatalf("after the stalled transfer timed out: err %q", res.errMsg)
	}
	waitFor(t, func() bool { m := f.srv.Metrics().Snapshot(); return m.Served == 1 && m.Failed >= 1 })
	m := f.srv.Metrics().Snapshot()
	if m.Busy != 1 || m.Failed != 1 || m.Served != 1 {
		t.Fatalf("metrics %+v: want busy 1, failed 1 (the stalled client), served 1", m)
	}
}

// hasEvent reports whether a "tftp" event's detail contains detail.
func hasEvent(ev []inventory.Event, detail string) bool {
	for _, e := range ev {
		if e.Kind == EventKind && strings.Contains(e.Detail, detail) {
			return true
		}
	}
	return false
}

// TestHostEvents checks that a known host's config fetch and the kernel it
// fetches next from the same address land on its timeline.
func TestHostEvents(t *testing.T) {
	base, root := newRoot(t)
	os.MkdirAll(filepath.Join(root, "centos-5.3"), 0o755)
	writeRandom(t, filepath.Join(root, "centos-5.3", "vmlinuz"), 4000)
	f := startServer(t, base, root, nil)
	ctx := context.Background()
	f.store.PutProfile(ctx, &inventory.Profile{Name: "centos-5.3", OS: "centos", Version: "5.3", Kernel: "centos-5.3/vmlinuz", Initrd: "centos-5.3/initrd.img"})
	if err := f.store.PutHost(ctx, &inventory.Host{MACs: []string{"52:54:00:00:a0:01"}, Hostname: "a01", Profile: "centos-5.3", State: inventory.StateBuild}); err != nil {
		t.Fatal(err)
	}
	res := rawFetch(t, f.addr, rrq(opRRQ, "pxelinux.cfg/01-52-54-00-00-a0-01", "octet"))
	if !strings.Contains(string(res.data), "ks=http://127.0.0.1:8080/ks/52:54:00:00:a0:01") {
		t.Fatalf("config: %q %q", res.data, res.errMsg)
	}
	if res := rawFetch(t, f.addr, rrq(opRRQ, "centos-5.3/vmlinuz", "octet")); res.errMsg != "" {
		t.Fatal(res.errMsg)
	}
	var ev []inventory.Event
	waitFor(t, func() bool { ev, _ = f.store.Events(ctx, "52:54:00:00:a0:01", 0); return len(ev) == 2 })
	// The event of a transfer is written once its last ACK is in, so the next
	// transfer can finish first on a busy machine: look for both, in any order.
	if !hasEvent(ev, "sent pxelinux.cfg/01-52-54-00-00-a0-01") || !hasEvent(ev, "sent centos-5.3/vmlinuz") {
		t.Fatalf("events: %+v", ev)
	}
	// A host in build mode whose profile is gone: the failure is on its timeline.
	f.store.UpdateHost(ctx, "a01", func(h *inventory.Host) error { h.Profile = "gone"; return nil })
	if res := rawFetch(t, f.addr, rrq(opRRQ, "pxelinux.cfg/01-52-54-00-00-a0-01", "octet")); res.errMsg == "" {
		t.Fatal("want an error for a build host without a profile")
	}
	waitFor(t, func() bool { ev, _ = f.store.Events(ctx, "52:54:00:00:a0:01", 0); return len(ev) == 3 })
	if !strings.Contains(ev[2].Detail, "profile \"gone\" does not exist") {
		t.Fatalf("failure event: %+v", ev[2])
	}
}

// TestLeaseEvents: a machine that holds its address by a DHCP lease gets the
// loader it fetches before any config (pxelinux.0) on its timeline; a
// machine without a lease does not, and nothing is attributed to anyone else.
func TestLeaseEvents(t *testing.T) {
	base, root := newRoot(t)
	writeRandom(t, filepath.Join(root, "pxelinux.0"), 3000)
	f := startServer(t, base, root, nil)
	ctx := context.Background()
	if err := f.store.PutHost(ctx, &inventory.Host{MACs: []string{"52:54:00:00:a0:02"}, Hostname: "a02", State: inventory.StateBuild}); err != nil {
		t.Fatal(err)
	}
	// No lease yet: the transfer is served but on no timeline. (The server
	// names the host once the transfer is over: wait for that.)
	if res := rawFetch(t, f.addr, rrq(opRRQ, "pxelinux.0", "octet")); res.errMsg != "" {
		t.Fatal(res.errMsg)
	}
	waitFor(t, func() bool { return f.srv.Metrics().Snapshot().Served == 1 })
	now := time.Now()
	if err := f.store.SaveLeases(ctx, []inventory.Lease{{IP: "127.0.0.1", MAC: "52:54:00:00:a0:02", State: inventory.LeaseBound, Expires: now.Add(time.Hour), Updated: now}}); err != nil {
		t.Fatal(err)
	}
	if res := rawFetch(t, f.addr, rrq(opRRQ, "pxelinux.0", "octet")); res.errMsg != "" {
		t.Fatal(res.errMsg)
	}
	var ev []inventory.Event
	waitFor(t, func() bool { ev, _ = f.store.Events(ctx, "52:54:00:00:a0:02", 0); return len(ev) >= 1 })
	time.Sleep(100 * time.Millisecond)
	ev, _ = f.store.Events(ctx, "52:54:00:00:a0:02", 0)
	if len(ev) != 1 || ev[0].Kind != "tftp" || !strings.HasPrefix(ev[0].Detail, "sent pxelinux.0 (3000 bytes") {
		t.Fatalf("want one tftp event for the leased address's transfer, got %+v", ev)
	}
}
