package dhcp

import (
	"context"
	"encoding/binary"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/insomniacslk/dhcp/dhcpv4"
	"github.com/netkick/netkick/internal/testenv"
	"github.com/netkick/netkick/inventory"
	"golang.org/x/sys/unix"
)

// buildNetkick compiles cmd/netkick into dir.
func buildNetkick(t *testing.T, dir string) string {
	t.Helper()
	goBin := testenv.RequireProgram(t, "go")
	bin := filepath.Join(dir, "netkick")
	cmd := exec.Command(goBin, "build", "-o", bin, "../cmd/netkick")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build netkick: %v\n%s", err, out)
	}
	return bin
}

// startNetkick runs `netkick serve` inside ns and waits until DHCP serves.
func startNetkick(t *testing.T, ns, bin, cfg, logPath string) *exec.Cmd {
	t.Helper()
	logf, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("ip", "netns", "exec", ns, bin, "serve", "--config", cfg)
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait(); logf.Close() })
	deadline := time.Now().Add(30 * time.Second)
	for {
		b, _ := os.ReadFile(logPath)
		if strings.Count(string(b), "DHCP serving") > 0 && strings.Count(string(b), "HTTP listening") >= strings.Count(string(b), "DHCP serving") {
			return cmd
		}
		if time.Now().After(deadline) {
			t.Fatalf("netkick did not start serving DHCP:\n%s", b)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// ackCapture records every DHCPACK seen on an interface (AF_PACKET), so the
// test knows what the server promised independently of the server.
type ackCapture struct {
	fd   int
	mu   sync.Mutex
	acks map[string]string // MAC → last ACKed address
	// byIP are the MACs each address was ACKed to.
	byIP map[string]map[string]bool
	n    int
	done chan struct{}
}

func captureACKs(t *testing.T, ns, dev string) *ackCapture {
	t.Helper()
	c := &ackCapture{acks: map[string]string{}, byIP: map[string]map[string]bool{}, done: make(chan struct{})}
	err := inNetns(t, ns, func() error {
		ifi, err := net.InterfaceByName(dev)
		if err != nil {
			return err
		}
		proto := int(htons(unix.ETH_P_IP))
		fd, err := unix.Socket(unix.AF_PACKET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, proto)
		if err != nil {
			return err
		}
		unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_RCVBUF, 8<<20)
		if err := unix.Bind(fd, &unix.SockaddrLinklayer{Protocol: htons(unix.ETH_P_IP), Ifindex: ifi.Index}); err != nil {
			unix.Close(fd)
			return err
		}
		tv := unix.Timeval{Usec: 200000}
		unix.SetsockoptTimeval(fd, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &tv)
		c.fd = fd
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	go c.loop()
	return c
}

func htons(v uint16) uint16 { return v<<8 | v>>8 }

func (c *ackCapture) loop() {
	buf := make([]byte, 2048)
	for {
		select {
		case <-c.done:
			unix.Close(c.fd)
			return
		default:
		}
		n, _, err := unix.Recvfrom(c.fd, buf, 0)
		if err != nil || n < 28 || buf[9] != unix.IPPROTO_UDP {
			continue
		}
		ihl := int(buf[0]&0x0f) * 4
		if n < ihl+8 {
			continue
		}
		sport := binary.BigEndian.Uint16(buf[ihl:])
		if sport != 67 {
			continue
		}
		m, err := dhcpv4.FromBytes(buf[ihl+8 : n])
		if err != nil || m.MessageType() != dhcpv4.MessageTypeAck || m.OpCode != dhcpv4.OpcodeBootReply {
			continue
		}
		c.mu.Lock()
		mac, ip := m.ClientHWAddr.String(), m.YourIPAddr.String()
		c.acks[mac] = ip
		if c.byIP[ip] == nil {
			c.byIP[ip] = map[string]bool{}
		}
		c.byIP[ip][mac] = true
		c.n++
		c.mu.Unlock()
	}
}

func (c *ackCapture) stop() map[string]string {
	close(c.done)
	time.Sleep(300 * time.Millisecond)
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.acks
}

var nonUniqueRE = regexp.MustCompile(`non unique addresses: (\d+)`)

// TestLeasesSurviveKill9 loads the built netkick with perfdhcp, kills it with
// SIGKILL mid-run, and checks that every ACK seen on the wire is in the store,
// held by the same MAC, with no address held twice; the restarted server
// offers each client its address again.
func TestLeasesSurviveKill9(t *testing.T) {
	perfdhcp := testenv.RequireProgram(t, "perfdhcp")
	l := newLink(t)
	sh(t, "ip", "-n", l.srv, "addr", "add", "198.18.0.1/16", "dev", "vs")
	sh(t, "ip", "-n", l.cli, "addr", "add", "198.18.0.2/16", "dev", "vc")
	dir := t.TempDir()
	bin := buildNetkick(t, dir)
	data := filepath.Join(dir, "data")
	cfg := filepath.Join(dir, "netkick.yaml")
	os.WriteFile(cfg, []byte(`http: "127.0.0.1:18080"
tftp: "off"
data: `+data+`
dhcp:
  interface: vs
  mode: full
  unknown: pool
  relays: ["198.18.0.2"] # perfdhcp sends as a relay agent
  subnets:
    - cidr: 198.18.0.0/16
      pools: ["198.18.1.0-198.18.255.254"]
      router: 198.18.0.1
      lease: 1h
`), 0o644)
	logPath := filepath.Join(dir, "netkick.log")
	srv := startNetkick(t, l.srv, bin, cfg, logPath)
	capt := captureACKs(t, l.cli, "vc")

	perf := exec.Command("ip", "netns", "exec", l.cli, perfdhcp, "-4", "-l", "vc", "-r", "300", "-R", "5000", "-p", "6", "198.18.0.1")
	var perfOut strings.Builder
	perf.Stdout, perf.Stderr = &perfOut, &perfOut
	if err := perf.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { perf.Process.Kill(); perf.Wait() })
	time.Sleep(2500 * time.Millisecond)
	if err := srv.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	srv.Wait()
	killedAt := time.Now()
	perf.Wait() // perfdhcp exits non-zero when packets were dropped, which they were
	acks := capt.stop()
	out := perfOut.String()
	t.Logf("ACKs seen before and after the kill: %d (distinct MACs %d)", capt.n, len(acks))
	if len(acks) < 50 {
		t.Fatalf("only %d ACKs before the kill: the load proved nothing\nperfdhcp:\n%s\nnetkick log:\n%s", len(acks), out, readFile(logPath))
	}
	for _, m := range nonUniqueRE.FindAllStringSubmatch(out, -1) {
		if m[1] != "0" {
			t.Errorf("perfdhcp saw %s non-unique addresses", m[1])
		}
	}
	if len(nonUniqueRE.FindAllStringSubmatch(out, -1)) == 0 {
		t.Errorf("perfdhcp printed no statistics:\n%s", out)
	}

	st, err := inventory.OpenSQLite(filepath.Join(data, "inventory.db"))
	if err != nil {
		t.Fatalf("store after kill -9: %v", err)
	}
	leases, err := st.Leases(context.Background())
	st.Close()
	if err != nil {
		t.Fatal(err)
	}
	byIP := map[string]inventory.Lease{}
	boundByMAC := map[string][]string{}
	for _, le := range leases {
		byIP[le.IP] = le
		if le.State == inventory.LeaseBound && le.Expires.After(killedAt) {
			boundByMAC[le.MAC] = append(boundByMAC[le.MAC], le.IP)
		}
	}
	for mac, ips := range boundByMAC {
		if len(ips) > 1 {
			t.Errorf("MAC %s holds %d addresses: %v", mac, len(ips), ips)
		}
	}
	lost := 0
	for mac, ip := range acks {
		le, ok := byIP[ip]
		if !ok || le.MAC != mac || le.State != inventory.LeaseBound || !le.Expires.After(killedAt) {
			lost++
			if lost <= 5 {
				t.Errorf("ACKed %s → %s, store has %+v (present %v)", mac, ip, le, ok)
			}
		}
	}
	if lost > 0 {
		t.Fatalf("%d of %d ACKed leases are not in the store after kill -9", lost, len(acks))
	}

	// The restarted server serves the same data and honours the leases.
	startNetkick(t, l.srv, bin, cfg, logPath)
	checked := 0
	for mac, ip := range acks {
		hw, _ := net.ParseMAC(mac)
		c := newClient(t, l.cli, "vc", hw)
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		offer, err := c.DiscoverOffer(ctx)
		cancel()
		if err != nil {
			t.Fatalf("restarted server, DISCOVER from %s: %v", mac, err)
		}
		if got := offer.YourIPAddr.String(); got != ip {
			t.Errorf("restarted server offered %s to %s, which holds %s", got, mac, ip)
		}
		if checked++; checked == 5 {
			break
		}
	}
	// The restarted server's counters reach httpd's /metrics.
	metrics := sh(t, "ip", "netns", "exec", l.srv, "curl", "-sS", "--fail", "http://127.0.0.1:18080/metrics")
	for _, want := range []string{`netkick_dhcp_packets_total{outcome="offer",type="discover"} 5`, `netkick_dhcp_pool_addresses{subnet="198.18.0.0/16"} 65279`, "netkick_dhcp_reply_seconds_count 5"} {
		if !strings.Contains(metrics, want) {
			t.Errorf("/metrics lacks %q:\n%s", want, metrics)
		}
	}
}

func readFile(p string) string {
	b, _ := os.ReadFile(p)
	return string(b)
}
