package lvs

import (
	"fmt"
	"net/netip"
	"regexp"
	"strings"
)

var urlPathRE = regexp.MustCompile(`^/[A-Za-z0-9._~/%?=&+-]*$`)

// PiranhaPath is where piranha's pulse and lvsd read the cluster definition.
// (Blog posts often call it lvs.conf; the CentOS piranha package reads lvs.cf.)
const PiranhaPath = "/etc/sysconfig/ha/lvs.cf"

// RenderPiranha writes the plan as piranha's lvs.cf: the global section
// (primary, backup, heartbeat, network = direct) and one virtual block per
// service with a server block per real server. Both directors get the same file.
func RenderPiranha(p *Plan) string {
	var b strings.Builder
	c := p.Cluster
	kv := func(indent int, k string, v any) {
		fmt.Fprintf(&b, "%s%s = %v\n", strings.Repeat(" ", indent), k, v)
	}
	kv(0, "serial_no", c.Serial)
	kv(0, "primary", p.Primary.IP)
	kv(0, "service", "lvs")
	if p.Backup.IP != "" {
		kv(0, "backup_active", 1)
		kv(0, "backup", p.Backup.IP)
	} else {
		kv(0, "backup_active", 0)
	}
	kv(0, "heartbeat", 1)
	kv(0, "heartbeat_port", c.Heartbeat.Port)
	kv(0, "keepalive", c.Heartbeat.Keepalive)
	kv(0, "deadtime", c.Heartbeat.Deadtime)
	kv(0, "network", c.Network)
	kv(0, "debug_level", "NONE")
	kv(0, "monitor_links", 0)
	kv(0, "syncdaemon", 0)
	for _, s := range p.Services {
		fmt.Fprintf(&b, "virtual %s {\n", s.Name)
		kv(5, "active", 1)
		kv(5, "address", s.VIP+" "+s.Interface)
		kv(5, "vip_nmask", s.Netmask)
		kv(5, "port", s.Port)
		if s.Persistent > 0 {
			kv(5, "persistent", s.Persistent)
		}
		if s.Send != "" {
			kv(5, "send", `"`+s.Send+`"`)
			kv(5, "expect", `"`+s.Expect+`"`)
		}
		kv(5, "use_regex", 0)
		kv(5, "load_monitor", "none")
		kv(5, "scheduler", s.Scheduler)
		kv(5, "protocol", s.Protocol)
		kv(5, "timeout", s.Timeout)
		kv(5, "reentry", s.Reentry)
		kv(5, "quiesce_server", 0)
		for _, r := range s.Reals {
			fmt.Fprintf(&b, "     server %s {\n", r.Name)
			kv(9, "address", r.IP)
			kv(9, "active", 1)
			kv(9, "port", r.Port)
			kv(9, "weight", r.Weight)
			b.WriteString("     }\n")
		}
		b.WriteString("}\n")
	}
	return b.String()
}

// RenderIPVSadm writes the plan as an `ipvsadm -R` rule set (the format
// `ipvsadm -S -n` prints): one -A line per service, one -a line per real
// server with -g (direct routing).
func RenderIPVSadm(p *Plan) string {
	var b strings.Builder
	for _, s := range p.Services {
		svc := serviceFlag(s.Protocol) + " " + s.VIP + ":" + fmt.Sprint(s.Port)
		fmt.Fprintf(&b, "-A %s -s %s", svc, s.Scheduler)
		if s.Persistent > 0 {
			fmt.Fprintf(&b, " -p %d", s.Persistent)
		}
		b.WriteString("\n")
		for _, r := range s.Reals {
			fmt.Fprintf(&b, "-a %s -r %s:%d -g -w %d\n", svc, r.IP, r.Port, r.Weight)
		}
	}
	return b.String()
}

func serviceFlag(proto string) string {
	if proto == "udp" {
		return "-u"
	}
	return "-t"
}

