//go:build linux

package neigh

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// Table reads the neighbour table of the network namespace it was opened in.
// It is safe for concurrent use.
type Table struct {
	mu    sync.Mutex
	fd    int
	seq   uint32
	buf   []byte
	probe *net.UDPConn
	wait  time.Duration
}

// Open opens an rtnetlink socket and a UDP socket (for resolving) in the
// calling thread's network namespace; both stay there.
func Open(o Options) (*Table, error) {
	fd, err := unix.Socket(unix.AF_NETLINK, unix.SOCK_RAW|unix.SOCK_CLOEXEC, unix.NETLINK_ROUTE)
	if err != nil {
		return nil, fmt.Errorf("neighbour table: opening an rtnetlink socket: %w", err)
	}
	if err := unix.Bind(fd, &unix.SockaddrNetlink{Family: unix.AF_NETLINK}); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("neighbour table: binding the rtnetlink socket: %w", err)
	}
	tv := unix.Timeval{Sec: 2}
	if err := unix.SetsockoptTimeval(fd, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &tv); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("neighbour table: receive timeout on the rtnetlink socket: %w", err)
	}
	probe, err := net.ListenUDP("udp", nil)
	if err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("neighbour table: opening the UDP socket that triggers resolution: %w", err)
	}
	if o.ResolveWait <= 0 {
		o.ResolveWait = DefaultResolveWait
	}
	return &Table{fd: fd, buf: make([]byte, 64<<10), probe: probe, wait: o.ResolveWait}, nil
}

// Close releases the sockets.
func (t *Table) Close() error {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.probe.Close()
	return unix.Close(t.fd)
}

// Lookup says whether addr is directly attached and, if so, its link-layer
// address. When the table has no usable entry it sends one datagram to addr
// (the discard port) so that the kernel resolves it, and waits up to the
// resolve bound or ctx for the entry.
func (t *Table) Lookup(ctx context.Context, addr netip.Addr) (Entry, error) {
	addr = addr.Unmap()
	if !addr.IsValid() {
		return Entry{}, errors.New("neighbour lookup: no address")
	}
	ifindex, attached, err := t.route(addr)
	if err != nil || !attached {
		return Entry{}, err
	}
	e := Entry{Attached: true, Ifindex: ifindex}
	if e.MAC, err = t.neighbour(addr, ifindex); err != nil || e.MAC != "" {
		return e, err
	}
	// No entry yet: make the kernel ask (ARP or neighbour solicitation).
	_, _ = t.probe.WriteToUDPAddrPort([]byte{0}, netip.AddrPortFrom(addr, 9))
	deadline := time.Now().Add(t.wait)
	for time.Now().Before(deadline) {
		select {
		case <-ctx.Done():
			return e, nil
		case <-time.After(20 * time.Millisecond):
		}
		if e.MAC, err = t.neighbour(addr, ifindex); err != nil || e.MAC != "" {
			return e, err
		}
	}
	return e, nil
}

// route asks the kernel how it reaches addr: attached when the route is a
// unicast one without a gateway.
func (t *Table) route(addr netip.Addr) (ifindex int, attached bool, err error) {
	family, raw := familyOf(addr)
	msg := make([]byte, unix.SizeofRtMsg)
	msg[0] = family
	msg[1] = uint8(len(raw) * 8) // dst_len
	msg = appendAttr(msg, unix.RTA_DST, raw)
	var gateway bool
	var rtype uint8
	err = t.request(unix.RTM_GETROUTE, msg, func(typ uint16, body []byte) {
		if typ != unix.RTM_NEWROUTE || len(body) < unix.SizeofRtMsg {
			return
		}
		rtype = body[7]
		eachAttr(body[unix.SizeofRtMsg:], func(kind uint16, v []byte) {
			switch kind {
			case unix.RTA_OIF:
				if len(v) >= 4 {
					ifindex = int(binary.NativeEndian.Uint32(v))
				}
			case unix.RTA_GATEWAY, unix.RTA_VIA:
				gateway = true
			}
		})
	})
	if err != nil {
		if errors.Is(err, unix.ENETUNREACH) || errors.Is(err, unix.EHOSTUNREACH) {
			return 0, false, nil
		}
		return 0, false, fmt.Errorf("route lookup for %s: %w", addr, err)
	}
	return ifindex, rtype == unix.RTN_UNICAST && !gateway && ifindex > 0, nil
}

