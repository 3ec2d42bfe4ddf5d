// Package adopt reads what a site already runs (dnsmasq, ISC dhcpd, Kea,
// piranha lvs.cf, pxelinux.cfg, Cobbler system records) into an inventory
// dump, and lists every setting the dump cannot represent instead of
// dropping it. Readers are pure: bytes in, a Result out; ReadPath is the one
// function here that touches the file system.
package adopt

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/netkick/netkick/inventory"
)

// File is one input file: its name (as shown in reports) and its bytes.
type File struct {
	Name string
	Data []byte
}

// Note is one setting of the source that the inventory does not hold.
type Note struct {
	Source string `json:"source"` // "FILE:LINE"
	Item   string `json:"item"`   // what the setting is, e.g. "dhcp-range=10.0.0.50,10.0.0.150,12h"
	Reason string `json:"reason"` // why it is not imported, and what to do instead
}

func (n Note) String() string { return n.Source + ": " + n.Item + ": " + n.Reason }

// Result is what a reader made of a site's configuration.
type Result struct {
	Dump inventory.Dump
	// Notes lists what could not be represented, in source order.
	Notes []Note
	// Origin gives, for each imported host's first MAC, where it was read.
	Origin map[string]string
	// lvs holds the lvs.cf files read, until Reconcile matches their
	// directors and real servers to hosts.
	lvs []lvsRead
}

// Formats are the names Read accepts.
func Formats() []string { return []string{"dnsmasq", "dhcpd", "kea", "pxelinux", "cobbler", "lvs"} }

// Read parses files of the given format.
func Read(format string, files []File) (*Result, error) {
	switch format {
	case "dnsmasq":
		return ReadDnsmasq(files)
	case "dhcpd":
		return ReadDhcpd(files)
	case "kea":
		return ReadKea(files)
	case "pxelinux":
		return ReadPxelinux(files)
	case "cobbler":
		return ReadCobbler(files)
	case "lvs":
		return ReadLVS(files)
	}
	return nil, fmt.Errorf("unknown import format %q: want one of %s", format, strings.Join(Formats(), ", "))
}

// MaxFileSize bounds what ReadPath loads from one file.
const MaxFileSize = 16 << 20

// ReadPath loads a file, or every regular file of a directory in name order
// (skipping names dnsmasq's conf-dir skips: starting with '.', ending in '~',
// or '#…#').
func ReadPath(path string) ([]File, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	names := []string{path}
	if st.IsDir() {
		ents, err := os.ReadDir(path)
		if err != nil {
			return nil, err
		}
		names = names[:0]
		for _, e := range ents {
			n := e.Name()
			if !e.Type().IsRegular() || strings.HasPrefix(n, ".") || strings.HasSuffix(n, "~") ||
				(strings.HasPrefix(n, "#") && strings.HasSuffix(n, "#")) {
				continue
			}
			names = append(names, filepath.Join(path, n))
		}
		sort.Strings(names)
		if len(names) == 0 {
			return nil, fmt.Errorf("%s: the directory holds no configuration files", path)
		}
	}
	var out []File
	for _, n := range names {
		st, err := os.Stat(n)
		if err != nil {
			return nil, err
		}
		if st.Size() > MaxFileSize {
			return nil, fmt.Errorf("%s: %d bytes; the limit is %d", n, st.Size(), MaxFileSize)
		}
		b, err := os.ReadFile(n)
		if err != nil {
			return nil, err
		}
		out = append(out, File{Name: n, Data: b})
	}
	return out, nil
}

// builder collects hosts, merging entries for one machine and reporting
// entries that contradict each other.
type builder struct {
	res    Result
	byMAC  map[string]int // MAC -> index in hosts
	byName map[string]int
	byIP   map[string]int
	src    []string // per host: where it was first read
}

func newBuilder() *builder {
	return &builder{byMAC: map[string]int{}, byName: map[string]int{}, byIP: map[string]int{}, res: Result{Origin: map[string]string{}}}
}

func (b *builder) note(src, item, reason string) {
	b.res.Notes = append(b.res.Notes, Note{Source: src, Item: item, Reason: reason})
}

// fallbackName is the name given to a host its source names not.
func fallbackName(mac string) string { return "host-" + strings.ReplaceAll(mac, ":", "") }

