package adopt

import (
	"bytes"
	"encoding/json"
	"fmt"
	"sort"
	"strings"

	"github.com/netkick/netkick/inventory"
)

// ReadCobbler reads Cobbler 3 system records: the JSON files under
// /var/lib/cobbler/collections/systems/ (one object each), or a JSON array
// as the XML-RPC get_systems call returns. Each system becomes a host: the
// MACs of its interfaces (the management interface first), the address of
// the management interface (else the first with one), its hostname (else an
// interface's dns_name, else the system name), and label cobbler.profile.
// Kernel options, autoinstall templates, gateways, name servers and power
// settings are listed in Notes (secrets without their values).
func ReadCobbler(files []File) (*Result, error) {
	b := newBuilder()
	for _, f := range files {
		data := bytes.TrimSpace(f.Data)
		var systems []map[string]any
		if len(data) > 0 && data[0] == '[' {
			if err := json.Unmarshal(data, &systems); err != nil {
				return nil, fmt.Errorf("%s: not a JSON array of Cobbler systems: %v", f.Name, err)
			}
		} else {
			var one map[string]any
			if err := json.Unmarshal(data, &one); err != nil {
				return nil, fmt.Errorf("%s: not a Cobbler system record (JSON object): %v", f.Name, err)
			}
			systems = append(systems, one)
		}
		for i, s := range systems {
			src := f.Name
			if len(systems) > 1 || (len(data) > 0 && data[0] == '[') {
				src = fmt.Sprintf("%s: [%d]", f.Name, i)
			}
			cobblerSystem(b, src, s)
		}
	}
	return b.done(), nil
}

// cobblerSecret are fields whose values are never copied into a note.
var cobblerSecret = map[string]bool{"power_pass": true, "redhat_management_key": true}

// cobblerNoted are fields listed when set: they configure what netkick does
// its own way.
var cobblerNoted = map[string]string{
	"kernel_options": "kernel arguments belong to a netkick profile (kernel_args)", "kernel_options_post": "kernel arguments belong to a netkick profile",
	"autoinstall": "netkick renders its own kickstart from the host's profile and template", "autoinstall_meta": "template variables are netkick params (`host set --param`)",
	"gateway": "routers are netkick's DHCP configuration", "name_servers": "DNS servers are netkick's DHCP configuration", "name_servers_search": "DNS search is netkick's DHCP configuration",
	"next_server_v4": "netkick serves the boot files itself", "filename": "netkick chooses the boot file", "image": "netkick boots profiles, not images",
	"power_type": "power control is configured per host in netkick (docs/power.md)", "power_address": "power control is configured per host in netkick (docs/power.md)",
	"power_user": "power control is configured per host in netkick (docs/power.md)", "power_pass": "power control is configured per host in netkick (docs/power.md)",
	"power_id": "power control is configured per host in netkick (docs/power.md)", "mgmt_classes": "configuration management classes are not inventory",
	"redhat_management_key": "not inventory",
}

func cobblerSystem(b *builder, src string, s map[string]any) {
	name := str(s["name"])
	what := "system " + name
	var h inventory.Host
	ifs, _ := s["interfaces"].(map[string]any)
	names := make([]string, 0, len(ifs))
	for n := range ifs {
		names = append(names, n)
	}
	sort.Strings(names)
	// The management interface first: its MAC is the host's identity.
	sort.SliceStable(names, func(i, j int) bool {
		mi, _ := ifs[names[i]].(map[string]any)
		mj, _ := ifs[names[j]].(map[string]any)
		return mi["management"] == true && mj["management"] != true
	})
	dnsName := ""
	for _, n := range names {
		m, _ := ifs[n].(map[string]any)
		if ip := str(m["ip_address"]); ip != "" {
			if h.IP == "" {
				h.IP = ip
			} else {
				b.note(src, what+": interface "+n+" ip_address "+ip, "netkick holds one address per host; "+h.IP+" is kept")
			}
		}
		if dn := str(m["dns_name"]); dn != "" && dnsName == "" {
			dnsName = dn
		}
		mac := str(m["mac_address"])
		if mac == "" {
			continue
		}
		nm := normMAC(mac)
		if nm == "" {
			b.note(src, what+": interface "+n+" mac_address "+quote(mac), "not a 6-byte Ethernet MAC; not imported")
			continue
		}
		h.MACs = append(h.MACs, nm)
	}
	switch {
	case str(s["hostname"]) != "":
		h.Hostname = strings.ToLower(str(s["hostname"]))
	case dnsName != "":
		h.Hostname = strings.ToLower(dnsName)
	default:
		h.Hostname = strings.ToLower(name)
	}
	if p := str(s["profile"]); p != "" {
		if k := "cobbler.profile"; inventory.ValidateValue(k, p) == nil {
			h.Labels = map[string]string{k: p}
		}
		b.note(src, what+": profile "+p, "kept as label cobbler.profile: create a netkick profile and `netkick host set HOST --profile NAME`")
	}
	keys := make([]string, 0, len(s))
	for k := range s {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		reason, ok := cobblerNoted[k]
		if !ok || cobblerEmpty(s[k]) {
			continue
		}
		item := what + ": " + k
		if cobblerSecret[k] {
			item += " (value not shown)"
		} else {
			item += " " + compact(s[k])
		}
		b.note(src, item, reason+"; not imported")
	}
	if len(h.MACs) == 0 {
		b.note(src, what, "no interface with a mac_address: netkick identifies a machine by its MAC; not imported")
		return
	}
	b.add(src, h)
}

// cobblerEmpty reports a value Cobbler stores for "not set".
func cobblerEmpty(v any) bool {
	switch x := v.(type) {
	case nil:
		return true
	case string:
		return x == "" || x == "<<inherit>>"
	case []any:
		return len(x) == 0
	case map[string]any:
		return len(x) == 0
	case bool:
		return !x
	}
	return false
}
