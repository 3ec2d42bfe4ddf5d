package dhcp

import (
	"encoding/binary"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// arpProber sends ARP probes (RFC 5227: sender address 0.0.0.0, so no
// neighbour cache learns anything from them) on one interface and reads
// the replies.
type arpProber struct {
	mu    sync.Mutex // one probe at a time
	fd    int
	ifi   *net.Interface
	close sync.Once
}

// newARPProber opens an AF_PACKET socket on ifname. Call it in the network
// namespace the server serves (Listen does).
func newARPProber(ifname string, _ netip.Addr) (prober, error) {
	ifi, err := net.InterfaceByName(ifname)
	if err != nil {
		return nil, fmt.Errorf("interface %q: %w", ifname, err)
	}
	if len(ifi.HardwareAddr) != 6 {
		return nil, fmt.Errorf("interface %s has no Ethernet address", ifname)
	}
	fd, err := unix.Socket(unix.AF_PACKET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, int(htons16(unix.ETH_P_ARP)))
	if err != nil {
		return nil, fmt.Errorf("ARP socket on %s: %w (needs CAP_NET_RAW)", ifname, err)
	}
	if err := unix.Bind(fd, &unix.SockaddrLinklayer{Protocol: htons16(unix.ETH_P_ARP), Ifindex: ifi.Index}); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("bind ARP socket to %s: %w", ifname, err)
	}
	return &arpProber{fd: fd, ifi: ifi}, nil
}

func htons16(v uint16) uint16 { return v<<8 | v>>8 }

func (p *arpProber) Close() error {
	var err error
	p.close.Do(func() { err = unix.Close(p.fd) })
	return err
}

// whoHas sends up to three ARP probes for ip within wait and returns the
// sender hardware addresses that answered, none when nobody did. After the
// first answer it listens a little longer, for any other machine.
func (p *arpProber) whoHas(ip netip.Addr, wait time.Duration) ([]net.HardwareAddr, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	req := make([]byte, 28)
	binary.BigEndian.PutUint16(req[0:], 1)      // Ethernet
	binary.BigEndian.PutUint16(req[2:], 0x0800) // IPv4
	req[4], req[5] = 6, 4
	binary.BigEndian.PutUint16(req[6:], 1) // request
	copy(req[8:14], p.ifi.HardwareAddr)
	// sender IP 0.0.0.0 (probe), target hardware address zero
	t := ip.As4()
	copy(req[24:28], t[:])
	to := &unix.SockaddrLinklayer{Protocol: htons16(unix.ETH_P_ARP), Ifindex: p.ifi.Index, Halen: 6,
		Addr: [8]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}}
	deadline := time.Now().Add(wait)
	buf := make([]byte, 128)
	var seen []net.HardwareAddr
	for try := 0; try < 3 && len(seen) == 0; try++ {
		if err := unix.Sendto(p.fd, req, 0, to); err != nil {
			return nil, fmt.Errorf("send ARP probe for %s on %s: %w", ip, p.ifi.Name, err)
		}
		slot := time.Until(deadline) / time.Duration(3-try)
		end := time.Now().Add(slot)
		for {
			if len(seen) > 0 && time.Until(end) > answerLinger {
				end = time.Now().Add(answerLinger)
			}
			left := time.Until(end)
			if left <= 0 {
				break
			}
			tv := unix.NsecToTimeval(left.Nanoseconds())
			if err := unix.SetsockoptTimeval(p.fd, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &tv); err != nil {
				return nil, err
			}
			n, _, err := unix.Recvfrom(p.fd, buf, 0)
			if err != nil {
				if err == unix.EAGAIN || err == unix.EWOULDBLOCK || err == unix.EINTR {
					continue
				}
				return nil, fmt.Errorf("read ARP replies on %s: %w", p.ifi.Name, err)
			}
			if n < 28 || binary.BigEndian.Uint16(buf[6:]) != 2 || [4]byte(buf[14:18]) != t {
				continue
			}
			hw := net.HardwareAddr(append([]byte(nil), buf[8:14]...))
			if !slices.ContainsFunc(seen, func(h net.HardwareAddr) bool { return h.String() == hw.String() }) {
				seen = append(seen, hw)
			}
		}
	}
	return seen, nil
}

// answerLinger is how long a probe listens for more answers after the first.
const answerLinger = 150 * time.Millisecond
