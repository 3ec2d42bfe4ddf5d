package dhcp

import (
	"net"
	"net/netip"
	"time"

	"github.com/insomniacslk/dhcp/dhcpv4"
)

// bucket is a token bucket: rate tokens a second, at most burst at once.
type bucket struct {
	tokens float64
	last   time.Time
}

// rates holds one bucket per ingress (the interface, each relay). Its
// keys are bounded: untrusted relays never reach it. Guarded by Server.mu.
type rates struct {
	rate  float64
	burst float64
	b     map[string]*bucket
}

func newRates(rate float64, burst int) *rates {
	return &rates{rate: rate, burst: float64(burst), b: map[string]*bucket{}}
}

func (r *rates) get(key string, now time.Time) *bucket {
	b := r.b[key]
	if b == nil {
		b = &bucket{tokens: r.burst, last: now}
		r.b[key] = b
		return b
	}
	if dt := now.Sub(b.last).Seconds(); dt > 0 {
		b.tokens += dt * r.rate
		if b.tokens > r.burst {
			b.tokens = r.burst
		}
		b.last = now
	}
	return b
}

// allows reports whether key may make one more new offer at now.
func (r *rates) allows(key string, now time.Time) bool { return r.get(key, now).tokens >= 1 }

// take uses one of key's tokens.
func (r *rates) take(key string, now time.Time) {
	if b := r.get(key, now); b.tokens >= 1 {
		b.tokens--
	}
}

// ingress names where a request came in: "" for the interface, the relay's
// address for a trusted relay.
func (s *Server) ingress(req *dhcpv4.DHCPv4, from origin) string {
	if ipv4Of(req.GatewayIPAddr) == 0 || from.peer == nil {
		return ""
	}
	return from.peer.IP.String()
}

// trustedRelay reports whether ip is in dhcp.relays.
func (s *Server) trustedRelay(ip net.IP) bool {
	a, ok := netip.AddrFromSlice(ip.To4())
	if !ok {
		return false
	}
	for _, p := range s.relays {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// isBroadcast reports whether dst is the limited broadcast address or the
// broadcast address of a served subnet.
func (s *Server) isBroadcast(dst net.IP) bool {
	v := ipv4Of(dst)
	if v == 0xffffffff {
		return true
	}
	for _, sub := range s.subnets {
		if v == u32(sub.prefix.Addr())|^uint32(0)>>sub.prefix.Bits() {
			return true
		}
	}
	return false
}
