package tftp

import (
	"context"
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/netkick/netkick/inventory"
)

// TestPerClientShare: one address holding its share of stalled transfers
// gets an error for the next RRQ, while another address is served; once
// the stalled transfers time out the address is served again.
func TestPerClientShare(t *testing.T) {
	base, root := newRoot(t)
	want := writeRandom(t, filepath.Join(root, "f"), 3000)
	f := startServer(t, base, root, func(o *Options) { o.MaxPerClient = 2; o.Timeout = 300 * time.Millisecond; o.Retries = 2 })
	stall := func() *net.UDPConn {
		c, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 2)})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		c.WriteToUDP(rrq(opRRQ, "f", "octet"), f.addr)
		return c
	}
	for range 2 {
		c := stall()
		c.SetReadDeadline(time.Now().Add(5 * time.Second))
		if _, _, err := c.ReadFromUDP(make([]byte, 600)); err != nil { // block 1; never ACKed
			t.Fatal(err)
		}
	}
	c := stall()
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	buf := make([]byte, 600)
	n, _, err := c.ReadFromUDP(buf)
	if err != nil || n < 4 || buf[1] != opERROR || !strings.Contains(string(buf[4:n]), "too many transfers from your address") {
		t.Fatalf("third RRQ from 127.0.0.2: %q %v; want the share error", buf[:n], err)
	}
	if res := rawFetch(t, f.addr, rrq(opRRQ, "f", "octet")); res.errMsg != "" || sum(res.data) != want {
		t.Fatalf("127.0.0.1 while 127.0.0.2 is over its share: %q", res.errMsg)
	}
	// Slots are given back before the transfer is counted: wait for both.
	waitFor(t, func() bool { m := f.srv.Metrics().Snapshot(); return m.Active == 0 && m.Served >= 1 })
	f.srv.share.mu.Lock()
	left := len(f.srv.share.n)
	f.srv.share.mu.Unlock()
	if left != 0 {
		t.Fatalf("%d addresses still counted after every transfer ended", left)
	}
	if m := f.srv.Metrics().Snapshot(); m.OverShare != 1 || m.Served != 1 {
		t.Fatalf("metrics %+v: want 1 over share, 1 served", m)
	}
}

// stuckEvents holds every timeline write until released, as a store busy
// with a long commit would.
type stuckEvents struct {
	entered chan struct{}
	release chan struct{}
}

func (s stuckEvents) AddEvent(ctx context.Context, e inventory.Event) error {
	s.entered <- struct{}{}
	<-s.release
	return nil
}

type oneHost struct{}

func (oneHost) HostIDByLease(context.Context, string) (string, error) {
	return "52:54:00:00:00:01", nil
}

// TestShareFreedBeforeBookkeeping: a finished transfer gives its share back
// before its timeline event is written, so a loader asking for its next file
// at once is served even while the store is slow.
func TestShareFreedBeforeBookkeeping(t *testing.T) {
	base, root := newRoot(t)
	want := writeRandom(t, filepath.Join(root, "f"), 3000)
	ev := stuckEvents{entered: make(chan struct{}, 4), release: make(chan struct{})}
	f := startServer(t, base, root, func(o *Options) {
		o.MaxPerClient, o.Events, o.Leases, o.Timeline = 1, ev, oneHost{}, nil
	})
	defer close(ev.release)
	if res := rawFetch(t, f.addr, rrq(opRRQ, "f", "octet")); res.errMsg != "" || sum(res.data) != want {
		t.Fatalf("first fetch: %q", res.errMsg)
	}
	select {
	case <-ev.entered: // the first transfer's handler now waits in its event
	case <-time.After(5 * time.Second):
		t.Fatal("the transfer of a known host wrote no event")
	}
	if res := rawFetch(t, f.addr, rrq(opRRQ, "f", "octet")); res.errMsg != "" || sum(res.data) != want {
		t.Fatalf("next file while the first one's event is being written: %q, want it served (share 1)", res.errMsg)
	}
}
