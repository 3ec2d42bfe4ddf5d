// Package ipvs applies an LVS cluster to the kernel's IPVS table: it reads
// the current table, computes the changes to reach the cluster (Diff, a pure
// function), applies only those, and reports connection counts (status). The
// kernel is reached through github.com/mqliang/libipvs behind the Kernel
// interface, on linux/amd64 only; elsewhere Open says IPVS is unsupported.
package ipvs

import (
	"fmt"
	"net/netip"
	"sort"
	"strings"
	"text/tabwriter"

	"github.com/netkick/netkick/lvs"
)

// Key identifies a virtual service: protocol (tcp or udp), address, port.
type Key struct {
	Protocol string
	Addr     netip.Addr
	Port     uint16
}

func (k Key) String() string {
	return fmt.Sprintf("%s %s", k.Protocol, netip.AddrPortFrom(k.Addr, k.Port))
}

// Service is one virtual service in a table, with its real servers.
type Service struct {
	Key
	Scheduler string
	// Persistent is the persistence timeout in seconds; 0 means none.
	Persistent uint32
	Dests      []Dest
}

// Dest is one real server of a service.
type Dest struct {
	Addr   netip.Addr
	Port   uint16
	Weight uint32
	// Fwd is the forwarding method: droute, masq, tunnel or localnode.
	Fwd string
	// Connection counts, filled when reading the kernel (ignored by Diff).
	ActiveConns, InactiveConns uint32
}

func (d Dest) addrPort() netip.AddrPort { return netip.AddrPortFrom(d.Addr, d.Port) }

// Table is a whole IPVS table (fwmark services are not represented).
type Table []Service

// FwdDirect is the forwarding method of every real server netkick adds.
const FwdDirect = "droute"

// Desired is the table a director should hold for plan p: one service per
// virtual service, one direct-routed destination per real server.
func Desired(p *lvs.Plan) (Table, error) {
	var t Table
	for _, s := range p.Services {
		addr, err := netip.ParseAddr(s.VIP)
		if err != nil {
			return nil, fmt.Errorf("service %s: VIP %q: %w", s.Name, s.VIP, err)
		}
		svc := Service{Key: Key{Protocol: s.Protocol, Addr: addr, Port: uint16(s.Port)}, Scheduler: s.Scheduler, Persistent: uint32(s.Persistent)}
		for _, r := range s.Reals {
			ra, err := netip.ParseAddr(r.IP)
			if err != nil {
				return nil, fmt.Errorf("service %s: real server %s: address %q: %w", s.Name, r.Name, r.IP, err)
			}
			svc.Dests = append(svc.Dests, Dest{Addr: ra, Port: uint16(r.Port), Weight: uint32(r.Weight), Fwd: FwdDirect})
		}
		t = append(t, svc)
	}
	return t, nil
}

// Op is the kind of a change.
type Op string

// The changes Diff produces, named after ipvsadm's commands.
const (
	AddService  Op = "add-service"    // ipvsadm -A
	EditService Op = "edit-service"   // ipvsadm -E
	DelService  Op = "delete-service" // ipvsadm -D (its servers go with it)
	AddServer   Op = "add-server"     // ipvsadm -a
	EditServer  Op = "edit-server"    // ipvsadm -e
	DelServer   Op = "delete-server"  // ipvsadm -d
)

// Change is one step from the current table towards the desired one.
// Service carries no Dests; Dest is set for the *-server ops.
type Change struct {
	Op      Op
	Service Service
	Dest    Dest
	// Why explains an edit (e.g. "scheduler rr -> lc").
	Why string
}

func (c Change) String() string {
	s := fmt.Sprintf("%-14s %s", c.Op, c.Service.Key)
	switch c.Op {
	case AddService:
		s += " scheduler " + c.Service.Scheduler
		if c.Service.Persistent > 0 {
			s += fmt.Sprintf(" persistent %ds", c.Service.Persistent)
		}
	case AddServer:
		s += fmt.Sprintf(" -> %s weight %d", c.Dest.addrPort(), c.Dest.Weight)
	case EditServer, DelServer:
		s += " -> " + c.Dest.addrPort().String()
	}
	if c.Why != "" {
		s += " (" + c.Why + ")"
	}
	return s
}

