package lvs

import (
	"fmt"
	"net/netip"
	"regexp"
	"strings"

	"github.com/netkick/netkick/inventory"
)

var (
	serviceNameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$`)
	ifaceAliasRE  = regexp.MustCompile(`^[a-z][a-z0-9]{0,11}:[0-9]{1,4}$`)
	loAliasRE     = regexp.MustCompile(`^lo:[0-9]{1,4}$`)
	// guiHashRE accepts the hashes Apache's htpasswd check understands on Linux:
	// glibc crypt ($1$, $5$, $6$), bcrypt ($2y$) and apr1.
	guiHashRE = regexp.MustCompile(`^\$(1|5|6|2[aby]|apr1)\$[./A-Za-z0-9$]{8,200}$`)
)

// Validate checks cluster c as the API does at PUT time: its own fields (after
// defaults), its directors and real servers in hosts, and its loopback aliases
// against the other clusters its real servers also belong to (others may
// include c itself under its old definition; entries named like c are skipped).
// It refuses, with a reason: NAT/tunnel networks, unknown schedulers, two
// services on one protocol+address:port, two VIPs on one interface alias, a
// director that is also its own real server, a real server outside the
// directors' subnet and a real server whose clusters give one loopback alias
// two different VIPs.
func Validate(c *inventory.Cluster, hosts []inventory.Host, others []inventory.Cluster) error {
	p, err := NewPlan(c, hosts)
	if err != nil {
		return err
	}
	byName := map[string]inventory.Cluster{}
	for _, o := range others {
		if o.Name != c.Name {
			byName[o.Name] = WithDefaults(o)
		}
	}
	mine := aliasMap(p.Cluster.Services)
	for i := range hosts {
		h := &hosts[i]
		if !IsMember(h, c.Name) {
			continue
		}
		for _, other := range MemberOf(h) {
			o, ok := byName[other]
			if !ok {
				continue
			}
			for alias, vip := range aliasMap(o.Services) {
				if v, ok := mine[alias]; ok && v != vip {
					return fmt.Errorf("%w: cluster %s: real server %s is also in cluster %s, and the two clusters put different VIPs on %s (%s here, %s there); give one of the services another lo_alias", inventory.ErrInvalid, c.Name, h.Hostname, other, alias, v, vip)
				}
			}
		}
	}
	return nil
}

// RealServerVIPs returns the loopback aliases a real server needs across every
// cluster it belongs to (clusters lists all of them), refusing an alias that
// two clusters give different VIPs.
func RealServerVIPs(h *inventory.Host, clusters []inventory.Cluster) ([]VIP, error) {
	byName := map[string]inventory.Cluster{}
	for _, c := range clusters {
		byName[c.Name] = WithDefaults(c)
	}
	var out []VIP
	alias := map[string]string{} // alias -> VIP
	from := map[string]string{}  // alias -> cluster
	seenVIP := map[string]bool{}
	for _, name := range MemberOf(h) {
		c, ok := byName[name]
		if !ok {
			// A configuration error, not a missing host: no ErrNotFound (no 404 for /ks).
			return nil, fmt.Errorf("host %s names cluster %q, which does not exist; create it or fix the host's cluster", h.Hostname, name)
		}
		for _, v := range vips(c.Services) {
			if prev, ok := alias[v.LoAlias]; ok {
				if prev != v.Addr {
					return nil, fmt.Errorf("%w: real server %s: clusters %s and %s put different VIPs on %s (%s and %s); give one of the services another lo_alias", inventory.ErrInvalid, h.Hostname, from[v.LoAlias], name, v.LoAlias, prev, v.Addr)
				}
				continue
			}
			if seenVIP[v.Addr] {
				continue
			}
			alias[v.LoAlias], from[v.LoAlias], seenVIP[v.Addr] = v.Addr, name, true
			out = append(out, v)
		}
	}
	return out, nil
}

func aliasMap(services []inventory.VirtualService) map[string]string {
	m := map[string]string{}
	for _, s := range services {
		m[s.LoAlias] = s.VIP
	}
	return m
}

// validateShape checks the fields of a cluster whose defaults are filled in,
// without looking at hosts.
func validateShape(c *inventory.Cluster) error {
	bad := func(format string, a ...any) error {
		return fmt.Errorf("%w: cluster %s: %s", inventory.ErrInvalid, c.Name, fmt.Sprintf(format, a...))
	}
	if err := inventory.ValidateName("cluster", c.Name); err != nil {
		return err
	}
	switch strings.ToLower(c.Network) {
	case "direct":
	case "nat", "tun", "tunnel", "masq", "masquerade":
		return bad("network %q is not supported yet: only direct routing (network: direct) is implemented", c.Network)
	default:
		return bad("network %q is unknown: use direct", c.Network)
	}
	c.Network = "direct"
	if c.Subnet == "" {
		return bad("subnet is missing: give the directors' L2 segment as a CIDR such as 192.0.2.0/24")
	}
	if pfx, err := netip.ParsePrefix(c.Subnet); err != nil || !pfx.Addr().Is4() {
		return bad("subnet %q: want an IPv4 CIDR such as 192.0.2.0/24", c.Subnet)
	}
	if c.Primary == "" {
		return bad("primary director is missing: name a host (hostname, MAC or IP)")
	}
	for _, d := range []struct{ role, v string }{{"primary", c.Primary}, {"backup", c.Backup}} {
		if d.v != "" && inventory.ValidateHostname(d.v) != nil && inventory.ValidateIPv4(d.role, d.v) != nil {
			if _, err := inventory.NormalizeMAC(d.v); err != nil {
				return bad("%s director %q: want a hostname, MAC or IPv4 address", d.role, d.v)
			}
		}
	}
	hb := c.Heartbeat
	if hb.Port < 1 || hb.Port > 65535 {
		return bad("heartbeat port %d: want 1-65535", hb.Port)
	}
	if hb.Keepalive < 1 || hb.Keepalive > 3600 {
		return bad("heartbeat keepalive %d: want 1-3600 seconds", hb.Keepalive)
	}
	if hb.Deadtime <= hb.Keepalive || hb.Deadtime > 36000 {
		return bad("heartbeat deadtime %d: want more than keepalive (%d) and at most 36000 seconds", hb.Deadtime, hb.Keepalive)
	}
	if hb.RouterID < 1 || hb.RouterID > 255 {
		return bad("heartbeat router_id %d: want 1-255", hb.RouterID)
	}
	if c.AdminNetwork != "" {
		if pfx, err := netip.ParsePrefix(c.AdminNetwork); err != nil || !pfx.Addr().Is4() || pfx.Masked() != pfx {
			return bad("admin_network %q: want an IPv4 network in CIDR form such as 192.0.2.0/24", c.AdminNetwork)
		}
	}
	if c.GUIPasswordHash != "" && !guiHashRE.MatchString(c.GUIPasswordHash) {
		return bad("gui_password_hash is not a crypt/apr1 hash: generate one with `openssl passwd -apr1` (clear text is never stored)")
	}
	if c.Serial < 0 {
		return bad("serial %d: want a positive number", c.Serial)
	}

	type key struct {
		proto, vip string
		port       int
	}
	names := map[string]bool{}
	addrs := map[key]string{}
	ifaceVIP := map[string]string{}
	vipIface := map[string]string{}
	loVIP := map[string]string{}
	vipLo := map[string]string{}
	vipMask := map[string]string{}
	for i, s := range c.Services {
		where := fmt.Sprintf("service %d (%s)", i+1, s.Name)
		if !serviceNameRE.MatchString(s.Name) {
			return bad("%s: name %q: use 1-63 letters, digits, '-', '_', '.', starting with a letter or digit", where, s.Name)
		}
		if names[s.Name] {
			return bad("two services are named %s; names must be unique", s.Name)
		}
		names[s.Name] = true
		if err := inventory.ValidateIPv4("vip", s.VIP); err != nil {
			return bad("%s: %v", where, err)
		}
		m, err := netip.ParseAddr(s.Netmask)
		if err != nil || !m.Is4() || !contiguousMask(m) {
			return bad("%s: netmask %q: want a dotted mask such as 255.255.255.255", where, s.Netmask)
		}
		if s.Port < 1 || s.Port > 65535 {
			return bad("%s: port %d: want 1-65535", where, s.Port)
		}
		if s.Protocol != "tcp" && s.Protocol != "udp" {
			return bad("%s: protocol %q: want tcp or udp", where, s.Protocol)
		}
		if !knownScheduler(s.Scheduler) {
			return bad("%s: scheduler %q is unknown: want one of %s", where, s.Scheduler, strings.Join(Schedulers(), ", "))
		}
		if !ifaceAliasRE.MatchString(s.Interface) {
			return bad("%s: interface %q: want an alias such as eth0:1", where, s.Interface)
		}
		if !loAliasRE.MatchString(s.LoAlias) {
			return bad("%s: lo_alias %q: want a loopback alias such as lo:0", where, s.LoAlias)
		}
		for _, f := range []struct{ kind, v string }{{"send", s.Send}, {"expect", s.Expect}} {
			if err := checkProbe(f.v); err != nil {
				return bad("%s: %s %q: %v", where, f.kind, f.v, err)
			}
		}
		if s.Expect != "" && s.Send == "" {
			return bad("%s: expect is set without send; give both or neither", where)
		}
		if s.Persistent < 0 || s.Persistent > 31536000 {
			return bad("%s: persistent %d: want 0 (off) up to 31536000 seconds", where, s.Persistent)
		}
		if s.Timeout < 1 || s.Timeout > 3600 || s.Reentry < 1 || s.Reentry > 3600 {
			return bad("%s: timeout %d / reentry %d: want 1-3600 seconds", where, s.Timeout, s.Reentry)
		}
		k := key{s.Protocol, s.VIP, s.Port}
		if prev, ok := addrs[k]; ok {
			return bad("services %s and %s are both on %s:%d/%s; each service needs its own address:port", prev, s.Name, s.VIP, s.Port, s.Protocol)
		}
		addrs[k] = s.Name
		if v, ok := ifaceVIP[s.Interface]; ok && v != s.VIP {
			return bad("%s: interface %s already carries VIP %s; one alias holds one VIP: use another alias such as %s", where, s.Interface, v, nextAlias(s.Interface, ifaceVIP))
		}
		if f, ok := vipIface[s.VIP]; ok && f != s.Interface {
			return bad("%s: VIP %s is on %s in another service; one VIP lives on one alias", where, s.VIP, f)
		}
		ifaceVIP[s.Interface], vipIface[s.VIP] = s.VIP, s.Interface
		if m, ok := vipMask[s.VIP]; ok && m != s.Netmask {
			return bad("%s: VIP %s has netmask %s in another service; one VIP has one netmask", where, s.VIP, m)
		}
		vipMask[s.VIP] = s.Netmask
		if v, ok := loVIP[s.LoAlias]; ok && v != s.VIP {
			return bad("%s: lo_alias %s already carries VIP %s on the real servers; use another lo alias", where, s.LoAlias, v)
		}
		if f, ok := vipLo[s.VIP]; ok && f != s.LoAlias {
			return bad("%s: VIP %s is on %s in another service; one VIP lives on one loopback alias", where, s.VIP, f)
		}
		loVIP[s.LoAlias], vipLo[s.VIP] = s.VIP, s.LoAlias
	}
	return nil
}

func knownScheduler(s string) bool {
	for _, x := range Schedulers() {
		if x == s {
			return true
		}
	}
	return false
}

func contiguousMask(a netip.Addr) bool {
	b := a.As4()
	v := uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
	inv := ^v
	return inv&(inv+1) == 0
}

// checkProbe allows printable ASCII without double quotes (the value sits in
// a quoted string in lvs.cf) and at most 255 bytes; \r and \n are written as
// the two-character escapes piranha's nanny understands.
func checkProbe(s string) error {
	if len(s) > 255 {
		return fmt.Errorf("longer than 255 bytes")
	}
	for _, r := range s {
		if r < 0x20 || r > 0x7e || r == '"' {
			return fmt.Errorf("only printable ASCII without '\"' is allowed (write CR LF as \\r\\n)")
		}
	}
	return nil
}

func nextAlias(iface string, used map[string]string) string {
	base := iface[:strings.IndexByte(iface, ':')]
	for n := 1; n < 10000; n++ {
		a := fmt.Sprintf("%s:%d", base, n)
		if _, ok := used[a]; !ok {
			return a
		}
	}
	return base + ":N"
}

// ValidateImport checks the clusters of an import document as PUT would:
// each against the stored hosts overlaid with the document's hosts (same
// first MAC replaces) and the stored clusters overlaid with the document's.
func ValidateImport(storedClusters []inventory.Cluster, storedHosts []inventory.Host, clusters []inventory.Cluster, hosts []inventory.Host) error {
	byMAC := map[string]int{}
	var allHosts []inventory.Host
	key := func(h *inventory.Host) string {
		if len(h.MACs) == 0 {
			return "host:" + h.Hostname
		}
		if m, err := inventory.NormalizeMAC(h.MACs[0]); err == nil {
			return m
		}
		return h.MACs[0]
	}
	for _, set := range [][]inventory.Host{storedHosts, hosts} {
		for i := range set {
			k := key(&set[i])
			if j, ok := byMAC[k]; ok {
				allHosts[j] = set[i]
				continue
			}
			byMAC[k] = len(allHosts)
			allHosts = append(allHosts, set[i])
		}
	}
	byName := map[string]int{}
	var allClusters []inventory.Cluster
	for _, set := range [][]inventory.Cluster{storedClusters, clusters} {
		for _, c := range set {
			if j, ok := byName[c.Name]; ok {
				allClusters[j] = c
				continue
			}
			byName[c.Name] = len(allClusters)
			allClusters = append(allClusters, c)
		}
	}
	for i := range clusters {
		if err := Validate(&clusters[i], allHosts, allClusters); err != nil {
			return fmt.Errorf("clusters[%d] (%s): %w", i, clusters[i].Name, err)
		}
	}
	return nil
}
