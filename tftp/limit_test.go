package tftp

import (
	"bufio"
	"context"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/netkick/netkick/inventory"
)

func TestMaxTransfersFor(t *testing.T) {
	const gib = 1 << 30
	cases := []struct {
		name        string
		nofile, mem uint64
		want        int
	}{
		{"neither known: the fallback", 0, 0, FallbackMaxTransfers},
		{"hard limit 20000, 24 GiB: descriptors bound it", 20000, 24 * gib, 4936},
		{"systemd's 524288, 8 GiB: memory bounds it", 524288, 8 * gib, 8192},
		{"systemd's 524288, 1 TiB: the ceiling", 524288, 1024 * gib, MaxMaxTransfers},
		{"hard limit 4096, plenty of memory", 4096, 64 * gib, 960},
		{"hard limit 1024: (1024-256)/4", 1024, 64 * gib, 192},
		{"hard limit 300: the floor", 300, 64 * gib, MinMaxTransfers},
		{"hard limit below the reserve: the floor", 100, 64 * gib, MinMaxTransfers},
		{"512 MiB cgroup: memory bounds it", 1 << 20, 512 << 20, 512},
		{"64 MiB: the floor", 1 << 20, 64 << 20, MinMaxTransfers},
		{"memory unknown: descriptors alone", 20000, 0, 4936},
		{"descriptors unknown: memory alone", 0, 2 * gib, 2048},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := MaxTransfersFor(c.nofile, c.mem); got != c.want {
				t.Fatalf("MaxTransfersFor(%d, %d) = %d, want %d", c.nofile, c.mem, got, c.want)
			}
		})
	}
}

func TestAdmitTransfer(t *testing.T) {
	cases := []struct {
		name          string
		running, max  int
		known, admits bool
	}{
		{"idle server, unknown client", 0, 1024, false, true},
		{"unknown client below three quarters", 767, 1024, false, true},
		{"unknown client at three quarters: refused", 768, 1024, false, false},
		{"known host at three quarters: admitted", 768, 1024, true, true},
		{"known host at the last slot", 1023, 1024, true, true},
		{"known host at the bound: refused", 1024, 1024, true, false},
		{"bound of 1: an unknown client may take it", 0, 1, false, true},
		{"bound of 1 taken", 1, 1, true, false},
		{"bound of 4: three for anyone", 2, 4, false, true},
		{"bound of 4: the fourth kept", 3, 4, false, false},
		{"bound of 4: the fourth for a known host", 3, 4, true, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := admitTransfer(c.running, c.max, c.known); got != c.admits {
				t.Fatalf("admitTransfer(%d, %d, known %v) = %v, want %v", c.running, c.max, c.known, got, c.admits)
			}
		})
	}
}

// knownAt names a host at one address only (the interface the server asks).
type knownAt string

func (k knownAt) HostIDByLease(_ context.Context, ip string) (string, error) {
	if ip == string(k) {
		return "52:54:00:00:00:09", nil
	}
	return "", inventory.ErrNotFound
}

// stallFrom starts a transfer from addr that is never acknowledged, and
// waits for its first packet (the transfer then holds its slot).
func stallFrom(t *testing.T, server *net.UDPAddr, addr string) {
	t.Helper()
	c, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.ParseIP(addr)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	c.WriteToUDP(rrq(opRRQ, "f", "octet"), server)
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	buf := make([]byte, 600)
	n, _, err := c.ReadFromUDP(buf)
	if err != nil {
		t.Fatal(err)
	}
	if buf[1] != opDATA {
		t.Fatalf("stalled client from %s: got %q, want block 1", addr, buf[4:n])
	}
}