// neighbour returns the link-layer address of a usable entry for addr on
// ifindex, "" when there is none (or it is incomplete or failed).
func (t *Table) neighbour(addr netip.Addr, ifindex int) (string, error) {
	family, raw := familyOf(addr)
	msg := make([]byte, unix.SizeofNdMsg)
	msg[0] = family
	binary.NativeEndian.PutUint32(msg[4:8], uint32(ifindex))
	msg = appendAttr(msg, unix.NDA_DST, raw)
	var mac string
	err := t.request(unix.RTM_GETNEIGH, msg, func(typ uint16, body []byte) {
		if typ != unix.RTM_NEWNEIGH || len(body) < unix.SizeofNdMsg {
			return
		}
		state := binary.NativeEndian.Uint16(body[8:10])
		if state&(unix.NUD_REACHABLE|unix.NUD_STALE|unix.NUD_DELAY|unix.NUD_PROBE|unix.NUD_PERMANENT) == 0 {
			return
		}
		eachAttr(body[unix.SizeofNdMsg:], func(kind uint16, v []byte) {
			if kind == unix.NDA_LLADDR && len(v) == 6 {
				mac = net.HardwareAddr(v).String()
			}
		})
	})
	if errors.Is(err, unix.ENOENT) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("neighbour lookup for %s: %w", addr, err)
	}
	return mac, nil
}

func familyOf(a netip.Addr) (uint8, []byte) {
	if a.Is4() {
		b := a.As4()
		return unix.AF_INET, b[:]
	}
	b := a.As16()
	return unix.AF_INET6, b[:]
}

// request sends one rtnetlink get request and hands each reply message to fn;
// a kernel error comes back as a unix.Errno.
func (t *Table) request(typ uint16, payload []byte, fn func(typ uint16, body []byte)) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.seq++
	seq := t.seq
	msg := make([]byte, unix.NLMSG_HDRLEN, unix.NLMSG_HDRLEN+len(payload))
	binary.NativeEndian.PutUint32(msg[0:4], uint32(unix.NLMSG_HDRLEN+len(payload)))
	binary.NativeEndian.PutUint16(msg[4:6], typ)
	binary.NativeEndian.PutUint16(msg[6:8], unix.NLM_F_REQUEST)
	binary.NativeEndian.PutUint32(msg[8:12], seq)
	msg = append(msg, payload...)
	if err := unix.Sendto(t.fd, msg, 0, &unix.SockaddrNetlink{Family: unix.AF_NETLINK}); err != nil {
		return err
	}
	for {
		n, _, err := unix.Recvfrom(t.fd, t.buf, 0)
		if err != nil {
			if errors.Is(err, unix.EINTR) {
				continue
			}
			return err
		}
		b := t.buf[:n]
		for len(b) >= unix.NLMSG_HDRLEN {
			l := int(binary.NativeEndian.Uint32(b[0:4]))
			if l < unix.NLMSG_HDRLEN || l > len(b) {
				return errors.New("malformed rtnetlink reply")
			}
			mtyp := binary.NativeEndian.Uint16(b[4:6])
			mseq := binary.NativeEndian.Uint32(b[8:12])
			body := b[unix.NLMSG_HDRLEN:l]
			b = b[min(align(l), len(b)):]
			if mseq != seq {
				continue // a late reply to an earlier, timed-out request
			}
			switch mtyp {
			case unix.NLMSG_ERROR:
				if len(body) < 4 {
					return errors.New("short rtnetlink error")
				}
				if code := int32(binary.NativeEndian.Uint32(body[0:4])); code != 0 {
					return unix.Errno(-code)
				}
				return nil
			case unix.NLMSG_DONE:
				return nil
			default:
				fn(mtyp, body)
				return nil // a get request has one answer
			}
		}
	}
}

func align(n int) int { return (n + 3) &^ 3 }

func appendAttr(b []byte, kind uint16, v []byte) []byte {
	l := 4 + len(v)
	b = binary.NativeEndian.AppendUint16(b, uint16(l))
	b = binary.NativeEndian.AppendUint16(b, kind)
	b = append(b, v...)
	for len(b)%4 != 0 {
		b = append(b, 0)
	}
	return b
}

func eachAttr(b []byte, fn func(kind uint16, v []byte)) {
	for len(b) >= 4 {
		l := int(binary.NativeEndian.Uint16(b[0:2]))
		if l < 4 || l > len(b) {
			return
		}
		fn(binary.NativeEndian.Uint16(b[2:4])&0x3fff, b[4:l])
		b = b[min(align(l), len(b)):]
	}
}