// add records a host read at src. MACs must be normalized already.
func (b *builder) add(src string, h inventory.Host) {
	if len(h.MACs) == 0 {
		b.note(src, "host "+h.Hostname, "no hardware address: netkick identifies a machine by its MAC")
		return
	}
	if h.Hostname == "" {
		h.Hostname = fallbackName(h.MACs[0])
		b.note(src, "host "+h.MACs[0], "no host name in the source; imported as "+h.Hostname+" (rename with `netkick host set`)")
	} else if err := inventory.ValidateHostname(h.Hostname); err != nil {
		n := fallbackName(h.MACs[0])
		b.note(src, "host name "+quote(h.Hostname), "not a valid host name; imported as "+n)
		h.Hostname = n
	}
	if h.IP != "" {
		if ip := net.ParseIP(h.IP); ip == nil || ip.To4() == nil {
			b.note(src, "address "+quote(h.IP)+" of "+h.Hostname, "not an IPv4 address; the host is imported without one")
			h.IP = ""
		}
	}
	// The same MAC read before: the same machine, or a conflict.
	for _, m := range h.MACs {
		i, ok := b.byMAC[m]
		if !ok {
			continue
		}
		old := &b.res.Dump.Hosts[i]
		if h.IP != "" && old.IP != "" && h.IP != old.IP {
			b.note(src, "MAC "+m+" with address "+h.IP, fmt.Sprintf("conflict: %s gives the same MAC address %s (host %s); the first is kept", b.src[i], old.IP, old.Hostname))
			return
		}
		if h.Hostname != old.Hostname && !strings.HasPrefix(h.Hostname, "host-") {
			b.note(src, "MAC "+m+" named "+h.Hostname, fmt.Sprintf("conflict: %s names the same MAC %s; the first is kept", b.src[i], old.Hostname))
			return
		}
		b.merge(i, src, h)
		return
	}
	// The same name read before with other MACs: one machine with several NICs,
	// unless the addresses differ.
	if i, ok := b.byName[h.Hostname]; ok {
		old := &b.res.Dump.Hosts[i]
		if h.IP != "" && old.IP != "" && h.IP != old.IP {
			b.note(src, "host "+h.Hostname+" with address "+h.IP, fmt.Sprintf("conflict: %s gives host %s address %s; netkick holds one address per host, so this entry is not imported", b.src[i], h.Hostname, old.IP))
			return
		}
		b.merge(i, src, h)
		return
	}
	// The same address for another machine: the first keeps it.
	// The same address as another entry: one machine with several NICs
	// (dhcpd declares one host per NIC), its MACs merged under the first name.
	if i, ok := b.byIP[h.IP]; ok && h.IP != "" {
		b.note(src, "host "+h.Hostname+" at "+h.IP, fmt.Sprintf("%s gives the same address to host %s (%s): imported as a further MAC of that host; the name %s is not kept", b.src[i], b.res.Dump.Hosts[i].Hostname, b.res.Dump.Hosts[i].ID(), h.Hostname))
		h.Hostname = b.res.Dump.Hosts[i].Hostname
		b.merge(i, src, h)
		return
	}
	if h.IP != "" {
		b.byIP[h.IP] = len(b.res.Dump.Hosts)
	}
	b.byName[h.Hostname] = len(b.res.Dump.Hosts)
	for _, m := range h.MACs {
		b.byMAC[m] = len(b.res.Dump.Hosts)
	}
	b.src = append(b.src, src)
	b.res.Origin[h.MACs[0]] = src
	b.res.Dump.Hosts = append(b.res.Dump.Hosts, h)
}

func (b *builder) merge(i int, src string, h inventory.Host) {
	old := &b.res.Dump.Hosts[i]
	for _, m := range h.MACs {
		if _, ok := b.byMAC[m]; !ok {
			old.MACs = append(old.MACs, m)
			b.byMAC[m] = i
		}
	}
	if old.IP == "" && h.IP != "" {
		if _, taken := b.byIP[h.IP]; !taken {
			old.IP = h.IP
			b.byIP[h.IP] = i
		}
	}
	for k, v := range h.Labels {
		if old.Labels == nil {
			old.Labels = map[string]string{}
		}
		old.Labels[k] = v
	}
}

// done validates every host the way an import will, reporting (not
// dropping silently) those the inventory would refuse.
func (b *builder) done() *Result {
	hosts := b.res.Dump.Hosts[:0]
	for i, h := range b.res.Dump.Hosts {
		if err := inventory.NormalizeHost(&h); err != nil {
			b.note(b.src[i], "host "+h.Hostname, "not imported: "+err.Error())
			delete(b.res.Origin, h.MACs[0])
			continue
		}
		hosts = append(hosts, h)
	}
	sort.SliceStable(hosts, func(i, j int) bool { return hosts[i].Hostname < hosts[j].Hostname })
	b.res.Dump.Hosts = hosts
	return &b.res
}

// tagLabel turns a source's tag or class name into a label key, or "".
func tagLabel(prefix, tag string) string {
	k := prefix + strings.ToLower(tag)
	if inventory.ValidateName("label", k) != nil {
		return ""
	}
	return k
}

func quote(s string) string {
	if len(s) > 80 {
		s = s[:80] + "…"
	}
	return fmt.Sprintf("%q", s)
}

// normMAC returns the canonical form of an Ethernet address, or "".
func normMAC(s string) string {
	m, err := inventory.NormalizeMAC(strings.TrimSpace(s))
	if err != nil {
		return ""
	}
	return m
}

