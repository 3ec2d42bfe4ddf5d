package adopt

import (
	"bytes"
	"encoding/json"
	"fmt"
	"sort"
	"strings"

	"github.com/netkick/netkick/inventory"
)

// ReadKea reads a Kea DHCPv4 configuration (kea-dhcp4.conf: JSON with
// //, /* */ and # comments). Reservations in subnets, in shared networks'
// subnets and at global scope become hosts: hw-address, ip-address,
// hostname; client-classes become labels class.NAME=set. Subnets, pools,
// option-data (routers, DNS), boot fields, identifiers other than hw-address
// and the rest are listed in Notes, each with its JSON path.
func ReadKea(files []File) (*Result, error) {
	b := newBuilder()
	for _, f := range files {
		clean, err := stripKeaComments(f)
		if err != nil {
			return nil, err
		}
		var top map[string]any
		dec := json.NewDecoder(bytes.NewReader(clean))
		dec.UseNumber()
		if err := dec.Decode(&top); err != nil {
			return nil, fmt.Errorf("%s: not Kea JSON: %v (check it with kea-dhcp4 -t %s)", f.Name, err, f.Name)
		}
		d4, ok := top["Dhcp4"].(map[string]any)
		if !ok {
			return nil, fmt.Errorf("%s: no \"Dhcp4\" object: netkick reads kea-dhcp4.conf (DHCPv4)", f.Name)
		}
		k := keaWalker{b: b, file: f.Name}
		k.scope("Dhcp4", d4)
		for _, key := range sortedKeys(top) {
			if key != "Dhcp4" {
				b.note(f.Name+": "+key, key, "not DHCPv4 configuration; not imported")
			}
		}
	}
	return b.done(), nil
}

type keaWalker struct {
	b    *builder
	file string
}

func (k keaWalker) src(path string) string { return k.file + ": " + path }

// keaDaemonOnly are Dhcp4 keys about the server itself: nothing about machines.
var keaDaemonOnly = map[string]bool{
	"interfaces-config": true, "lease-database": true, "hosts-database": true, "hosts-databases": true, "loggers": true,
	"control-socket": true, "valid-lifetime": true, "renew-timer": true, "rebind-timer": true, "min-valid-lifetime": true,
	"max-valid-lifetime": true, "expired-leases-processing": true, "dhcp-ddns": true, "hooks-libraries": true,
	"authoritative": true, "match-client-id": true, "echo-client-id": true, "calculate-tee-times": true, "t1-percent": true,
	"t2-percent": true, "sanity-checks": true, "multi-threading": true, "server-tag": true, "user-context": true, "comment": true,
	"host-reservation-identifiers": true, "reservation-mode": true, "reservations-global": true, "reservations-in-subnet": true,
	"reservations-out-of-pool": true, "id": true, "interface": true, "relay": true, "name": true, "option-def": true,
	"decline-probation-period": true, "dhcp4o6-port": true, "statistic-default-sample-count": true, "statistic-default-sample-age": true,
}

// scope reads Dhcp4, a shared network or a subnet.
func (k keaWalker) scope(path string, m map[string]any) {
	for _, key := range sortedKeys(m) {
		v := m[key]
		p := path + "." + key
		switch key {
		case "subnet4", "shared-networks":
			for i, x := range list(v) {
				sm, ok := x.(map[string]any)
				if !ok {
					k.b.note(k.src(fmt.Sprintf("%s[%d]", p, i)), compact(x), "not an object; skipped")
					continue
				}
				if key == "subnet4" {
					k.b.note(k.src(fmt.Sprintf("%s[%d]", p, i)), "subnet "+str(sm["subnet"]), "subnets are netkick's DHCP configuration (docs/dhcp.md), not inventory; the reservations inside are imported")
				} else {
					k.b.note(k.src(fmt.Sprintf("%s[%d]", p, i)), "shared network "+str(sm["name"]), "shared networks are netkick's DHCP configuration; the reservations inside are imported")
				}
				k.scope(fmt.Sprintf("%s[%d]", p, i), sm)
			}
		case "reservations":
			for i, x := range list(v) {
				rm, ok := x.(map[string]any)
				if !ok {
					k.b.note(k.src(fmt.Sprintf("%s[%d]", p, i)), compact(x), "not an object; skipped")
					continue
				}
				k.reservation(fmt.Sprintf("%s[%d]", p, i), rm)
			}
		case "pools":
			for i, x := range list(v) {
				pm, _ := x.(map[string]any)
				k.b.note(k.src(fmt.Sprintf("%s[%d]", p, i)), "pool "+str(pm["pool"]), "address pools are netkick's DHCP configuration, not inventory")
			}
		case "option-data":
			for i, x := range list(v) {
				k.b.note(k.src(fmt.Sprintf("%s[%d]", p, i)), "option "+optionText(x), "DHCP options (routers, DNS, domain, …) are set in netkick's configuration, not per host")
			}
		case "boot-file-name", "next-server", "server-hostname":
			k.b.note(k.src(p), key+" "+compact(v), "netkick chooses the boot file and serves it itself; not imported")
		case "client-classes", "client-class", "require-client-classes":
			k.b.note(k.src(p), key+" "+compact(v), "client classification is netkick's own; not imported")
		default:
			if keaDaemonOnly[key] || key == "subnet" {
				continue
			}
			k.b.note(k.src(p), key+" "+compact(v), "not a host setting netkick holds; not imported")
		}
	}
}