// TestKnownHostsKeepTheirQuarter fills the slots open to any client with
// transfers from unknown addresses; a further unknown client is refused
// busy, a known host is still served.
func TestKnownHostsKeepTheirQuarter(t *testing.T) {
	base, root := newRoot(t)
	want := writeRandom(t, filepath.Join(root, "f"), 3000)
	f := startServer(t, base, root, func(o *Options) {
		o.MaxTransfers, o.MaxPerClient, o.Leases = 4, 4, knownAt("127.0.0.9")
		o.Timeout, o.Retries = time.Second, 2
	})
	for range 3 {
		stallFrom(t, f.addr, "127.0.0.2")
	}
	res := rawFetchFrom(t, "127.0.0.3", f.addr, rrq(opRRQ, "f", "octet"))
	if !strings.Contains(res.errMsg, "busy") {
		t.Fatalf("unknown client with 3 of 4 slots taken: got %q (%d bytes), want busy", res.errMsg, len(res.data))
	}
	res = rawFetchFrom(t, "127.0.0.9", f.addr, rrq(opRRQ, "f", "octet"))
	if res.errMsg != "" || sum(res.data) != want {
		t.Fatalf("known host with 3 of 4 slots taken: got %q, want the file", res.errMsg)
	}
	if m := f.srv.Metrics().Snapshot(); m.Busy != 1 {
		t.Fatalf("metrics %+v: want one busy answer", m)
	}
}

// TestTransferMemory holds 1,000 transfers open in a server process of its
// own (each client reads block 1 and never acknowledges it) and checks that
// the server's resident memory grew by at most MemPerTransfer a transfer,
// the figure MaxTransfersFor budgets with.
func TestTransferMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("1,000 held transfers skipped in -short mode")
	}
	const held = 1000
	_, root := newRoot(t)
	writeRandom(t, filepath.Join(root, "f"), 1<<20)
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), helperEnv+"="+root)
	cmd.Stderr = os.Stderr
	stdin, _ := cmd.StdinPipe()
	stdout, _ := cmd.StdoutPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { stdin.Close(); cmd.Process.Kill(); cmd.Wait() })
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil || !strings.HasPrefix(line, "ADDR ") {
		t.Fatalf("helper server did not start: %q %v", line, err)
	}
	server, err := net.ResolveUDPAddr("udp4", strings.TrimSpace(strings.TrimPrefix(line, "ADDR ")))
	if err != nil {
		t.Fatal(err)
	}
	// Warm up: one whole transfer, so the idle figure includes the code
	// and buffers every transfer shares.
	if res := rawFetch(t, server, rrq(opRRQ, "f", "octet", "blksize", "1468", "tsize", "0")); res.errMsg != "" {
		t.Fatalf("warm-up transfer: %s", res.errMsg)
	}
	time.Sleep(200 * time.Millisecond)
	idle := procKB(cmd.Process.Pid, "VmRSS")
	conns := make([]*net.UDPConn, 0, held)
	t.Cleanup(func() {
		for _, c := range conns {
			c.Close()
		}
	})
	for range held {
		c, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
		if err != nil {
			t.Fatal(err)
		}
		conns = append(conns, c)
		c.WriteToUDP(rrq(opRRQ, "f", "octet", "blksize", "1468", "tsize", "0"), server)
	}
	buf := make([]byte, 2000)
	for i, c := range conns {
		c.SetReadDeadline(time.Now().Add(10 * time.Second))
		n, from, err := c.ReadFromUDP(buf) // the OACK
		if err != nil {
			t.Fatalf("held transfer %d: no OACK: %v", i, err)
		}
		if buf[1] != opOACK {
			t.Fatalf("held transfer %d: got %q, want an OACK", i, buf[4:n])
		}
		c.WriteToUDP([]byte{0, opACK, 0, 0}, from) // ACK 0: block 1 comes, never acknowledged
	}
	for i, c := range conns {
		if _, _, err := c.ReadFromUDP(buf); err != nil || buf[1] != opDATA {
			t.Fatalf("held transfer %d: no block 1: %v", i, err)
		}
	}
	peak := procKB(cmd.Process.Pid, "VmRSS")
	per := (peak - idle) * 1024 / held
	t.Logf("server RSS idle %d KiB, with %d transfers held %d KiB: %d bytes a transfer (budget %d)", idle, held, peak, per, MemPerTransfer)
	if per > MemPerTransfer {
		t.Fatalf("%d bytes of resident memory a held transfer, over MemPerTransfer %d: raise it, or find what grew", per, MemPerTransfer)
	}
}
