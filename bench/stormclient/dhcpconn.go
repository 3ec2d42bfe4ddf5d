package main

import (
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/insomniacslk/dhcp/dhcpv4/nclient4"
	"golang.org/x/net/bpf"
	"golang.org/x/sys/unix"
)

// dhcpMux shares one raw socket (UDP port 68, as firmware sends from
// 0.0.0.0) among every simulated machine of the process: replies are handed
// to the machine whose chaddr they carry. One socket per machine would copy
// every broadcast reply to a thousand sockets.
type dhcpMux struct {
	raw net.PacketConn
	mu  sync.Mutex
	by  map[string]*muxConn
}

// bootpOnly accepts IPv4 UDP to port 68 that is not a fragment (the socket
// is a cooked one: offset 0 is the IP header). Without it every TFTP and
// HTTP packet of the storm would be copied to this process too.
var bootpOnly = []bpf.Instruction{
	bpf.LoadAbsolute{Off: 9, Size: 1},
	bpf.JumpIf{Cond: bpf.JumpNotEqual, Val: 17, SkipTrue: 5},
	bpf.LoadAbsolute{Off: 6, Size: 2},
	bpf.JumpIf{Cond: bpf.JumpBitsSet, Val: 0x1fff, SkipTrue: 3},
	bpf.LoadMemShift{Off: 0},
	bpf.LoadIndirect{Off: 2, Size: 2},
	bpf.JumpIf{Cond: bpf.JumpEqual, Val: 68, SkipFalse: 1},
	bpf.RetConstant{Val: 0xffff},
	bpf.RetConstant{Val: 0},
}

func newDHCPMux(iface string) (*dhcpMux, error) {
	c, err := nclient4.NewRawUDPConn(iface, 68)
	if err != nil {
		return nil, fmt.Errorf("raw DHCP socket on %s (needs CAP_NET_RAW): %w", iface, err)
	}
	if b, ok := c.(*nclient4.BroadcastRawUDPConn); ok {
		if f, ok := b.PacketConn.(interface {
			SetBPF([]bpf.RawInstruction) error
		}); ok {
			raw, err := bpf.Assemble(bootpOnly)
			if err == nil {
				err = f.SetBPF(raw)
			}
			if err == nil {
				err = bigReadBuffer(b.PacketConn)
			}
			if err != nil {
				c.Close()
				return nil, fmt.Errorf("BPF filter on %s: %w", iface, err)
			}
		}
	}
	m := &dhcpMux{raw: c, by: map[string]*muxConn{}}
	go m.loop()
	return m, nil
}

// bigReadBuffer gives the shared socket room for the replies of every
// machine at once: with the default buffer (about 100 packets) replies were
// dropped while the process was busy with TFTP and HTTP, and the machines
// retransmitted after 4 s against either server.
func bigReadBuffer(c net.PacketConn) error {
	sc, ok := c.(syscall.Conn)
	if !ok {
		return nil
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return err
	}
	var serr error
	if err := rc.Control(func(fd uintptr) {
		serr = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_RCVBUFFORCE, 16<<20)
	}); err != nil {
		return err
	}
	return serr
}

func (m *dhcpMux) loop() {
	buf := make([]byte, 1500)
	for {
		n, addr, err := m.raw.ReadFrom(buf)
		if err != nil {
			return
		}
		if n < 34 || buf[0] != 2 { // BOOTREPLY with a chaddr
			continue
		}
		key := string(buf[28:34])
		m.mu.Lock()
		c := m.by[key]
		m.mu.Unlock()
		if c == nil {
			continue
		}
		p := append([]byte(nil), buf[:n]...)
		select {
		case c.in <- packet{p, addr}:
		default: // the machine is not reading: lost, as on a busy NIC
		}
	}
}

// conn registers a machine's MAC; close the returned conn to unregister.
func (m *dhcpMux) conn(mac net.HardwareAddr) *muxConn {
	c := &muxConn{mux: m, key: string(mac), in: make(chan packet, 16), done: make(chan struct{})}
	m.mu.Lock()
	m.by[c.key] = c
	m.mu.Unlock()
	return c
}

type packet struct {
	b    []byte
	from net.Addr
}

// muxConn is one machine's view of the shared DHCP socket (a net.PacketConn
// for nclient4). It counts what the machine sent.
type muxConn struct {
	mux  *dhcpMux
	key  string
	in   chan packet
	done chan struct{}
	once sync.Once
	sent atomic.Int64
}

func (c *muxConn) ReadFrom(b []byte) (int, net.Addr, error) {
	select {
	case p := <-c.in:
		return copy(b, p.b), p.from, nil
	case <-c.done:
		return 0, nil, net.ErrClosed
	}
}

func (c *muxConn) WriteTo(b []byte, addr net.Addr) (int, error) {
	select {
	case <-c.done:
		return 0, net.ErrClosed
	default:
	}
	c.sent.Add(1)
	return c.mux.raw.WriteTo(b, addr)
}

func (c *muxConn) Close() error {
	c.once.Do(func() {
		c.mux.mu.Lock()
		if c.mux.by[c.key] == c {
			delete(c.mux.by, c.key)
		}
		c.mux.mu.Unlock()
		close(c.done)
	})
	return nil
}

func (c *muxConn) LocalAddr() net.Addr                { return &net.UDPAddr{Port: 68} }
func (c *muxConn) SetDeadline(t time.Time) error      { return nil }
func (c *muxConn) SetReadDeadline(t time.Time) error  { return nil }
func (c *muxConn) SetWriteDeadline(t time.Time) error { return nil }
