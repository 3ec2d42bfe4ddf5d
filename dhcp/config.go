// Package dhcp is netkick's DHCPv4 server: full mode (addresses from pools or
// a host's reservation, leases durable before the ACK), proxy mode (boot data
// only, beside a site's own DHCP server) and relayed requests. Boot decisions
// come from package boot; hosts and leases from the inventory.
package dhcp

import (
	"fmt"

	"net/netip"
	"strings"
	"time"

	"github.com/netkick/netkick/boot"
	"github.com/netkick/netkick/inventory"
)

// Modes of the DHCP server.
const (
	ModeOff   = "off"
	ModeFull  = "full"
	ModeProxy = "proxy"
)

// Policies for MACs the inventory does not know (full mode).
const (
	UnknownIgnore   = boot.UnknownIgnore
	UnknownPool     = boot.UnknownPool
	UnknownDiscover = boot.UnknownDiscover
)

// Config is the `dhcp:` block of netkick's YAML config.
type Config struct {
	// Interface is the NIC the server listens on (required unless mode is off).
	Interface string `yaml:"interface" json:"interface"`
	// Mode is off (default), full or proxy.
	Mode string `yaml:"mode" json:"mode"`
	// Unknown says what full mode does with MACs not in the inventory:
	// ignore (default), pool (give them a pool address) or discover (record
	// them in the discovered table, then give them a pool address, on the
	// interfaces and subnets Discover names only).
	Unknown string `yaml:"unknown" json:"unknown"`
	// Discover says where and how much policy discover records.
	Discover DiscoverConfig `yaml:"discover,omitempty" json:"discover,omitzero"`
	Subnets  []SubnetConfig `yaml:"subnets" json:"subnets"`
	// Workers is the size of the fixed worker pool (default 64).
	Workers int `yaml:"workers,omitempty" json:"workers,omitempty"`
	// Relays are the relay agents (addresses or CIDRs) whose relayed
	// packets (giaddr set) are served; a packet with giaddr from any other
	// source, or sent to a broadcast address, is dropped. Replies go to
	// giaddr only for these.
	Relays []string `yaml:"relays,omitempty" json:"relays,omitempty"`
	// OfferRate bounds the new offers per second made to MACs the inventory
	// does not know, per ingress (the interface, and each relay); OfferBurst
	// is how many may come at once. Defaults 1000 and 5000: a 1,000-machine
	// boot storm fits in the burst. Known hosts, and clients that already
	// hold a lease or an offer, are not counted.
	OfferRate  float64 `yaml:"offer_rate,omitempty" json:"offer_rate,omitempty"`
	OfferBurst int     `yaml:"offer_burst,omitempty" json:"offer_burst,omitempty"`
	// HoldLoad is the boot chain's load (TFTP transfers in flight) at
	// which a PXE ROM's DISCOVER waits, in full mode, until the load falls
	// below it: "" derives HoldPerCPU × GOMAXPROCS, "off" or "0" never
	// holds. iPXE's and installers' DHCP, and REQUESTs, never wait.
	HoldLoad string `yaml:"hold_load,omitempty" json:"hold_load,omitempty"`
	// HoldMax is the longest a DISCOVER waits (default 20s): one first
	// seen longer ago is answered whatever the load.
	HoldMax time.Duration `yaml:"hold_max,omitempty" json:"hold_max,omitempty"`
}

// DiscoverConfig is the `dhcp.discover:` block: unknown machines are
// answered and recorded only on the interfaces and subnets it names.
type DiscoverConfig struct {
	// Interfaces are the NICs discovery answers on (default: dhcp.interface).
	Interfaces []string `yaml:"interfaces,omitempty" json:"interfaces,omitempty"`
	// Subnets are the networks (CIDRs) whose unknown machines are
	// discovered: the subnet of the interface or the relay's, by giaddr.
	// Required with unknown: discover: netkick never discovers a network
	// nobody named.
	Subnets []string `yaml:"subnets,omitempty" json:"subnets,omitempty"`
	// Max bounds the discovered table (default 1000): beyond it the machine
	// seen longest ago is forgotten.
	Max int `yaml:"max,omitempty" json:"max,omitempty"`
}

// discoverNets parses dhcp.discover.subnets.
func (c DiscoverConfig) discoverNets() ([]netip.Prefix, error) {
	var out []netip.Prefix
	for i, n := range c.Subnets {
		p, err := netip.ParsePrefix(strings.TrimSpace(n))
		if err != nil || !p.Addr().Is4() {
			return nil, fmt.Errorf("dhcp.discover.subnets[%d] %q: want an IPv4 network such as 192.0.2.0/24", i, n)
		}
		out = append(out, p.Masked())
	}
	return out, nil
}