// reservation reads one host reservation.
func (k keaWalker) reservation(path string, m map[string]any) {
	src := k.src(path)
	var h inventory.Host
	what := "reservation"
	if n := str(m["hostname"]); n != "" {
		what += " " + n
	}
	for _, key := range sortedKeys(m) {
		v := m[key]
		switch key {
		case "hw-address":
			mac := normMAC(str(v))
			if mac == "" {
				k.b.note(src, what+": hw-address "+compact(v), "not a 6-byte Ethernet MAC; not imported")
				return
			}
			h.MACs = append(h.MACs, mac)
		case "ip-address":
			h.IP = str(v)
		case "hostname":
			h.Hostname = strings.ToLower(str(v))
		case "client-classes":
			for _, c := range list(v) {
				if l := tagLabel("class.", str(c)); l != "" {
					if h.Labels == nil {
						h.Labels = map[string]string{}
					}
					h.Labels[l] = "set"
				} else {
					k.b.note(src, what+": class "+compact(c), "not a valid label name; not imported")
				}
			}
		case "client-id", "duid", "circuit-id", "flex-id":
			k.b.note(src, what+": "+key+" "+compact(v), "netkick matches hosts by MAC only; the identifier is not imported")
		case "boot-file-name", "next-server", "server-hostname":
			k.b.note(src, what+": "+key+" "+compact(v), "netkick chooses the boot file and serves it itself; not imported")
		case "option-data":
			for i, x := range list(v) {
				k.b.note(fmt.Sprintf("%s.option-data[%d]", src, i), what+": option "+optionText(x), "per-host DHCP options are not held by netkick")
			}
		case "user-context", "comment":
		default:
			k.b.note(src, what+": "+key+" "+compact(v), "not a host setting netkick holds; not imported")
		}
	}
	if len(h.MACs) == 0 {
		k.b.note(src, what, "no hw-address: netkick identifies a machine by its MAC; not imported")
		return
	}
	k.b.add(src, h)
}

// stripKeaComments blanks Kea's comments (// and # to the end of the line,
// /* … */), outside strings, keeping line breaks so JSON errors stay near
// their line.
func stripKeaComments(f File) ([]byte, error) {
	in := f.Data
	out := make([]byte, 0, len(in))
	for i := 0; i < len(in); i++ {
		c := in[i]
		switch {
		case c == '"':
			j := i + 1
			for ; j < len(in) && in[j] != '"'; j++ {
				if in[j] == '\\' {
					j++
				}
			}
			if j >= len(in) {
				return nil, fmt.Errorf("%s: a string is not closed", f.Name)
			}
			out = append(out, in[i:j+1]...)
			i = j
		case c == '#' || (c == '/' && i+1 < len(in) && in[i+1] == '/'):
			for i < len(in) && in[i] != '\n' {
				i++
			}
			if i < len(in) {
				out = append(out, '\n')
			}
		case c == '/' && i+1 < len(in) && in[i+1] == '*':
			end := bytes.Index(in[i+2:], []byte("*/"))
			if end < 0 {
				return nil, fmt.Errorf("%s: a /* comment is not closed", f.Name)
			}
			for _, x := range in[i : i+2+end+2] {
				if x == '\n' {
					out = append(out, '\n')
				}
			}
			i += 2 + end + 1
		case c == '<' && bytes.HasPrefix(in[i:], []byte("<?include")):
			return nil, fmt.Errorf("%s: <?include …?> is not followed: import the included file's content inline or as its own file", f.Name)
		default:
			out = append(out, c)
		}
	}
	return out, nil
}

func sortedKeys(m map[string]any) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

func list(v any) []any {
	l, _ := v.([]any)
	return l
}

func str(v any) string {
	s, _ := v.(string)
	return strings.TrimSpace(s)
}

// compact is a JSON value on one short line.
func compact(v any) string {
	b, _ := json.Marshal(v)
	return trunc(string(b))
}

func optionText(x any) string {
	m, _ := x.(map[string]any)
	n := str(m["name"])
	if n == "" {
		n = "code " + compact(m["code"])
	}
	return n + " " + compact(m["data"])
}
