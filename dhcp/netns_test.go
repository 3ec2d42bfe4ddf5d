package dhcp

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/netkick/netkick/internal/netnstest"
	"github.com/netkick/netkick/internal/testenv"
	"github.com/netkick/netkick/inventory"
)

var nsSeq atomic.Int32

// newNetns creates a network namespace with a unique name and its loopback up.
func newNetns(t *testing.T, role string) string {
	t.Helper()
	name := fmt.Sprintf("nkdhcp-%d-%d-%s", os.Getpid(), nsSeq.Add(1), role)
	sh(t, "ip", "netns", "add", name)
	t.Cleanup(func() { exec.Command("ip", "netns", "del", name).Run() })
	sh(t, "ip", "-n", name, "link", "set", "lo", "up")
	return name
}

// sh runs a command and fails the test with its output when it fails.
func sh(t *testing.T, args ...string) string {
	t.Helper()
	out, err := exec.Command(args[0], args[1:]...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// inNetns runs fn on an OS thread switched into the namespace; sockets fn
// opens stay in that namespace.
func inNetns(t *testing.T, ns string, fn func() error) error {
	t.Helper()
	return netnstest.In(ns, fn)
}

// link is a server namespace and a client namespace joined by a veth pair:
// "vs" (192.0.2.1/24) on the server side, "vc" (no address) on the client side.
type link struct {
	srv, cli string
	cliMAC   string
}

func requireNetns(t *testing.T) {
	t.Helper()
	testenv.RequireRoot(t)
	testenv.RequireProgram(t, "ip")
}

func newLink(t *testing.T) *link {
	t.Helper()
	requireNetns(t)
	l := &link{srv: newNetns(t, "srv"), cli: newNetns(t, "cli")}
	sh(t, "ip", "-n", l.srv, "link", "add", "vs", "type", "veth", "peer", "name", "vc", "netns", l.cli)
	sh(t, "ip", "-n", l.srv, "addr", "add", "192.0.2.1/24", "dev", "vs")
	sh(t, "ip", "-n", l.srv, "link", "set", "vs", "up")
	sh(t, "ip", "-n", l.cli, "link", "set", "vc", "up")
	l.cliMAC = macOf(t, l.cli, "vc")
	return l
}

func macOf(t *testing.T, ns, dev string) string {
	t.Helper()
	out := sh(t, "ip", "-n", ns, "-o", "link", "show", dev)
	i := strings.Index(out, "link/ether ")
	if i < 0 {
		t.Fatalf("no MAC in %q", out)
	}
	return strings.Fields(out[i+len("link/ether "):])[0]
}

func openStore(t *testing.T) *inventory.SQLite {
	t.Helper()
	st, err := inventory.OpenSQLite(filepath.Join(t.TempDir(), "inventory.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

func quietLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// startServer runs a server in ns until the test ends.
func startServer(t *testing.T, ns string, cfg Config, st Store) *Server {
	t.Helper()
	return startServerWith(t, ns, Options{Config: cfg, Store: st})
}

// startServerWith runs a server made from o (port 8080, a quiet logger and
// a 200 ms refresh unless o sets them) in ns until the test ends.
func startServerWith(t *testing.T, ns string, o Options) *Server {
	t.Helper()
	if o.HTTPPort == 0 {
		o.HTTPPort = 8080
	}
	if o.Logger == nil {
		o.Logger = quietLogger()
	}
	if o.RefreshEvery == 0 {
		o.RefreshEvery = 200 * time.Millisecond
	}
	ctx, cancel := context.WithCancel(context.Background())
	s, err := New(ctx, o)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	if err := inNetns(t, ns, s.Listen); err != nil {
		cancel()
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		if err := s.Serve(ctx); err != nil {
			t.Errorf("Serve: %v", err)
		}
	}()
	t.Cleanup(func() { cancel(); wg.Wait() })
	return s
}

func fullConfig(dev string, unknown string) Config {
	return Config{Interface: dev, Mode: ModeFull, Unknown: unknown, Subnets: []SubnetConfig{{
		CIDR: "192.0.2.0/24", Pools: []string{"192.0.2.100-192.0.2.200"}, Router: "192.0.2.1",
		DNS: []string{"192.0.2.1"}, Domain: "lab.example", Lease: "1h",
	}}}
}

// leaseOf returns the stored lease of mac, failing if it has none or several bound.
func leaseOf(t *testing.T, st *inventory.SQLite, mac string) inventory.Lease {
	t.Helper()
	ls, err := st.Leases(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var found []inventory.Lease
	for _, l := range ls {
		if l.MAC == mac {
			found = append(found, l)
		}
	}
	if len(found) != 1 {
		t.Fatalf("MAC %s has %d stored leases, want 1: %+v", mac, len(found), found)
	}
	return found[0]
}

func waitFile(t *testing.T, path, substr string, d time.Duration) string {
	t.Helper()
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		b, _ := os.ReadFile(path)
		if strings.Contains(string(b), substr) {
			return string(b)
		}
		time.Sleep(50 * time.Millisecond)
	}
	b, _ := os.ReadFile(path)
	t.Fatalf("%s never contained %q; it holds:\n%s", path, substr, b)
	return ""
}

func netipFrom(ip net.IP) (netip.Addr, bool) { return netip.AddrFromSlice(ip.To4()) }