// discoverOn reports whether discovery answers on interface ifname.
func (c DiscoverConfig) discoverOn(ifname string) bool {
	if len(c.Interfaces) == 0 {
		return true
	}
	for _, i := range c.Interfaces {
		if i == ifname {
			return true
		}
	}
	return false
}

// Default bounds of new offers to unknown MACs, per ingress.
const (
	DefaultOfferRate  = 1000
	DefaultOfferBurst = 5000
)

// SubnetConfig is one subnet served in full mode: the one on Interface, or
// one behind a relay agent (chosen by the relay's giaddr).
type SubnetConfig struct {
	CIDR string `yaml:"cidr" json:"cidr"`
	// Pools are address ranges "first-last" (or single addresses) inside CIDR.
	Pools  []string `yaml:"pools" json:"pools"`
	Router string   `yaml:"router,omitempty" json:"router,omitempty"`
	DNS    []string `yaml:"dns,omitempty" json:"dns,omitempty"`
	Domain string   `yaml:"domain,omitempty" json:"domain,omitempty"`
	// Lease is the lease time, e.g. "1h" (default 1h, at least 1m).
	Lease string `yaml:"lease,omitempty" json:"lease,omitempty"`
}

// subnet is a validated SubnetConfig.
type subnet struct {
	prefix netip.Prefix
	pools  []addrRange
	router netip.Addr
	dns    []netip.Addr
	domain string
	lease  time.Duration
}

type addrRange struct{ first, last uint32 }

func (r addrRange) size() int { return int(r.last-r.first) + 1 }

// Normalize fills defaults and checks c, returning errors that name the field.
func (c *Config) Normalize() error {
	c.Mode = strings.ToLower(strings.TrimSpace(c.Mode))
	if c.Mode == "" {
		c.Mode = ModeOff
	}
	switch c.Mode {
	case ModeOff, ModeFull, ModeProxy:
	default:
		return fmt.Errorf("dhcp.mode %q: want full, proxy or off", c.Mode)
	}
	c.Unknown = strings.ToLower(strings.TrimSpace(c.Unknown))
	if c.Unknown == "" {
		c.Unknown = UnknownIgnore
	}
	switch c.Unknown {
	case UnknownIgnore, UnknownPool, UnknownDiscover:
	default:
		return fmt.Errorf("dhcp.unknown %q: want ignore, pool or discover", c.Unknown)
	}
	if c.Workers <= 0 {
		c.Workers = 64
	}
	if c.OfferRate < 0 || c.OfferBurst < 0 {
		return fmt.Errorf("dhcp.offer_rate %g / dhcp.offer_burst %d: want positive numbers (defaults %d and %d)", c.OfferRate, c.OfferBurst, DefaultOfferRate, DefaultOfferBurst)
	}
	if c.OfferRate == 0 {
		c.OfferRate = DefaultOfferRate
	}
	if c.OfferBurst == 0 {
		c.OfferBurst = DefaultOfferBurst
	}
	if _, ok := holdBound(c.HoldLoad, 1); !ok {
		return fmt.Errorf("dhcp.hold_load %q: want a number of TFTP transfers in flight, off, or nothing for the default (%d × the CPUs)", c.HoldLoad, HoldPerCPU)
	}
	if c.HoldMax == 0 {
		c.HoldMax = DefaultHoldMax
	}
	if c.HoldMax < 0 || c.HoldMax > maxHoldMax {
		return fmt.Errorf("dhcp.hold_max %s: want a duration up to %s (default %s): PXE firmware gives up after about a minute", c.HoldMax, maxHoldMax, DefaultHoldMax)
	}
	if _, err := parseRelays(c.Relays); err != nil {
		return err
	}
	if _, err := c.Discover.discoverNets(); err != nil {
		return err
	}
	if c.Discover.Max < 0 {
		return fmt.Errorf("dhcp.discover.max %d: want a positive bound of the discovered table (default %d)", c.Discover.Max, inventory.DefaultDiscoveredCap)
	}
	if c.Unknown == UnknownDiscover && c.Mode != ModeOff && len(c.Discover.Subnets) == 0 {
		return fmt.Errorf("dhcp.unknown is discover but dhcp.discover.subnets names no network: list the CIDRs whose unknown machines are discovered (netkick never discovers a network nobody named)")
	}
	if c.Mode == ModeOff {
		return nil
	}
	if c.Interface == "" {
		return fmt.Errorf("dhcp.mode is %s but no interface is named: set dhcp.interface or --dhcp-interface (netkick never serves DHCP on a guessed NIC)", c.Mode)
	}
	if c.Mode == ModeFull && len(c.Subnets) == 0 {
		return fmt.Errorf("dhcp.mode full needs at least one entry in dhcp.subnets (cidr, pools, router, dns, lease)")
	}
	_, err := c.subnets()
	return err
}

