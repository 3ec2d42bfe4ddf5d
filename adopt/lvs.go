package adopt

import (
	"fmt"
	"net/netip"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/netkick/netkick/inventory"
	"github.com/netkick/netkick/lvs"
)

// lvsRead is one lvs.cf as lvs.ParsePiranhaReport read it, before its
// directors and real servers are matched to hosts (Reconcile does that: an
// lvs.cf names machines by address only, so it adopts hosts the inventory or
// an earlier import already has).
type lvsRead struct {
	file    string
	plan    *lvs.Plan
	skipped []lvs.Unmodeled
}

// ReadLVS reads piranha lvs.cf files, one cluster each, named after the file
// (lvs.cf → cluster "lvs", web.cf → "web"). The file is parsed by
// lvs.ParsePiranhaReport, the parser `netkick lvs` uses. The clusters and the
// hosts' roles appear in the Result only once Reconcile has matched the
// directors and real servers to hosts by address; what cannot be matched or
// represented is listed in Notes then.
func ReadLVS(files []File) (*Result, error) {
	b := newBuilder()
	for _, f := range files {
		name := lvsClusterName(f.Name)
		if err := inventory.ValidateName("cluster", name); err != nil {
			return nil, fmt.Errorf("%s: the cluster is named after the file: %w (rename the file)", f.Name, err)
		}
		p, skipped, err := lvs.ParsePiranhaReport(name, string(f.Data))
		if err != nil {
			return nil, fmt.Errorf("%s: %w", f.Name, err)
		}
		b.res.lvs = append(b.res.lvs, lvsRead{file: f.Name, plan: p, skipped: skipped})
	}
	return b.done(), nil
}

// lvsClusterName is the cluster name an lvs.cf file gives: its base name
// without the .cf or .conf extension, lower case.
func lvsClusterName(file string) string {
	n := filepath.Base(file)
	for _, ext := range []string{".cf", ".conf"} {
		n = strings.TrimSuffix(n, ext)
	}
	return strings.ToLower(n)
}

// lvsMatch is what matching the clusters read against hosts gives.
type lvsMatch struct {
	clusters  []inventory.Cluster
	hosts     []inventory.Host // hosts with the roles and membership the clusters give them
	notes     []Note
	conflicts []string
}

// matchLVS matches every cluster of r to hosts: r's own hosts first (a
// dnsmasq or dhcpd import reconciled with the store), then the stored ones.
// A director or real server is the host holding its address (Host.IP or
// lvs_address). Pure: it changes neither stored nor r.
func matchLVS(stored *inventory.Dump, r *Result) lvsMatch {
	var m lvsMatch
	if len(r.lvs) == 0 {
		return m
	}
	// The hosts to match against, by ID; r's version of a host wins.
	var hosts []inventory.Host
	idx := map[string]int{}
	for _, set := range [][]inventory.Host{r.Dump.Hosts, stored.Hosts} {
		for _, h := range set {
			if _, ok := idx[h.ID()]; ok {
				continue
			}
			idx[h.ID()] = len(hosts)
			hosts = append(hosts, copyHost(h))
		}
	}
	changed := map[int]bool{}
	storedClusters := map[string]inventory.Cluster{}
	for _, c := range stored.Clusters {
		storedClusters[c.Name] = c
	}
	for _, rd := range r.lvs {
		work := make([]inventory.Host, len(hosts))
		for i := range hosts {
			work[i] = copyHost(hosts[i])
		}
		c, touched := matchCluster(&m, rd, work, storedClusters[rd.plan.Cluster.Name])
		if c == nil {
			continue
		}
		// The cluster as the import will check it, against the others.
		others := append([]inventory.Cluster(nil), m.clusters...)
		for _, sc := range stored.Clusters {
			if sc.Name != c.Name {
				others = append(others, sc)
			}
		}
		if err := lvs.Validate(c, work, others); err != nil {
			m.notes = append(m.notes, Note{Source: rd.file, Item: "cluster " + c.Name, Reason: "not imported: " + err.Error()})
			continue
		}
		hosts = work
		m.clusters = append(m.clusters, *c)
		for i := range touched {
			changed[i] = true
		}
	}
	var is []int
	for i := range changed {
		is = append(is, i)
	}
	sort.Ints(is)
	for _, i := range is {
		m.hosts = append(m.hosts, hosts[i])
	}
	return m
}

