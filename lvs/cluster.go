package lvs

import (
	"fmt"
	"net/netip"
	"sort"
	"strconv"
	"strings"

	"github.com/netkick/netkick/inventory"
)

// Defaults applied to zero fields of a cluster.
const (
	DefaultNetwork   = "direct"
	DefaultNetmask   = "255.255.255.255"
	DefaultProtocol  = "tcp"
	DefaultScheduler = "lc"
	DefaultHBPort    = 539
	DefaultKeepalive = 6
	DefaultDeadtime  = 18
	DefaultRouterID  = 51
	DefaultTimeout   = 6
	DefaultReentry   = 15
	DefaultWeight    = 1
)

// Schedulers lists the IPVS schedulers a service may use.
func Schedulers() []string {
	return []string{"rr", "wrr", "lc", "wlc", "lblc", "lblcr", "dh", "sh", "sed", "nq"}
}

// WithDefaults returns a deep copy of c with every zero field set to its
// default: network direct, heartbeat 539/6/18, router id 51, serial 1, and per
// service netmask /32, tcp, lc, timeout 6, reentry 15, interface eth0:N+1 and
// loopback alias lo:N (N counts distinct VIPs from 0, in service order).
func WithDefaults(c inventory.Cluster) inventory.Cluster {
	out := c
	out.Services = append([]inventory.VirtualService(nil), c.Services...)
	if out.Network == "" {
		out.Network = DefaultNetwork
	}
	if out.Serial == 0 {
		out.Serial = 1
	}
	hb := &out.Heartbeat
	if hb.Port == 0 {
		hb.Port = DefaultHBPort
	}
	if hb.Keepalive == 0 {
		hb.Keepalive = DefaultKeepalive
	}
	if hb.Deadtime == 0 {
		hb.Deadtime = DefaultDeadtime
	}
	if hb.RouterID == 0 {
		hb.RouterID = DefaultRouterID
	}
	vipIndex := map[string]int{}
	for i := range out.Services {
		s := &out.Services[i]
		if _, ok := vipIndex[s.VIP]; !ok {
			vipIndex[s.VIP] = len(vipIndex)
		}
		n := vipIndex[s.VIP]
		if s.Netmask == "" {
			s.Netmask = DefaultNetmask
		}
		if s.Protocol == "" {
			s.Protocol = DefaultProtocol
		}
		if s.Scheduler == "" {
			s.Scheduler = DefaultScheduler
		}
		if s.Interface == "" {
			s.Interface = "eth0:" + strconv.Itoa(n+1)
		}
		if s.LoAlias == "" {
			s.LoAlias = "lo:" + strconv.Itoa(n)
		}
		if s.Timeout == 0 {
			s.Timeout = DefaultTimeout
		}
		if s.Reentry == 0 {
			s.Reentry = DefaultReentry
		}
	}
	return out
}

// Director is one director as it appears in the rendered files.
type Director struct {
	Name string // hostname
	IP   string
}

// Real is one real server of one service.
type Real struct {
	Name   string // hostname
	IP     string
	Port   int
	Weight int
}

// Service is a virtual service with its real servers (sorted by name).
type Service struct {
	inventory.VirtualService
	Reals []Real
}

// Plan is a cluster resolved against the inventory: defaults filled in,
// directors and real servers turned into names and addresses. Every renderer
// works from a Plan; ParsePiranha produces one.
type Plan struct {
	Cluster  inventory.Cluster // with defaults
	Primary  Director
	Backup   Director // zero when the cluster has no backup director
	Services []Service
}

// IsMember reports whether h serves cluster name as a real server: it holds
// role lvs-real-server and names the cluster in Cluster or lvs_clusters.
func IsMember(h *inventory.Host, name string) bool {
	if !h.HasRole(inventory.RoleLVSRealServer) {
		return false
	}
	for _, c := range MemberOf(h) {
		if c == name {
			return true
		}
	}
	return false
}

