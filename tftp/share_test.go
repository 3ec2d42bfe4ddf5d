package tftp

import (
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"
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
	waitFor(t, func() bool { return f.srv.Metrics().Snapshot().Active == 0 })
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