func copyHost(h inventory.Host) inventory.Host {
	h.Roles = append([]string(nil), h.Roles...)
	h.MACs = append([]string(nil), h.MACs...)
	if h.Params != nil {
		p := make(map[string]string, len(h.Params))
		for k, v := range h.Params {
			p[k] = v
		}
		h.Params = p
	}
	return h
}

// matchCluster matches one lvs.cf. It returns the cluster to import (nil when
// it cannot be) and the indexes of the hosts it changed; hosts are changed
// only when the cluster is imported.
func matchCluster(m *lvsMatch, rd lvsRead, all []inventory.Host, old inventory.Cluster) (*inventory.Cluster, map[int]bool) {
	p := rd.plan
	name := p.Cluster.Name
	src := rd.file
	note := func(item, reason string) { m.notes = append(m.notes, Note{Source: src, Item: item, Reason: reason}) }
	// Settings the parser has no field for; inactive blocks are left out below.
	inactive := map[string]bool{}
	for _, u := range rd.skipped {
		item := u.Key + " = " + u.Value
		if u.Block != "" {
			item = u.Block + ": " + item
		}
		s := fmt.Sprintf("%s:%d", rd.file, u.Line)
		switch {
		case u.Key == "active" && u.Value == "0":
			inactive[u.Block] = true
			m.notes = append(m.notes, Note{Source: s, Item: item, Reason: "switched off in lvs.cf; netkick has no inactive entry, so it is not imported (add it when it goes live)"})
		case u.Key == "backup":
			m.notes = append(m.notes, Note{Source: s, Item: item, Reason: "the backup director is switched off (backup_active = 0); the cluster is imported without a backup"})
		default:
			m.notes = append(m.notes, Note{Source: s, Item: item, Reason: lvsUnmodeledReason(u.Key)})
		}
	}
	if !strings.EqualFold(p.Cluster.Network, "direct") {
		note("cluster "+name+" (network = "+p.Cluster.Network+")", "netkick implements direct routing only; the cluster, its "+strconv.Itoa(len(p.Services))+" virtual servers and their real servers are not imported")
		for _, s := range p.Services {
			note("virtual "+s.Name+" ("+s.VIP+":"+strconv.Itoa(s.Port)+")", "in a "+p.Cluster.Network+" cluster: not imported")
			for _, rs := range s.Reals {
				note("virtual "+s.Name+" / server "+rs.Name+" ("+rs.IP+")", "in a "+p.Cluster.Network+" cluster: not imported")
			}
		}
		return nil, nil
	}

	byAddr := func(ip string) int {
		for i := range all {
			if lvs.Address(&all[i]) == ip {
				return i
			}
		}
		return -1
	}
	byName := func(n string) int {
		for i := range all {
			if strings.EqualFold(all[i].Hostname, n) {
				return i
			}
		}
		return -1
	}
	c := p.Cluster
	c.Name = name
	director := func(role, ip string) (int, bool) {
		i := byAddr(ip)
		if i < 0 {
			note("cluster "+name+": "+role+" director "+ip, "no host has this address, so the cluster is not imported: import the site's DHCP configuration first (--from dnsmasq, dhcpd or kea) or `netkick host add MAC --hostname H --ip "+ip+"`, then import lvs.cf again")
			return -1, false
		}
		return i, true
	}
	pi, ok := director("primary", p.Primary.IP)
	if !ok {
		return nil, nil
	}
	c.Primary = all[pi].Hostname
	bi := -1
	if p.Backup.IP != "" {
		if bi, ok = director("backup", p.Backup.IP); !ok {
			return nil, nil
		}
		c.Backup = all[bi].Hostname
	}
	if old.Name != "" {
		if old.Primary != c.Primary {
			m.conflicts = append(m.conflicts, fmt.Sprintf("cluster %s: the inventory has primary director %s; %s gives %s (%s)", name, old.Primary, src, c.Primary, p.Primary.IP))
		}
		if old.Backup != c.Backup {
			m.conflicts = append(m.conflicts, fmt.Sprintf("cluster %s: the inventory has backup director %q; %s gives %q", name, old.Backup, src, c.Backup))
		}
		// What lvs.cf does not hold stays as stored.
		c.AdminNetwork, c.GUIPasswordHash = old.AdminNetwork, old.GUIPasswordHash
		if old.Heartbeat.RouterID != 0 {
			c.Heartbeat.RouterID = old.Heartbeat.RouterID
		}
	}

	// Real servers, per service; a real server of several services is one host.
	type member struct {
		host     int
		weight   int
		services map[string]bool
	}
	members := map[int]*member{}
	var order []int
	var services []inventory.VirtualService
	var addrs []netip.Addr
	for _, ip := range []string{p.Primary.IP, p.Backup.IP} {
		if a, err := netip.ParseAddr(ip); err == nil {
			addrs = append(addrs, a)
		}
	}
	for _, s := range p.Services {
		vb := "virtual " + s.Name
		if inactive[vb] {
			continue
		}
		services = append(services, s.VirtualService)
		for _, rs := range s.Reals {
			rb := vb + " / server " + rs.Name
			if inactive[rb] {
				continue
			}
			item := rb + " (" + rs.IP + ")"
			i := byAddr(rs.IP)
			if i < 0 {
				if j := byName(rs.Name); j >= 0 {
					m.conflicts = append(m.conflicts, fmt.Sprintf("%s: %s gives real server %s address %s; the inventory's host %s is at %q (not matched: netkick matches real servers by address)", name, src, rs.Name, rs.IP, all[j].Hostname, lvs.Address(&all[j])))
				}
				note(item, "no host has this address, so it is not a real server in netkick: add the host (or import the DHCP configuration that has it), then import lvs.cf again")
				continue
			}
			if i == pi || i == bi {
				note(item, "this is a director of the cluster; a director cannot balance to itself, so it is not imported as a real server")
				continue
			}
			if !strings.EqualFold(rs.Name, all[i].Hostname) && !strings.EqualFold(rs.Name, strings.SplitN(all[i].Hostname, ".", 2)[0]) {
				m.conflicts = append(m.conflicts, fmt.Sprintf("%s: %s names real server %s at %s; the inventory's host at that address is %s (matched by address)", name, src, rs.Name, rs.IP, all[i].Hostname))
			}
			if rs.Port != s.Port {
				note(item+" port "+strconv.Itoa(rs.Port), "direct routing does not change ports; netkick sends it service port "+strconv.Itoa(s.Port))
			}
			mb := members[i]
			if mb == nil {
				mb = &member{host: i, weight: rs.Weight, services: map[string]bool{}}
				members[i] = mb
				order = append(order, i)
				if a, err := netip.ParseAddr(rs.IP); err == nil {
					addrs = append(addrs, a)
				}
			} else if mb.weight != rs.Weight {
				note(item+" weight "+strconv.Itoa(rs.Weight), "netkick gives a real server one weight in a cluster; "+strconv.Itoa(mb.weight)+" (its first service's) is kept")
			}
			mb.services[s.Name] = true
		}
	}
	if len(services) == 0 {
		note("cluster "+name, "no active virtual server; not imported")
		return nil, nil
	}
	c.Services = services
	// netkick balances every service of a cluster to all its real servers.
	for _, i := range order {
		for _, s := range services {
			if !members[i].services[s.Name] {
				note("virtual "+s.Name+" / host "+all[i].Hostname, "lvs.cf does not list this real server for this virtual server, but netkick balances every service of a cluster to all its real servers: it will serve "+s.Name+" too (split the cluster if that is wrong)")
			}
		}
	}
	c.Subnet = lvsSubnet(old.Subnet, addrs)
	if c.Subnet != old.Subnet {
		note("cluster "+name+": subnet", "lvs.cf names none; set to "+c.Subnet+", the /24 (or the smallest network) holding the directors and real servers; change it in the cluster if the segment is wider")
	}

	touched := map[int]bool{}
	addRole := func(i int, role string) {
		h := &all[i]
		if !h.HasRole(role) {
			h.Roles = append(h.Roles, role)
			touched[i] = true
		}
		switch {
		case h.Cluster == "":
			h.Cluster = name
			touched[i] = true
		case h.Cluster == name:
		default:
			if role == inventory.RoleLVSRealServer && !lvs.IsMember(h, name) {
				cs := lvs.MemberOf(h)[1:]
				h.Params = setParam(h.Params, inventory.ParamLVSClusters, strings.Join(append(cs, name), ","))
				touched[i] = true
			}
		}
	}
	addRole(pi, inventory.RoleLVSDirector)
	if bi >= 0 {
		addRole(bi, inventory.RoleLVSDirector)
	}
	for _, i := range order {
		addRole(i, inventory.RoleLVSRealServer)
		w := members[i].weight
		cur, has := all[i].Params[inventory.ParamLVSWeight]
		switch {
		case w == lvs.DefaultWeight && !has:
		case has && cur == strconv.Itoa(w):
		default:
			if has && all[i].Cluster != name {
				note("host "+all[i].Hostname+" weight "+strconv.Itoa(w), "it already has "+inventory.ParamLVSWeight+"="+cur+" (one weight for all its clusters); kept")
				continue
			}
			all[i].Params = setParam(all[i].Params, inventory.ParamLVSWeight, strconv.Itoa(w))
			touched[i] = true
		}
	}
	return &c, touched
}

