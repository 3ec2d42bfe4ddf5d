//go:build linux

package neigh

import (
	"context"
	"net/netip"
	"testing"
	"time"

	"github.com/netkick/netkick/internal/netnstest"
)

// TestLookupInNetns reads a real neighbour table: a server namespace joined
// to a client namespace by a veth pair, and a routed subnet behind the client.
func TestLookupInNetns(t *testing.T) {
	netnstest.Require(t)
	srv, cli := netnstest.New(t, "nsrv"), netnstest.New(t, "ncli")
	const cliMAC = "02:00:00:00:a0:01"
	netnstest.Veth(t, srv, "nk0", "192.0.2.1/24", "", cli, "nk1", "192.0.2.10/24", cliMAC)
	netnstest.Sh(t, "ip", "-n", srv, "route", "add", "198.51.100.0/24", "via", "192.0.2.10")
	var tab *Table
	if err := netnstest.In(srv, func() (err error) { tab, err = Open(Options{ResolveWait: 500 * time.Millisecond}); return }); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tab.Close() })
	ctx := context.Background()
	ip := netip.MustParseAddr

	// No entry yet: Lookup makes the kernel resolve the client.
	start := time.Now()
	e, err := tab.Lookup(ctx, ip("192.0.2.10"))
	if err != nil || !e.Attached || e.MAC != cliMAC {
		t.Fatalf("unresolved client: %+v, %v; want attached at %s", e, err, cliMAC)
	}
	t.Logf("resolved in %s", time.Since(start))
	// v4-mapped spelling, as net/http reports IPv4 clients on a dual-stack socket.
	if e, err := tab.Lookup(ctx, ip("::ffff:192.0.2.10")); err != nil || e.MAC != cliMAC {
		t.Fatalf("mapped address: %+v, %v", e, err)
	}
	// Nobody there: attached, no MAC, within the bound.
	start = time.Now()
	if e, err := tab.Lookup(ctx, ip("192.0.2.99")); err != nil || !e.Attached || e.MAC != "" {
		t.Fatalf("absent address: %+v, %v; want attached without MAC", e, err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("absent address took %s", d)
	}
	// Behind a gateway: not attached, the neighbour table says nothing about it.
	if e, err := tab.Lookup(ctx, ip("198.51.100.7")); err != nil || e.Attached {
		t.Fatalf("routed address: %+v, %v; want not attached", e, err)
	}
	// The server's own address and loopback are not attached neighbours.
	for _, a := range []string{"192.0.2.1", "127.0.0.1"} {
		if e, err := tab.Lookup(ctx, ip(a)); err != nil || e.Attached {
			t.Fatalf("local %s: %+v, %v; want not attached", a, e, err)
		}
	}
	// What the table says is what Lookup says: a poisoned entry shows the attacker.
	netnstest.Sh(t, "ip", "-n", srv, "neigh", "replace", "192.0.2.10", "lladdr", "02:00:00:00:66:66", "dev", "nk0", "nud", "permanent")
	if e, err := tab.Lookup(ctx, ip("192.0.2.10")); err != nil || e.MAC != "02:00:00:00:66:66" {
		t.Fatalf("replaced entry: %+v, %v", e, err)
	}
	// Unreachable: no route at all.
	if e, err := tab.Lookup(ctx, ip("203.0.113.9")); err != nil || e.Attached {
		t.Fatalf("unroutable: %+v, %v", e, err)
	}
}