// Diff lists the changes that turn current into desired, in an order that is
// safe to apply: removed services first, then per service (sorted by key)
// add/edit the service, remove stale servers, add new ones, edit changed
// ones. Identical tables give no changes. Connection counts are ignored.
func Diff(desired, current Table) []Change {
	cur := index(current)
	want := index(desired)
	var out []Change
	for _, k := range sortedKeys(cur) {
		if _, ok := want[k]; !ok {
			out = append(out, Change{Op: DelService, Service: bare(cur[k])})
		}
	}
	for _, k := range sortedKeys(want) {
		w := want[k]
		c, exists := cur[k]
		if !exists {
			out = append(out, Change{Op: AddService, Service: bare(w)})
			for _, d := range sortedDests(w.Dests) {
				out = append(out, Change{Op: AddServer, Service: bare(w), Dest: d})
			}
			continue
		}
		var why []string
		if c.Scheduler != w.Scheduler {
			why = append(why, fmt.Sprintf("scheduler %s -> %s", c.Scheduler, w.Scheduler))
		}
		if c.Persistent != w.Persistent {
			why = append(why, fmt.Sprintf("persistent %ds -> %ds", c.Persistent, w.Persistent))
		}
		if len(why) > 0 {
			out = append(out, Change{Op: EditService, Service: bare(w), Why: strings.Join(why, ", ")})
		}
		cd, wd := destIndex(c.Dests), destIndex(w.Dests)
		for _, d := range sortedDests(c.Dests) {
			if _, ok := wd[d.addrPort()]; !ok {
				out = append(out, Change{Op: DelServer, Service: bare(w), Dest: d})
			}
		}
		for _, d := range sortedDests(w.Dests) {
			if _, ok := cd[d.addrPort()]; !ok {
				out = append(out, Change{Op: AddServer, Service: bare(w), Dest: d})
			}
		}
		for _, d := range sortedDests(w.Dests) {
			old, ok := cd[d.addrPort()]
			if !ok {
				continue
			}
			var why []string
			if old.Weight != d.Weight {
				why = append(why, fmt.Sprintf("weight %d -> %d", old.Weight, d.Weight))
			}
			if old.Fwd != d.Fwd {
				why = append(why, fmt.Sprintf("forwarding %s -> %s", old.Fwd, d.Fwd))
			}
			if len(why) > 0 {
				out = append(out, Change{Op: EditServer, Service: bare(w), Dest: d, Why: strings.Join(why, ", ")})
			}
		}
	}
	return out
}

func bare(s Service) Service {
	s.Dests = nil
	return s
}

func index(t Table) map[Key]Service {
	m := make(map[Key]Service, len(t))
	for _, s := range t {
		m[s.Key] = s
	}
	return m
}

func destIndex(ds []Dest) map[netip.AddrPort]Dest {
	m := make(map[netip.AddrPort]Dest, len(ds))
	for _, d := range ds {
		m[d.addrPort()] = d
	}
	return m
}

func keyLess(a, b Key) bool {
	if c := a.Addr.Compare(b.Addr); c != 0 {
		return c < 0
	}
	if a.Port != b.Port {
		return a.Port < b.Port
	}
	return a.Protocol < b.Protocol
}

func sortedKeys(m map[Key]Service) []Key {
	keys := make([]Key, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return keyLess(keys[i], keys[j]) })
	return keys
}

func sortedDests(ds []Dest) []Dest {
	out := append([]Dest(nil), ds...)
	sort.Slice(out, func(i, j int) bool { return out[i].addrPort().Compare(out[j].addrPort()) < 0 })
	return out
}

// Sorted returns t with services and their servers in a stable order.
func Sorted(t Table) Table {
	out := make(Table, 0, len(t))
	for _, s := range t {
		s.Dests = sortedDests(s.Dests)
		out = append(out, s)
	}
	sort.Slice(out, func(i, j int) bool { return keyLess(out[i].Key, out[j].Key) })
	return out
}

// FormatStatus prints a table the way `netkick lvs status` shows it: each
// service with scheduler and persistence, then each of its servers with
// forwarding method, weight and active/inactive connections.
func FormatStatus(t Table) string {
	if len(t) == 0 {
		return "no virtual services in the kernel's IPVS table\n"
	}
	var b strings.Builder
	tw := tabwriter.NewWriter(&b, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "SERVICE\tSCHED\tPERSIST\tSERVER\tFORWARD\tWEIGHT\tACTIVE\tINACTIVE")
	for _, s := range Sorted(t) {
		persist := "-"
		if s.Persistent > 0 {
			persist = fmt.Sprintf("%ds", s.Persistent)
		}
		fmt.Fprintf(tw, "%s %s\t%s\t%s\t\t\t\t\t\n", s.Protocol, netip.AddrPortFrom(s.Addr, s.Port), s.Scheduler, persist)
		for _, d := range s.Dests {
			fmt.Fprintf(tw, "\t\t\t%s\t%s\t%d\t%d\t%d\n", d.addrPort(), d.Fwd, d.Weight, d.ActiveConns, d.InactiveConns)
		}
	}
	tw.Flush()
	lines := strings.Split(b.String(), "\n")
	for i := range lines {
		lines[i] = strings.TrimRight(lines[i], " ")
	}
	return strings.Join(lines, "\n")
}
