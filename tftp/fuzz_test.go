package tftp

import (
	"bytes"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// FuzzRequest sends arbitrary datagrams to a running server, then checks that
// it still serves a real transfer, byte for byte: nothing a client sends may
// crash it, wedge it or leak its transfer slots.
func FuzzRequest(f *testing.F) {
	base, root := newRoot(f)
	want := make([]byte, 5000)
	for i := range want {
		want[i] = byte(i * 7)
	}
	if err := os.WriteFile(filepath.Join(root, "small.bin"), want, 0o644); err != nil {
		f.Fatal(err)
	}
	// Abandoned transfers (the fuzzer never ACKs) end within 0.2 s.
	fx := startServer(f, base, root, func(o *Options) { o.Timeout = 100 * time.Millisecond; o.Retries = 1 })
	for _, seed := range [][]byte{
		rrq(opRRQ, "small.bin", "octet"),
		rrq(opRRQ, "small.bin", "octet", "blksize", "1468", "tsize", "0"),
		rrq(opRRQ, "small.bin", "netascii", "blksize", "x", "tsize", "-1", "windowsize", "64"),
		rrq(opRRQ, "small.bin", "octet", "blksize", "99999999999999999999"),
		rrq(opRRQ, "../../etc/passwd", "octet"),
		rrq(opRRQ, "pxelinux.cfg/01-52-54-00-00-00-01", "octet"),
		rrq(opWRQ, "evil.bin", "octet"),
		{0, opDATA, 0, 1, 'x'},
		{0, opACK, 0, 0},
		{0, opERROR, 0, 8, 0},
		{0, opOACK, 'b', 0},
		{0, opRRQ},
		{0, opRRQ, 0, 0, 0},
		{},
		{0xff, 0xff},
		append([]byte{0, opRRQ}, bytes.Repeat([]byte("a"), 1500)...),
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, pkt []byte) {
		// From another loopback address than the check below: abandoned
		// transfers count against their sender's share, not the server's.
		c, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 2)})
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		if _, err := c.WriteToUDP(pkt, fx.addr); err != nil && len(pkt) < 65000 {
			t.Fatal(err)
		}
		// Take whatever the server answers (ERROR, OACK, DATA) and never reply.
		buf := make([]byte, 70000)
		c.SetReadDeadline(time.Now().Add(10 * time.Millisecond))
		c.ReadFromUDP(buf)

		res := rawFetch(t, fx.addr, rrq(opRRQ, "small.bin", "octet", "blksize", "1468", "tsize", "0"))
		if res.errMsg != "" || !bytes.Equal(res.data, want) {
			t.Fatalf("after %q the server no longer serves small.bin: error %d %q, %d bytes", pkt, res.errCode, res.errMsg, len(res.data))
		}
	})
}