func (c *Config) subnets() ([]*subnet, error) {
	var out []*subnet
	for i, sc := range c.Subnets {
		s, err := sc.parse()
		if err != nil {
			return nil, fmt.Errorf("dhcp.subnets[%d]: %w", i, err)
		}
		for j, o := range out {
			if o.prefix.Overlaps(s.prefix) {
				return nil, fmt.Errorf("dhcp.subnets[%d] %s overlaps dhcp.subnets[%d] %s", i, s.prefix, j, o.prefix)
			}
		}
		out = append(out, s)
	}
	return out, nil
}

func (sc SubnetConfig) parse() (*subnet, error) {
	p, err := netip.ParsePrefix(strings.TrimSpace(sc.CIDR))
	if err != nil || !p.Addr().Is4() {
		return nil, fmt.Errorf("cidr %q: want an IPv4 network such as 192.0.2.0/24", sc.CIDR)
	}
	p = p.Masked()
	if p.Bits() > 30 {
		return nil, fmt.Errorf("cidr %s: too small for DHCP (want /30 or larger)", p)
	}
	s := &subnet{prefix: p, lease: time.Hour, domain: sc.Domain}
	if sc.Lease != "" {
		d, err := time.ParseDuration(sc.Lease)
		if err != nil || d < time.Minute || d > 365*24*time.Hour {
			return nil, fmt.Errorf("lease %q: want a duration between 1m and 8760h, such as 1h", sc.Lease)
		}
		s.lease = d
	}
	if sc.Router != "" {
		a, err := netip.ParseAddr(sc.Router)
		if err != nil || !p.Contains(a) {
			return nil, fmt.Errorf("router %q: want an IPv4 address inside %s", sc.Router, p)
		}
		s.router = a
	}
	for _, d := range sc.DNS {
		a, err := netip.ParseAddr(d)
		if err != nil || !a.Is4() {
			return nil, fmt.Errorf("dns %q: want an IPv4 address", d)
		}
		s.dns = append(s.dns, a)
	}
	netAddr, bcast := u32(p.Addr()), u32(p.Addr())|^uint32(0)>>p.Bits()
	for _, ps := range sc.Pools {
		r, err := parseRange(ps)
		if err != nil {
			return nil, err
		}
		if r.first <= netAddr || r.last >= bcast {
			return nil, fmt.Errorf("pool %q: must lie inside %s, excluding its network and broadcast addresses", ps, p)
		}
		for _, o := range s.pools {
			if r.first <= o.last && o.first <= r.last {
				return nil, fmt.Errorf("pool %q overlaps another pool of %s", ps, p)
			}
		}
		s.pools = append(s.pools, r)
	}
	return s, nil
}

// parseRelays reads dhcp.relays: IPv4 addresses or CIDRs.
func parseRelays(rs []string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for i, r := range rs {
		r = strings.TrimSpace(r)
		if p, err := netip.ParsePrefix(r); err == nil && p.Addr().Is4() {
			out = append(out, p.Masked())
			continue
		}
		a, err := netip.ParseAddr(r)
		if err != nil || !a.Is4() {
			return nil, fmt.Errorf("dhcp.relays[%d] %q: want the IPv4 address a relay agent sends from (192.0.2.2) or a CIDR (192.0.2.0/28)", i, r)
		}
		out = append(out, netip.PrefixFrom(a, 32))
	}
	return out, nil
}

func parseRange(s string) (addrRange, error) {
	a, b, found := strings.Cut(strings.TrimSpace(s), "-")
	first, err1 := netip.ParseAddr(strings.TrimSpace(a))
	last := first
	var err2 error
	if found {
		last, err2 = netip.ParseAddr(strings.TrimSpace(b))
	}
	if err1 != nil || err2 != nil || !first.Is4() || !last.Is4() || last.Less(first) {
		return addrRange{}, fmt.Errorf("pool %q: want first-last, such as 192.0.2.100-192.0.2.200", s)
	}
	return addrRange{u32(first), u32(last)}, nil
}

func u32(a netip.Addr) uint32 {
	b := a.As4()
	return uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
}

func addrOf(v uint32) netip.Addr {
	return netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)})
}

func (s *subnet) inPool(v uint32) bool {
	for _, r := range s.pools {
		if v >= r.first && v <= r.last {
			return true
		}
	}
	return false
}

func (s *subnet) poolSize() int {
	n := 0
	for _, r := range s.pools {
		n += r.size()
	}
	return n
}
