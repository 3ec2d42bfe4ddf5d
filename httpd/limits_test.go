package httpd

import (
	"io"
	"net"
	"net/http"
	"net/netip"
	"testing"
	"time"
)

// pipeConn is a net.Conn with a chosen peer address.
type pipeConn struct {
	net.Conn
	remote net.Addr
}

func (c pipeConn) RemoteAddr() net.Addr { return c.remote }

func conn(t *testing.T, ip string) net.Conn {
	t.Helper()
	a, b := net.Pipe()
	t.Cleanup(func() { a.Close(); b.Close() })
	return pipeConn{Conn: a, remote: &net.TCPAddr{IP: net.ParseIP(ip), Port: 40000}}
}

func closed(c net.Conn) bool {
	c.SetReadDeadline(time.Now().Add(10 * time.Millisecond))
	_, err := c.Read(make([]byte, 1))
	return err == io.ErrClosedPipe
}

// TestConnLimiter: the per-address share, the global cap, and eviction of
// the longest-waiting connection (never of one in a request).
func TestConnLimiter(t *testing.T) {
	l := newConnLimiter(4, 2)
	a1 := l.admit(conn(t, "192.0.2.66"))
	a2 := l.admit(conn(t, "192.0.2.66"))
	if a1 == nil || a2 == nil {
		t.Fatal("the first two connections of an address were refused")
	}
	if l.admit(conn(t, "192.0.2.66")) != nil {
		t.Fatal("a third connection from one address was admitted (share 2)")
	}
	b1 := l.admit(conn(t, "192.0.2.67"))
	l.connState(b1, http.StateActive) // in a request: not evictable
	b2 := l.admit(conn(t, "::ffff:192.0.2.67"))
	l.connState(a1, http.StateActive)
	l.connState(a1, http.StateIdle) // back to waiting, after a2
	// At the cap (4): a new client evicts the longest-waiting connection, a2.
	c1 := l.admit(conn(t, "192.0.2.10"))
	if c1 == nil || !closed(a2) || closed(a1) || closed(b1) {
		t.Fatalf("at the cap: admitted %v; a2 closed %v, a1 closed %v, b1 closed %v", c1 != nil, closed(a2), closed(a1), closed(b1))
	}
	if l.open != 4 || l.byAddr[mustAddr("192.0.2.66")] != 1 {
		t.Fatalf("open %d, 192.0.2.66 holds %d", l.open, l.byAddr[mustAddr("192.0.2.66")])
	}
	// Every connection busy: the new one is closed instead.
	for _, c := range []net.Conn{a1, b2, c1} {
		l.connState(c, http.StateActive)
	}
	if l.admit(conn(t, "192.0.2.11")) != nil {
		t.Fatal("admitted over the cap with every connection busy")
	}
	// Closing gives the slots back, once.
	b1.Close()
	b1.Close()
	if l.open != 3 || l.byAddr[mustAddr("192.0.2.67")] != 1 {
		t.Fatalf("after close: open %d, 192.0.2.67 holds %d", l.open, l.byAddr[mustAddr("192.0.2.67")])
	}
	if l.evicted.Load() != 1 || l.rejected.Load() != 2 {
		t.Fatalf("evicted %d rejected %d; want 1 and 2", l.evicted.Load(), l.rejected.Load())
	}
}

func mustAddr(s string) netip.Addr { return netip.MustParseAddr(s) }

func TestMaxConnsFromRlimit(t *testing.T) {
	n, hard := MaxConnsFromRlimit(1024)
	if hard == 0 {
		t.Skip("no RLIMIT_NOFILE here")
	}
	want := int(min(hard, 1<<20)) - 2*1024 - DefaultFDReserve
	if want < minConns {
		want = minConns
	}
	if n != want {
		t.Fatalf("MaxConnsFromRlimit(1024) = %d with a hard limit of %d; want %d", n, hard, want)
	}
	t.Logf("hard RLIMIT_NOFILE %d: HTTP connection cap %d beside 1024 TFTP slots", hard, n)
}