// MemberOf lists the clusters h names (Host.Cluster first, then lvs_clusters), without duplicates.
func MemberOf(h *inventory.Host) []string {
	var out []string
	seen := map[string]bool{}
	add := func(s string) {
		s = strings.TrimSpace(s)
		if s != "" && !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	add(h.Cluster)
	for _, s := range strings.Split(h.Params[inventory.ParamLVSClusters], ",") {
		add(s)
	}
	return out
}

// Address is h's address on its LVS segment: the lvs_address parameter,
// else Host.IP ("" when neither is set).
func Address(h *inventory.Host) string {
	if a := h.Params[inventory.ParamLVSAddress]; a != "" {
		return a
	}
	return h.IP
}

// FindHost returns the host whose hostname (case-insensitive), MAC (any
// spelling), IP or lvs_address is key, or nil.
func FindHost(hosts []inventory.Host, key string) *inventory.Host {
	mac, macErr := inventory.NormalizeMAC(key)
	for i := range hosts {
		h := &hosts[i]
		if strings.EqualFold(h.Hostname, key) || (h.IP != "" && h.IP == key) || (Address(h) != "" && Address(h) == key) {
			return h
		}
		if macErr == nil {
			for _, m := range h.MACs {
				if n, err := inventory.NormalizeMAC(m); err == nil && n == mac {
					return h
				}
			}
		}
	}
	return nil
}

// NewPlan fills c's defaults, checks it on its own (Validate also checks it
// against the other clusters) and resolves its directors and real servers
// from hosts.
func NewPlan(c *inventory.Cluster, hosts []inventory.Host) (*Plan, error) {
	d := WithDefaults(*c)
	if err := validateShape(&d); err != nil {
		return nil, err
	}
	subnet, _ := netip.ParsePrefix(d.Subnet) // checked by validateShape
	p := &Plan{Cluster: d}
	var directorIDs []string
	resolve := func(role, key string) (Director, error) {
		h := FindHost(hosts, key)
		if h == nil {
			return Director{}, fmt.Errorf("%w: cluster %s: %s director %q is not in the inventory; add it with `netkick host add MAC --hostname %s --ip IP --role lvs-director`", inventory.ErrInvalid, d.Name, role, key, key)
		}
		ip := Address(h)
		if ip == "" {
			return Director{}, fmt.Errorf("%w: cluster %s: %s director %s has no address; give it one (netkick host add … --ip, or --param lvs_address=IP)", inventory.ErrInvalid, d.Name, role, h.Hostname)
		}
		if a, err := netip.ParseAddr(ip); err != nil || !a.Is4() || !subnet.Contains(a) {
			return Director{}, fmt.Errorf("%w: cluster %s: %s director %s (%s) is outside the cluster subnet %s; direct routing needs directors and real servers on one L2 segment", inventory.ErrInvalid, d.Name, role, h.Hostname, ip, d.Subnet)
		}
		directorIDs = append(directorIDs, h.ID())
		return Director{Name: h.Hostname, IP: ip}, nil
	}
	var err error
	if p.Primary, err = resolve("primary", d.Primary); err != nil {
		return nil, err
	}
	if d.Backup != "" {
		if p.Backup, err = resolve("backup", d.Backup); err != nil {
			return nil, err
		}
		if p.Backup == p.Primary {
			return nil, fmt.Errorf("%w: cluster %s: primary and backup are the same host %s; name two different directors", inventory.ErrInvalid, d.Name, p.Primary.Name)
		}
	}

	var reals []Real
	for i := range hosts {
		h := &hosts[i]
		if !IsMember(h, d.Name) {
			continue
		}
		for _, id := range directorIDs {
			if h.ID() == id {
				return nil, fmt.Errorf("%w: cluster %s: host %s is a director of the cluster and also one of its real servers; a director cannot balance to itself: remove role lvs-real-server or pick another director", inventory.ErrInvalid, d.Name, h.Hostname)
			}
		}
		ip := Address(h)
		if ip == "" {
			return nil, fmt.Errorf("%w: cluster %s: real server %s has no address; give it one (netkick host add … --ip, or --param lvs_address=IP)", inventory.ErrInvalid, d.Name, h.Hostname)
		}
		a, err := netip.ParseAddr(ip)
		if err != nil || !a.Is4() || !subnet.Contains(a) {
			return nil, fmt.Errorf("%w: cluster %s: real server %s (%s) is outside the directors' subnet %s; direct routing needs one L2 segment: move it or use another cluster", inventory.ErrInvalid, d.Name, h.Hostname, ip, d.Subnet)
		}
		r := Real{Name: h.Hostname, IP: ip, Weight: DefaultWeight}
		if v, ok := h.Params[inventory.ParamLVSWeight]; ok {
			w, err := strconv.Atoi(v)
			if err != nil || w < 0 || w > 65535 {
				return nil, fmt.Errorf("%w: cluster %s: real server %s: %s %q: want an integer 0-65535", inventory.ErrInvalid, d.Name, h.Hostname, inventory.ParamLVSWeight, v)
			}
			r.Weight = w
		}
		if v, ok := h.Params[inventory.ParamLVSPort]; ok && v != "" {
			port, err := strconv.Atoi(v)
			if err != nil || port < 1 || port > 65535 {
				return nil, fmt.Errorf("%w: cluster %s: real server %s: %s %q: want a port 1-65535", inventory.ErrInvalid, d.Name, h.Hostname, inventory.ParamLVSPort, v)
			}
			r.Port = port
		}
		reals = append(reals, r)
	}
	sort.Slice(reals, func(i, j int) bool { return reals[i].Name < reals[j].Name })
	for _, s := range d.Services {
		svc := Service{VirtualService: s}
		for _, r := range reals {
			if r.Port != 0 && r.Port != s.Port {
				return nil, fmt.Errorf("%w: cluster %s: real server %s has %s=%d but service %s listens on %d; direct routing cannot change ports: drop %s or make it %d", inventory.ErrInvalid, d.Name, r.Name, inventory.ParamLVSPort, r.Port, s.Name, s.Port, inventory.ParamLVSPort, s.Port)
			}
			r.Port = s.Port
			svc.Reals = append(svc.Reals, r)
		}
		p.Services = append(p.Services, svc)
	}
	return p, nil
}

// VIPs returns the cluster's distinct VIPs with their director interface,
// loopback alias and netmask, in service order.
func (p *Plan) VIPs() []VIP {
	return vips(p.Cluster.Services)
}

// VIP is one virtual address and where it lives.
type VIP struct {
	Addr      string
	Netmask   string
	Interface string // director alias, e.g. eth0:1
	LoAlias   string // real server alias, e.g. lo:0
}

func vips(services []inventory.VirtualService) []VIP {
	var out []VIP
	seen := map[string]bool{}
	for _, s := range services {
		if seen[s.VIP] {
			continue
		}
		seen[s.VIP] = true
		out = append(out, VIP{Addr: s.VIP, Netmask: s.Netmask, Interface: s.Interface, LoAlias: s.LoAlias})
	}
	return out
}
