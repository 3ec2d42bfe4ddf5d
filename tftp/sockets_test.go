//go:build linux

package tftp

import (
	"encoding/binary"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// openSockets counts the sockets this process holds (fds linking to socket:[…]).
func openSockets(t *testing.T) int {
	t.Helper()
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, e := range ents {
		if l, err := os.Readlink(filepath.Join("/proc/self/fd", e.Name())); err == nil && strings.HasPrefix(l, "socket:") {
			n++
		}
	}
	return n
}

// TestTransferSocketsClosed: every transfer gets its own UDP socket, and each
// must be closed however the transfer ends (served, size probe, not found,
// client gone silent), or a server that runs for months runs out of fds.
func TestTransferSocketsClosed(t *testing.T) {
	base, root := newRoot(t)
	writeRandom(t, filepath.Join(root, "ipxe.efi"), 20000)
	f := startServer(t, base, root, func(o *Options) { o.Timeout = 100 * time.Millisecond; o.Retries = 2 })
	before := openSockets(t)

	for i := 0; i < 5; i++ {
		if res := rawFetch(t, f.addr, rrq(opRRQ, "ipxe.efi", "octet", "blksize", "1468")); res.errMsg != "" {
			t.Fatalf("fetch %d: %s", i, res.errMsg)
		}
		if res := rawFetch(t, f.addr, rrq(opRRQ, "missing", "octet")); res.errMsg == "" {
			t.Fatalf("fetch of a missing file %d: want an error", i)
		}
	}
	// Size probes (OACK, then ERROR 8) and clients that go silent after the
	// first packet, each from its own port (and address: silent clients hold
	// their slot, and one address has a share of four).
	for i := 0; i < 5; i++ {
		for _, probe := range []bool{true, false} {
			c, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, byte(10+i))})
			if err != nil {
				t.Fatal(err)
			}
			c.WriteToUDP(rrq(opRRQ, "ipxe.efi", "octet", "tsize", "0"), f.addr)
			buf := make([]byte, 2000)
			c.SetReadDeadline(time.Now().Add(5 * time.Second))
			n, from, err := c.ReadFromUDP(buf)
			if err != nil || binary.BigEndian.Uint16(buf) != opOACK {
				c.Close()
				t.Fatalf("want OACK, got %x %v", buf[:n], err)
			}
			if probe {
				c.WriteToUDP(append(binary.BigEndian.AppendUint16(binary.BigEndian.AppendUint16(nil, opERROR), 8), "probe\x00"...), from)
			}
			c.Close()
		}
	}
	waitFor(t, func() bool {
		m := f.srv.Metrics().Snapshot()
		return m.Active == 0 && m.Probes == 5 && m.Failed == 5
	})
	waitFor(t, func() bool { return openSockets(t) <= before })
	if m := f.srv.Metrics().Snapshot(); m.Served != 5 || m.NotFound != 5 {
		t.Fatalf("metrics %+v: want 5 served, 5 not found", m)
	}
}
