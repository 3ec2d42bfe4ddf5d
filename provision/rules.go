package provision

import (
	"fmt"
	"net/netip"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"
	_ "time/tzdata" // zone names are checked against the embedded database, not only the machine's

	"github.com/netkick/netkick/inventory"
	"github.com/netkick/netkick/kickstart/layout"
)

// CheckTimezone accepts an IANA zone name such as Europe/Paris or UTC. The
// zone database is embedded, so the answer does not depend on the machine's
// /usr/share/zoneinfo.
func CheckTimezone(z string) error {
	if err := inventory.ValidateTimezone(z); err != nil {
		return err
	}
	if z == "Local" {
		return fmt.Errorf("%w: timezone %q: name a zone such as Europe/Paris; Local means the server's own zone", inventory.ErrInvalid, z)
	}
	if _, err := time.LoadLocation(z); err != nil {
		return fmt.Errorf("%w: timezone %q is not an IANA zone; use a name such as Europe/Paris, America/New_York or UTC (see `timedatectl list-timezones`)", inventory.ErrInvalid, z)
	}
	return nil
}

var (
	consoleRE = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9]{0,15}(,[0-9]{1,7}([noe][5-8]?r?)?)?$`)
	argRE     = regexp.MustCompile(`^[A-Za-z0-9_.,:/=+@%-]+$`)
)

// paramRules are the host parameters netkick gives meaning to, each with its check.
var paramRules = map[string]func(v string) error{
	"console": func(v string) error {
		if !consoleRE.MatchString(v) {
			return fmt.Errorf("want a console device and optional speed such as ttyS0 or ttyS0,115200n8")
		}
		return nil
	},
	"kernel_args": func(v string) error {
		for _, a := range strings.Fields(v) {
			if !argRE.MatchString(a) {
				return fmt.Errorf("argument %q: kernel arguments may hold letters, digits and _.,:/=+@%%- only (no shell or loader characters)", a)
			}
		}
		return nil
	},
	"bootloader": func(v string) error {
		switch strings.ToLower(v) {
		case "pxelinux", "ipxe", "undionly", "snponly", "grub":
			return nil
		}
		return fmt.Errorf("want pxelinux, ipxe, undionly, snponly or grub")
	},
	"ntp_server": func(v string) error {
		if inventory.ValidateHostname(v) != nil && inventory.ValidateIPv4("ntp_server", v) != nil {
			return fmt.Errorf("want a host name or an IPv4 address")
		}
		return nil
	},
	inventory.ParamLVSWeight: intRule(0, 65535),
	inventory.ParamLVSPort:   intRule(1, 65535),
	inventory.ParamLVSAddress: func(v string) error {
		if a, err := netip.ParseAddr(v); err != nil || !a.Is4() {
			return fmt.Errorf("want an IPv4 address such as 192.0.2.21")
		}
		return nil
	},
	inventory.ParamLVSClusters: func(v string) error {
		for _, c := range strings.Split(v, ",") {
			if err := inventory.ValidateName("cluster", strings.TrimSpace(c)); err != nil {
				return fmt.Errorf("want cluster names separated by commas")
			}
		}
		return nil
	},
}

func intRule(lo, hi int) func(string) error {
	return func(v string) error {
		n, err := strconv.Atoi(v)
		if err != nil || n < lo || n > hi {
			return fmt.Errorf("want a whole number from %d to %d", lo, hi)
		}
		return nil
	}
}

// KnownParams lists the parameter keys netkick checks by a rule of their own.
func KnownParams() []string {
	var out []string
	for k := range paramRules {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// CheckParam checks one host parameter: its key and value in general, and by
// the key's own rule where netkick knows the key.
func CheckParam(k, v string) error {
	if err := inventory.ValidateName("param", k); err != nil {
		return err
	}
	if err := inventory.ValidateValue("param "+k, v); err != nil {
		return err
	}
	if rule := paramRules[k]; rule != nil {
		if err := rule(v); err != nil {
			return fmt.Errorf("%w: param %s=%q: %v", inventory.ErrInvalid, k, trunc(v), err)
		}
	}
	return nil
}

// Known is what a host may refer to: the names that exist.
type Known struct {
	Profiles map[string]bool
	Layouts  map[string]bool // stored and built-in
	Clusters map[string]bool
}

// NewKnown builds the name sets from lists; the built-in layouts are always known.
func NewKnown(profiles []inventory.Profile, layouts []inventory.Layout, clusters []inventory.Cluster) Known {
	k := Known{Profiles: map[string]bool{}, Layouts: map[string]bool{}, Clusters: map[string]bool{}}
	for _, p := range profiles {
		k.Profiles[p.Name] = true
	}
	for _, l := range layouts {
		k.Layouts[l.Name] = true
	}
	for _, n := range layout.BuiltinNames() {
		k.Layouts[n] = true
	}
	for _, c := range clusters {
		k.Clusters[c.Name] = true
	}
	return k
}

// CheckHost checks everything about a host that is not a matter of its own
// fields alone: a timezone that exists, parameters by their rules, and a
// profile, layout and clusters that exist in k. Field syntax is checked by
// inventory.NormalizeHost, which runs first.
func CheckHost(h *inventory.Host, k Known) error {
	if err := inventory.NormalizeHost(h); err != nil {
		return err
	}
	if h.Timezone != "" {
		if err := CheckTimezone(h.Timezone); err != nil {
			return err
		}
	}
	keys := make([]string, 0, len(h.Params))
	for key := range h.Params {
		keys = append(keys, key)
	}
	sort.Strings(keys)
	for _, key := range keys {
		if err := CheckParam(key, h.Params[key]); err != nil {
			return err
		}
	}
	if h.Profile != "" && !k.Profiles[h.Profile] {
		return &Error{Kind: inventory.ErrInvalid, Msg: fmt.Sprintf("host %s: profile %s does not exist", h.Hostname, h.Profile),
			Hint: "create it first (`netkick profile add " + h.Profile + " …`), or name one of: " + names(k.Profiles)}
	}
	if h.Layout != "" && !k.Layouts[h.Layout] {
		return &Error{Kind: inventory.ErrInvalid, Msg: fmt.Sprintf("host %s: layout %s does not exist", h.Hostname, h.Layout),
			Hint: "create it first (`netkick layout put FILE`), or name one of: " + names(k.Layouts)}
	}
	clusters := []string{}
	if h.Cluster != "" {
		clusters = append(clusters, h.Cluster)
	}
	if v := h.Params[inventory.ParamLVSClusters]; v != "" {
		for _, c := range strings.Split(v, ",") {
			clusters = append(clusters, strings.TrimSpace(c))
		}
	}
	for _, c := range clusters {
		if !k.Clusters[c] {
			return &Error{Kind: inventory.ErrInvalid, Msg: fmt.Sprintf("host %s: cluster %s does not exist", h.Hostname, c),
				Hint: "create it first (`netkick lvs put FILE`), or name one of: " + names(k.Clusters)}
		}
	}
	return nil
}

// CheckProfile checks a profile's fields and what it refers to.
func CheckProfile(p *inventory.Profile, k Known) error {
	if err := inventory.ValidateProfile(p); err != nil {
		return err
	}
	if p.Timezone != "" {
		if err := CheckTimezone(p.Timezone); err != nil {
			return fmt.Errorf("profile %s: %w", p.Name, err)
		}
	}
	if p.Layout != "" && !k.Layouts[p.Layout] {
		return &Error{Kind: inventory.ErrInvalid, Msg: fmt.Sprintf("profile %s: layout %s does not exist", p.Name, p.Layout),
			Hint: "create it first (`netkick layout put FILE`), or name one of: " + names(k.Layouts)}
	}
	return nil
}

func names(m map[string]bool) string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	if len(out) == 0 {
		return "(none yet)"
	}
	sort.Strings(out)
	return strings.Join(out, ", ")
}

// Users says which entries name a profile, layout, cluster or host; deleting
// any of them is refused while the list is not empty.
type Users struct {
	Hosts    []inventory.Host
	Profiles []inventory.Profile
	Clusters []inventory.Cluster
}

// ProfileUsers lists the hosts whose profile is name.
func ProfileUsers(name string, u Users) []string {
	var out []string
	for _, h := range u.Hosts {
		if h.Profile == name {
			out = append(out, "host "+h.Hostname)
		}
	}
	return out
}

// LayoutUsers lists the hosts and profiles naming layout name.
func LayoutUsers(name string, u Users) []string {
	var out []string
	for _, h := range u.Hosts {
		if h.Layout == name {
			out = append(out, "host "+h.Hostname)
		}
	}
	for _, p := range u.Profiles {
		if p.Layout == name {
			out = append(out, "profile "+p.Name)
		}
	}
	return out
}

// ClusterUsers lists the hosts that are members of cluster name (its
// directors and real servers, by Host.Cluster or the lvs_clusters param).
func ClusterUsers(name string, u Users) []string {
	var out []string
	for _, h := range u.Hosts {
		if h.Cluster == name {
			out = append(out, "host "+h.Hostname)
			continue
		}
		for _, c := range strings.Split(h.Params[inventory.ParamLVSClusters], ",") {
			if strings.TrimSpace(c) == name {
				out = append(out, "host "+h.Hostname)
				break
			}
		}
	}
	return out
}

// HostUsers lists the clusters that name host h as a director.
func HostUsers(h *inventory.Host, u Users) []string {
	var out []string
	for _, c := range u.Clusters {
		for _, ref := range []struct{ role, key string }{{"primary", c.Primary}, {"backup", c.Backup}} {
			if ref.key != "" && namesHost(h, ref.key) {
				out = append(out, "cluster "+c.Name+" ("+ref.role+")")
			}
		}
	}
	return out
}

// namesHost reports whether key (a hostname or a MAC in any spelling) is h.
func namesHost(h *inventory.Host, key string) bool {
	if strings.EqualFold(key, h.Hostname) {
		return true
	}
	if m, err := inventory.NormalizeMAC(key); err == nil {
		for _, x := range h.MACs {
			if x == m {
				return true
			}
		}
	}
	return false
}

func trunc(s string) string {
	if len(s) > 80 {
		return s[:80] + "…"
	}
	return s
}
