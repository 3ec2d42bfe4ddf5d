package kickstart

import (
	"net/netip"
	"strings"

	"github.com/netkick/netkick/inventory"
)

// Subnet is one subnet of the DHCP configuration, as a static `network`
// line needs it: the prefix gives the netmask, Router the gateway, DNS the
// name servers (each optional).
type Subnet struct {
	Prefix netip.Prefix
	Router netip.Addr
	DNS    []netip.Addr
}

// Network is the plan for the installer's `network` line.
type Network struct {
	// Static: the host has a reserved address inside a configured subnet.
	Static bool
	// Device names the interface the way the installer accepts it: eth0 on
	// RHEL 5, the MAC from 6 on.
	Device string
	// IP, Netmask, Gateway and Nameservers (comma-separated) of a static
	// line; Gateway and Nameservers may be empty.
	IP, Netmask, Gateway, Nameservers string
}

// PlanNetwork decides the host's network line: static with its reserved IP
// when one of subnets holds it (router and DNS from that subnet), DHCP
// otherwise (no IP, an unparsable one, or no subnet for it).
func PlanNetwork(h *inventory.Host, o OS, subnets []Subnet) Network {
	n := Network{Device: "eth0"}
	if o.DeviceByMAC && h.ID() != "" {
		n.Device = h.ID()
	}
	ip, err := netip.ParseAddr(h.IP)
	if err != nil || !ip.Is4() {
		return n
	}
	for _, s := range subnets {
		if !s.Prefix.IsValid() || !s.Prefix.Contains(ip) {
			continue
		}
		n.Static, n.IP = true, ip.String()
		n.Netmask = netmask(s.Prefix.Bits())
		if s.Router.IsValid() {
			n.Gateway = s.Router.String()
		}
		var dns []string
		for _, d := range s.DNS {
			if d.IsValid() {
				dns = append(dns, d.String())
			}
		}
		n.Nameservers = strings.Join(dns, ",")
		return n
	}
	return n
}

// netmask is the dotted IPv4 netmask of a prefix length.
func netmask(bits int) string {
	m := ^uint32(0) << (32 - bits)
	if bits == 0 {
		m = 0
	}
	return netip.AddrFrom4([4]byte{byte(m >> 24), byte(m >> 16), byte(m >> 8), byte(m)}).String()
}