func setParam(p map[string]string, k, v string) map[string]string {
	if p == nil {
		p = map[string]string{}
	}
	p[k] = v
	return p
}

// lvsSubnet is the cluster's subnet: the stored one when it holds every
// address, else the /24 holding them all, else the smallest prefix that does.
func lvsSubnet(stored string, addrs []netip.Addr) string {
	holds := func(p netip.Prefix) bool {
		for _, a := range addrs {
			if !p.Contains(a) {
				return false
			}
		}
		return true
	}
	if p, err := netip.ParsePrefix(stored); err == nil && holds(p) {
		return stored
	}
	if len(addrs) == 0 {
		return ""
	}
	for bits := 24; bits >= 0; bits-- {
		if p, _ := addrs[0].Prefix(bits); holds(p) {
			return p.String()
		}
	}
	return "0.0.0.0/0"
}

// lvsUnmodeledReason says why a piranha setting is not imported.
func lvsUnmodeledReason(key string) string {
	switch key {
	case "nat_router", "nat_nmask", "primary_private", "backup_private":
		return "NAT and private heartbeat addresses have no place in netkick's direct-routing cluster; not imported"
	case "fwmark":
		return "firewall-mark services are not modelled; the service is imported by VIP and port"
	case "pmask":
		return "the persistence netmask is not modelled; netkick's persistence is per client address"
	case "send_program", "expect_program":
		return "netkick's health check is send/expect; an external check program is not imported"
	case "sorry_server", "fallback":
		return "a fallback server is not modelled; not imported"
	case "tcp_timeout", "tcpfin_timeout", "udp_timeout":
		return "IPVS connection timeouts are left at the kernel's defaults by netkick; not imported"
	case "debug_level", "monitor_links", "syncdaemon", "heartbeat", "use_regex", "load_monitor", "quiesce_server":
		return "netkick writes this setting with its default value; the value here is not imported"
	}
	return "not a setting netkick's cluster holds; not imported"
}