// Conflicts compares what a reader found with what is stored: the same MAC
// with another address or name, or an address stored for another machine.
// Each line names both sources. The import still applies the source's values
// (merge and replace overwrite by MAC), so a dry run shows them first.
func Conflicts(stored *inventory.Dump, r *Result) []string {
	byMAC := map[string]*inventory.Host{}
	byIP := map[string]*inventory.Host{}
	for i := range stored.Hosts {
		h := &stored.Hosts[i]
		for _, m := range h.MACs {
			byMAC[m] = h
		}
		if h.IP != "" {
			byIP[h.IP] = h
		}
	}
	var out []string
	for i := range r.Dump.Hosts {
		h := &r.Dump.Hosts[i]
		src := r.Origin[h.ID()]
		seen := map[*inventory.Host]bool{}
		for _, m := range h.MACs {
			old := byMAC[m]
			if old == nil || seen[old] {
				continue
			}
			seen[old] = true
			if old.IP != "" && h.IP != "" && old.IP != h.IP {
				out = append(out, fmt.Sprintf("MAC %s: the inventory has host %s at %s; %s gives %s at %s", m, old.Hostname, old.IP, src, h.Hostname, h.IP))
			} else if old.Hostname != h.Hostname && h.Hostname != fallbackName(h.MACs[0]) {
				out = append(out, fmt.Sprintf("MAC %s: the inventory names it %s; %s names it %s", m, old.Hostname, src, h.Hostname))
			}
		}
		if old := byIP[h.IP]; h.IP != "" && old != nil && !seen[old] {
			out = append(out, fmt.Sprintf("address %s: the inventory gives it to host %s (%s); %s gives it to %s (%s)", h.IP, old.Hostname, old.ID(), src, h.Hostname, h.ID()))
		}
	}
	return append(out, matchLVS(stored, r).conflicts...)
}

// Reconcile fits the hosts r read onto the stored inventory, so an import
// adopts machines netkick already knows instead of replacing them: a host
// found by one of its MACs, or else by its name, keeps its stored identity
// (first MAC), profile, layout, roles, params, state and every other field
// the source does not hold; the source adds MACs, sets the name (unless it
// had none), the address (when it gives one) and its labels. Re-running an
// import after hosts were given profiles changes nothing. Then the clusters
// of an lvs.cf are matched (ReadLVS): a cluster whose directors are hosts is
// added, those hosts get role lvs-director, the real servers found by address
// role lvs-real-server and the cluster, and every director, real server or
// setting that cannot be matched or held is appended to Notes.
func Reconcile(stored *inventory.Dump, r *Result) {
	byMAC := map[string]int{}
	byName := map[string]int{}
	for i := range stored.Hosts {
		for _, m := range stored.Hosts[i].MACs {
			byMAC[m] = i
		}
		byName[stored.Hosts[i].Hostname] = i
	}
	origin := map[string]string{}
	for i := range r.Dump.Hosts {
		h := &r.Dump.Hosts[i]
		src := r.Origin[h.ID()]
		j, ok := -1, false
		for _, m := range h.MACs {
			if j, ok = byMAC[m]; ok {
				break
			}
		}
		if !ok {
			j, ok = byName[h.Hostname]
		}
		if ok {
			old := stored.Hosts[j]
			n := old
			n.MACs = append([]string(nil), old.MACs...)
			have := map[string]bool{}
			for _, m := range n.MACs {
				have[m] = true
			}
			for _, m := range h.MACs {
				if !have[m] {
					n.MACs = append(n.MACs, m)
				}
			}
			if h.Hostname != fallbackName(h.MACs[0]) {
				n.Hostname = h.Hostname
			}
			if h.IP != "" {
				n.IP = h.IP
			}
			if len(h.Labels) > 0 {
				n.Labels = map[string]string{}
				for k, v := range old.Labels {
					n.Labels[k] = v
				}
				for k, v := range h.Labels {
					n.Labels[k] = v
				}
			}
			*h = n
		}
		origin[h.ID()] = src
	}
	r.Origin = origin

	// LVS clusters: their directors and real servers become roles of the
	// hosts (just reconciled, or stored) holding their addresses.
	m := matchLVS(stored, r)
	r.Notes = append(r.Notes, m.notes...)
	r.Dump.Clusters = append(r.Dump.Clusters, m.clusters...)
	inR := map[string]int{}
	for i := range r.Dump.Hosts {
		inR[r.Dump.Hosts[i].ID()] = i
	}
	for _, h := range m.hosts {
		if i, ok := inR[h.ID()]; ok {
			r.Dump.Hosts[i] = h
			continue
		}
		r.Dump.Hosts = append(r.Dump.Hosts, h)
		r.Origin[h.ID()] = "the inventory"
	}
	r.lvs = nil
}

func newHostWithLabels(mac string, labels map[string]string) inventory.Host {
	h := inventory.Host{MACs: []string{mac}}
	if len(labels) > 0 {
		h.Labels = labels
	}
	return h
}