// RenderKeepalived writes keepalived.conf for one director (its hostname,
// primary or backup): a vrrp_instance holding every VIP (MASTER with priority
// 150 on the primary, BACKUP with 100 on the backup; advert_int is the
// heartbeat keepalive) and a virtual_server per service with lb_kind DR,
// lb_algo the scheduler and one real_server per real server. A send string
// of the form "GET /path ..." becomes an HTTP_GET check of that path
// (status 200); other TCP services get a TCP_CHECK; UDP services no checker.
func RenderKeepalived(p *Plan, director string) (string, error) {
	state, prio := "MASTER", 150
	switch {
	case strings.EqualFold(director, p.Primary.Name) || director == p.Primary.IP || director == "":
		director = p.Primary.Name
	case p.Backup.Name != "" && (strings.EqualFold(director, p.Backup.Name) || director == p.Backup.IP):
		director, state, prio = p.Backup.Name, "BACKUP", 100
	default:
		return "", fmt.Errorf("cluster %s: %q is not one of its directors (%s); name the primary or the backup", p.Cluster.Name, director, strings.TrimSuffix(p.Primary.Name+" "+p.Backup.Name, " "))
	}
	c := p.Cluster
	var b strings.Builder
	fmt.Fprintf(&b, "! keepalived.conf for LVS cluster %s on director %s\n", c.Name, director)
	fmt.Fprintf(&b, "global_defs {\n    router_id %s\n}\n\n", director)
	vs := p.VIPs()
	dev := "eth0"
	if len(vs) > 0 {
		dev = baseDevice(vs[0].Interface)
	}
	fmt.Fprintf(&b, "vrrp_instance %s {\n", c.Name)
	fmt.Fprintf(&b, "    state %s\n    interface %s\n    virtual_router_id %d\n    priority %d\n    advert_int %d\n",
		state, dev, c.Heartbeat.RouterID, prio, c.Heartbeat.Keepalive)
	if len(vs) > 0 {
		b.WriteString("    virtual_ipaddress {\n")
		for _, v := range vs {
			fmt.Fprintf(&b, "        %s/%d dev %s label %s\n", v.Addr, maskBits(v.Netmask), baseDevice(v.Interface), v.Interface)
		}
		b.WriteString("    }\n")
	}
	b.WriteString("}\n")
	for _, s := range p.Services {
		fmt.Fprintf(&b, "\nvirtual_server %s %d {\n", s.VIP, s.Port)
		fmt.Fprintf(&b, "    delay_loop %d\n    lb_algo %s\n    lb_kind DR\n", s.Timeout, s.Scheduler)
		if s.Persistent > 0 {
			fmt.Fprintf(&b, "    persistence_timeout %d\n", s.Persistent)
		}
		fmt.Fprintf(&b, "    protocol %s\n", strings.ToUpper(s.Protocol))
		for _, r := range s.Reals {
			fmt.Fprintf(&b, "\n    real_server %s %d {\n        weight %d\n", r.IP, r.Port, r.Weight)
			switch path, ok := httpPath(s.Send); {
			case s.Protocol == "udp":
			case ok:
				fmt.Fprintf(&b, "        HTTP_GET {\n            url {\n                path %s\n                status_code 200\n            }\n            connect_timeout %d\n        }\n", path, s.Timeout)
			default:
				fmt.Fprintf(&b, "        TCP_CHECK {\n            connect_timeout %d\n        }\n", s.Timeout)
			}
			b.WriteString("    }\n")
		}
		b.WriteString("}\n")
	}
	return b.String(), nil
}

// httpPath extracts the path of a "GET /path HTTP/1.x..." send string.
func httpPath(send string) (string, bool) {
	f := strings.Fields(send)
	if len(f) >= 2 && f[0] == "GET" && urlPathRE.MatchString(f[1]) {
		return f[1], true
	}
	return "", false
}

func baseDevice(alias string) string {
	if i := strings.IndexByte(alias, ':'); i > 0 {
		return alias[:i]
	}
	return alias
}

func maskBits(mask string) int {
	a, err := netip.ParseAddr(mask)
	if err != nil || !a.Is4() {
		return 32
	}
	n := 0
	for _, x := range a.As4() {
		for i := 7; i >= 0; i-- {
			if x&(1<<i) != 0 {
				n++
			}
		}
	}
	return n
}

// Formats lists the formats Render accepts.
func Formats() []string { return []string{"piranha", "keepalived", "ipvsadm"} }

// Render renders p in one of Formats; director picks the keepalived.conf
// (primary when empty) and is ignored by the other formats.
func Render(p *Plan, format, director string) (string, error) {
	switch format {
	case "piranha", "lvs.cf", "":
		return RenderPiranha(p), nil
	case "keepalived":
		return RenderKeepalived(p, director)
	case "ipvsadm":
		return RenderIPVSadm(p), nil
	}
	return "", fmt.Errorf("format %q is unknown: want one of %s", format, strings.Join(Formats(), ", "))
}
