// Package check is `netkick check`: it looks at a whole installation (the
// inventory, the boot root, the rendered configs, the DHCP config, the ports,
// the admin token file and the store) and says what would make a machine
// fail to boot, one problem per line, each with its fix.
//
// Checks are pure functions over Facts; gathering the facts (files, sockets,
// interfaces, the store) is the caller's I/O. Needed says which boot-root
// files the checks will look at, so the gatherer stats exactly those.
package check

import (
	"bytes"
	"fmt"
	"io/fs"
	"net/netip"
	"path"
	"sort"
	"strings"

	"github.com/netkick/netkick/boot"
	"github.com/netkick/netkick/inventory"
	"github.com/netkick/netkick/kickstart/lint"
)

// Problem is one thing wrong, with how to fix it.
type Problem struct {
	// Check names the check: profile-files, render, lint, loader, dhcp,
	// port, token-file, store.
	Check string `json:"check"`
	// Subject is what the problem is about: a profile, host, file, port…
	Subject string `json:"subject"`
	Problem string `json:"problem"`
	Fix     string `json:"fix"`
}

// String is the one-line form: "check subject: problem; fix: fix". Line
// breaks inside a message (an integrity report) become " / ".
func (p Problem) String() string {
	one := strings.NewReplacer("\r\n", " / ", "\n", " / ", "\r", " / ")
	return one.Replace(fmt.Sprintf("%s %s: %s; fix: %s", p.Check, p.Subject, strings.TrimSpace(p.Problem), p.Fix))
}

// File is what the gatherer found at a path under the boot root.
type File struct {
	Exists bool  `json:"exists"`
	Size   int64 `json:"size"`
	// Err is a failure other than "does not exist" (permission…).
	Err string `json:"err,omitempty"`
}

// Render is one host's config as the server would serve it.
type Render struct {
	Host string `json:"host"` // hostname
	Kind string `json:"kind"` // kickstart
	Text []byte `json:"-"`
	Err  string `json:"err,omitempty"`
}

// DHCP is the DHCP side: the config and the interface it names.
type DHCP struct {
	Mode      string `json:"mode"` // off, full, proxy
	Interface string `json:"interface"`
	// InterfaceExists and InterfaceAddrs are what the system has.
	InterfaceExists bool           `json:"interface_exists"`
	InterfaceAddrs  []netip.Prefix `json:"interface_addrs"`
	// ConfigErrors are the DHCP server's own refusals of the config, one
	// per subnet (pools outside their subnet or overlapping…) and one for
	// the rest.
	ConfigErrors []string `json:"config_errors,omitempty"`
	// Subnets are the configured subnets that parsed.
	Subnets []Subnet `json:"subnets"`
}

// Subnet is one served subnet; Relayed when a configured relay agent sits in it.
type Subnet struct {
	CIDR    netip.Prefix `json:"cidr"`
	Relayed bool         `json:"relayed"`
}

// Port is one listening address of the server and what happened binding it.
type Port struct {
	Name string `json:"name"` // http, tftp, dhcp
	Addr string `json:"addr"` // as configured, e.g. ":8080"
	// Bindable: a test bind succeeded (and was closed at once).
	Bindable bool `json:"bindable"`
	// HeldBySelf: in use by this installation's own `netkick serve`.
	HeldBySelf bool `json:"held_by_self"`
	// Holder describes who holds it when known ("pid 123 (dnsmasq)").
	Holder string `json:"holder,omitempty"`
	Err    string `json:"err,omitempty"`
}

// TokenFile is the admin token file's state; Exists false when it is not
// made yet (serve creates it, 0600).
type TokenFile struct {
	Path   string      `json:"path"`
	Exists bool        `json:"exists"`
	Mode   fs.FileMode `json:"mode"`
}

// SecureBoot is one Secure Boot profile's loader (shim) and kernel, with the
// vendor whose key each carries ("" when none is recognised).
type SecureBoot struct {
	Profile      string `json:"profile"`
	Loader       string `json:"loader"`
	LoaderVendor string `json:"loader_vendor"`
	Kernel       string `json:"kernel"`
	KernelVendor string `json:"kernel_vendor"`
}

// Store is the inventory store's own integrity check.
type Store struct {
	Path string `json:"path"`
	// OpenErr: the store could not be opened or queried.
	OpenErr string `json:"open_err,omitempty"`
	// Integrity is what PRAGMA integrity_check returned: ["ok"] when sound.
	Integrity []string `json:"integrity"`
}

// Facts is everything the checks look at.
type Facts struct {
	BootRoot string              `json:"boot_root"`
	Hosts    []inventory.Host    `json:"-"`
	Profiles []inventory.Profile `json:"-"`
	// Files holds the boot-root files Needed named, by their clean path.
	Files   map[string]File `json:"files"`
	Renders []Render        `json:"renders"`
	DHCP    DHCP            `json:"dhcp"`
	Ports   []Port          `json:"ports"`
	Token   *TokenFile      `json:"token,omitempty"`
	// SecureBoot holds, for each profile booted through shim and GRUB,
	// whose Secure Boot keys its loader and kernel carry.
	SecureBoot []SecureBoot `json:"secure_boot,omitempty"`
	Store      *Store       `json:"store,omitempty"`
	// Discovery is what discovered machines boot (discovery.kernel and
	// discovery.initrd, boot-root paths also in Files); nil when not configured.
	Discovery *Discovery `json:"discovery,omitempty"`
	// Extra are checks added by other parts of netkick, run on the same facts.
	Extra []func(Facts) []Problem `json:"-"`
}

// Discovery names the discovery environment's files under the boot root.
type Discovery struct {
	Kernel string `json:"kernel"`
	Initrd string `json:"initrd"`
}

// Needed are the clean boot-root paths of the discovery files (for StatFiles).
func (d *Discovery) Needed() []string {
	var out []string
	for _, p := range []string{d.Kernel, d.Initrd} {
		if c := localPath(p); c != "" {
			out = append(out, c)
		}
	}
	return out
}

// DiscoveryFiles: the discovery kernel and initrd the config names are in
// the boot root and not empty.
func DiscoveryFiles(f Facts) []Problem {
	if f.Discovery == nil {
		return nil
	}
	var out []Problem
	fix := "run `netkick discovery initramfs --modules-from /lib/modules/VERSION` (it writes both; docs/discovery.md)"
	for _, x := range []struct{ what, path string }{{"kernel", f.Discovery.Kernel}, {"initrd", f.Discovery.Initrd}} {
		c := localPath(x.path)
		file, ok := f.Files[c]
		if c == "" || !ok {
			continue
		}
		full := path.Join(f.BootRoot, c)
		switch {
		case file.Err != "":
			out = append(out, Problem{"discovery", "discovery." + x.what, fmt.Sprintf("%s: %s", full, file.Err), "make it readable by the user netkick serve runs as"})
		case !file.Exists:
			out = append(out, Problem{"discovery", "discovery." + x.what, fmt.Sprintf("%s is missing from the boot root: discovered machines cannot boot", full), fix})
		case file.Size == 0:
			out = append(out, Problem{"discovery", "discovery." + x.what, fmt.Sprintf("%s is empty", full), fix})
		}
	}
	return out
}

// Run runs every check and returns the problems, in a stable order.
func Run(f Facts) []Problem {
	var out []Problem
	out = append(out, ProfileFiles(f)...)
	out = append(out, BootConfigs(f)...)
	out = append(out, Kickstarts(f)...)
	out = append(out, Loaders(f)...)
	out = append(out, SecureBootVendors(f.SecureBoot)...)
	out = append(out, DHCPConfig(f.DHCP, f.Hosts)...)
	out = append(out, Ports(f.Ports)...)
	out = append(out, Token(f.Token)...)
	out = append(out, StoreIntegrity(f.Store)...)
	out = append(out, DiscoveryFiles(f)...)
	for _, x := range f.Extra {
		out = append(out, x(f)...)
	}
	return out
}

// localPath is the clean boot-root path of a profile file, "" for an http(s)
// URL (fetched from elsewhere) or an unusable name (the render check says so).
func localPath(p string) string {
	if p == "" || strings.HasPrefix(p, "http://") || strings.HasPrefix(p, "https://") {
		return ""
	}
	c, err := boot.CleanPath(p)
	if err != nil {
		return ""
	}
	return c
}

// Needed lists the boot-root files the checks look at: every profile's
// kernel and initrd, and the first-stage loaders of every firmware the
// inventory has.
func Needed(hosts []inventory.Host, profiles []inventory.Profile) []string {
	set := map[string]bool{}
	for _, p := range profiles {
		for _, x := range []string{p.Kernel, p.Initrd} {
			if c := localPath(x); c != "" {
				set[c] = true
			}
		}
	}
	for _, l := range loaderNeeds(hosts, profiles) {
		set[l.file] = true
	}
	out := make([]string, 0, len(set))
	for k := range set {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// ProfileFiles: every profile's kernel and initrd is present in the boot
// root and not empty.
func ProfileFiles(f Facts) []Problem {
	var out []Problem
	for _, p := range f.Profiles {
		for _, x := range []struct{ what, path string }{{"kernel", p.Kernel}, {"initrd", p.Initrd}} {
			subject := "profile " + p.Name
			fetch := fmt.Sprintf("run `netkick profile fetch %s` (or set --%s to a file under %s with `netkick profile add %s`)", p.Name, x.what, f.BootRoot, p.Name)
			if x.path == "" {
				out = append(out, Problem{"profile-files", subject, "no " + x.what + " set", fetch})
				continue
			}
			c := localPath(x.path)
			if c == "" {
				continue // a URL, or a bad name the render check reports
			}
			file, ok := f.Files[c]
			switch {
			case !ok:
				continue
			case file.Err != "":
				out = append(out, Problem{"profile-files", subject, fmt.Sprintf("%s %s: %s", x.what, path.Join(f.BootRoot, c), file.Err), "make it readable by the user netkick serve runs as"})
			case !file.Exists:
				out = append(out, Problem{"profile-files", subject, fmt.Sprintf("%s %s is missing from the boot root", x.what, path.Join(f.BootRoot, c)), fetch})
			case file.Size == 0:
				out = append(out, Problem{"profile-files", subject, fmt.Sprintf("%s %s is empty", x.what, path.Join(f.BootRoot, c)), fetch})
			}
		}
	}
	return out
}

// checkToken stands in for a build token in configs rendered for the check.
const checkToken = "check"

// BootConfigs: every host with a profile renders the pxelinux config, the
// iPXE script and (booted through GRUB) the GRUB config it gets in build
// mode (what a reinstall will serve).
func BootConfigs(f Facts) []Problem {
	profiles := profileMap(f.Profiles)
	var out []Problem
	for i := range f.Hosts {
		h := f.Hosts[i]
		if h.Profile == "" {
			continue // boots from its disk only; nothing to render
		}
		p := profiles[h.Profile]
		h.State = inventory.StateBuild
		in := boot.ConfigInput{MAC: h.ID(), Host: &h, Profile: p, BaseURL: "http://netkick.invalid", Token: checkToken}
		if _, err := boot.PXELinuxConfig(in); err != nil {
			out = append(out, Problem{"render", "host " + h.Hostname, "pxelinux config: " + err.Error(), renderFix})
			continue // the iPXE script fails the same way
		}
		if usesGRUB(h, p) && h.Arch != boot.FirmwareBIOS { // GRUB runs on UEFI only
			if _, err := boot.GRUBConfig(in); err != nil {
				out = append(out, Problem{"render", "host " + h.Hostname, "GRUB config: " + err.Error(), renderFix})
			}
		}
		in.FileBase = "http://netkick.invalid/boot/"
		if _, err := boot.IPXEScript(in); err != nil {
			out = append(out, Problem{"render", "host " + h.Hostname, "iPXE script: " + err.Error(), renderFix})
		}
	}
	return out
}

// usesGRUB says whether a host boots through shim and GRUB: its bootloader
// param, else its profile's, says grub.
func usesGRUB(h inventory.Host, p *inventory.Profile) bool {
	if v := h.Params["bootloader"]; v != "" {
		return strings.EqualFold(v, boot.LoaderGRUB)
	}
	return p != nil && strings.EqualFold(p.BootLoader, boot.LoaderGRUB)
}

// renderFix is the fix of a boot config that does not render: boot's
// errors name what to change.
const renderFix = "change what the message names; `netkick render pxelinux HOST` shows the same"

// Kickstarts: every gathered kickstart rendered, and passes lint.
func Kickstarts(f Facts) []Problem {
	var out []Problem
	for _, r := range f.Renders {
		subject := "host " + r.Host
		if r.Err != "" {
			out = append(out, Problem{"render", subject, r.Kind + ": " + r.Err, fmt.Sprintf("fix the host, its profile or the template; `netkick render %s %s` shows the same", r.Kind, r.Host)})
			continue
		}
		if r.Kind != "kickstart" {
			continue
		}
		findings, err := lint.Check(bytes.NewReader(r.Text))
		if err != nil {
			out = append(out, Problem{"lint", subject, "kickstart: " + err.Error(), fmt.Sprintf("`netkick lint --host %s` shows the same", r.Host)})
			continue
		}
		for _, x := range findings {
			if x.Severity != "error" {
				continue
			}
			out = append(out, Problem{"lint", subject, "kickstart: " + x.String(), fmt.Sprintf("fix the template or the host's params; `netkick lint --host %s` shows the same", r.Host)})
		}
	}
	return out
}

// loaderNeed is one first-stage file some hosts' firmware will ask for.
type loaderNeed struct {
	file     string
	firmware string
	hosts    []string
}

// archOf is the option 93 value and vendor class a firmware name comes
// from (boot.FirmwareOf's inverse); ok false for a name boot does not know.
func archOf(fw string) (arch uint16, class string, ok bool) {
	switch fw {
	case boot.FirmwareBIOS:
		return boot.ArchBIOS, boot.ClassPXE, true
	case boot.FirmwareEFIIA32:
		return boot.ArchEFIIA32, boot.ClassPXE, true
	case boot.FirmwareEFIX8664:
		return boot.ArchEFIX8664, boot.ClassPXE, true
	case boot.FirmwareEFIARM64:
		return boot.ArchEFIARM64, boot.ClassPXE, true
	case boot.FirmwareEFIX8664HTTP:
		return boot.ArchEFIX8664HTTP, boot.ClassHTTP, true
	case boot.FirmwareEFIARM64HTTP:
		return boot.ArchEFIARM64HTTP, boot.ClassHTTP, true
	}
	return 0, "", false
}

// loaderNeeds asks boot.DecideDHCP, for each host in build mode on its
// firmware (BIOS when DHCP has not seen it yet), which first stage it gets;
// pxelinux.0 also needs ldlinux.c32.
func loaderNeeds(hosts []inventory.Host, profiles []inventory.Profile) []loaderNeed {
	pm := profileMap(profiles)
	byFile := map[string]*loaderNeed{}
	var order []string
	add := func(file, fw, host string) {
		n, ok := byFile[file]
		if !ok {
			n = &loaderNeed{file: file, firmware: fw}
			byFile[file] = n
			order = append(order, file)
		}
		n.hosts = append(n.hosts, host)
	}
	for i := range hosts {
		h := hosts[i]
		fw := h.Arch
		if fw == "" {
			fw = boot.FirmwareBIOS
		}
		arch, class, ok := archOf(fw)
		if !ok {
			continue
		}
		h.State = inventory.StateBuild
		req := boot.DHCPRequest{MAC: h.ID(), Arch: []uint16{arch}, VendorClass: class}
		d := boot.DecideDHCP(req, &h, pm[h.Profile], boot.DHCPServer{IP: "192.0.2.1"})
		file := d.File
		if i := strings.Index(file, "/boot/"); strings.HasPrefix(file, "http://") && i >= 0 {
			file = file[i+len("/boot/"):]
		}
		if file == "" || d.IPXE || d.LocalBoot {
			continue
		}
		add(file, fw, h.Hostname)
		if file == boot.FilePxelinux {
			add("ldlinux.c32", fw, h.Hostname)
		}
		if file == boot.ShimFile(pm[h.Profile]) {
			add(path.Join(path.Dir(file), boot.FileGRUB), fw, h.Hostname)
		}
	}
	out := make([]loaderNeed, 0, len(order))
	for _, f := range order {
		out = append(out, *byFile[f])
	}
	return out
}

// Loaders: the boot loader of every firmware the inventory has is present.
func Loaders(f Facts) []Problem {
	var out []Problem
	for _, n := range loaderNeeds(f.Hosts, f.Profiles) {
		file, ok := f.Files[n.file]
		if !ok {
			continue
		}
		hosts := strings.Join(n.hosts, ", ")
		switch {
		case file.Err != "":
			out = append(out, Problem{"loader", n.file, fmt.Sprintf("%s (firmware %s of %s): %s", path.Join(f.BootRoot, n.file), n.firmware, hosts, file.Err), "make it readable by the user netkick serve runs as"})
		case !file.Exists || file.Size == 0:
			what := "missing"
			if file.Exists {
				what = "empty"
			}
			out = append(out, Problem{"loader", n.file, fmt.Sprintf("%s is %s; firmware %s of %s asks for it", path.Join(f.BootRoot, n.file), what, n.firmware, hosts), "run `netkick bootfiles` (it says which package ships it)"})
		}
	}
	return out
}

// SecureBootVendors: a Secure Boot profile's shim and kernel come from the
// same vendor (boot.SecureBootMismatch decides).
func SecureBootVendors(sb []SecureBoot) []Problem {
	var out []Problem
	for _, x := range sb {
		msg := boot.SecureBootMismatch(x.Profile, x.LoaderVendor, x.KernelVendor)
		if msg == "" {
			continue
		}
		msg = strings.TrimPrefix(msg, "profile "+x.Profile+": ")
		problem, fix, ok := strings.Cut(msg, "; ")
		if !ok {
			fix = "use a shim and a kernel from the same distribution"
		}
		out = append(out, Problem{"secure-boot", "profile " + x.Profile, problem, fix})
	}
	return out
}

// UsesGRUB lists the profiles some host boots through shim and GRUB (the
// profile's bootloader, or a host's bootloader param, says grub).
func UsesGRUB(hosts []inventory.Host, profiles []inventory.Profile) []inventory.Profile {
	grub := map[string]bool{}
	for _, p := range profiles {
		grub[p.Name] = strings.EqualFold(p.BootLoader, boot.LoaderGRUB)
	}
	pm := profileMap(profiles)
	for _, h := range hosts {
		if usesGRUB(h, pm[h.Profile]) {
			grub[h.Profile] = true
		}
	}
	var out []inventory.Profile
	for _, p := range profiles {
		if grub[p.Name] {
			out = append(out, p)
		}
	}
	return out
}

// DHCPConfig: the interface exists and holds an address in each subnet it
// serves (unless relayed), the DHCP server accepts the config (pools inside
// their subnet and not overlapping), and every host's reserved address lies
// in a served subnet.
func DHCPConfig(d DHCP, hosts []inventory.Host) []Problem {
	if d.Mode == "" || d.Mode == "off" {
		return nil
	}
	var out []Problem
	for _, e := range d.ConfigErrors {
		out = append(out, Problem{"dhcp", "config", e, "correct the dhcp: block of the config file"})
	}
	switch {
	case d.Interface == "":
		return out // the config error says so
	case !d.InterfaceExists:
		out = append(out, Problem{"dhcp", "interface " + d.Interface, "does not exist", "name an existing interface in dhcp.interface or --dhcp-interface (`ip link` lists them)"})
		return out
	case d.Mode == "proxy" && len(d.InterfaceAddrs) == 0:
		out = append(out, Problem{"dhcp", "interface " + d.Interface, "has no IPv4 address: proxy DHCP needs one to answer from", "give it an address (ip addr add … dev " + d.Interface + ")"})
	}
	if d.Mode != "full" {
		return out
	}
	for _, s := range d.Subnets {
		if s.Relayed {
			continue
		}
		held := false
		for _, a := range d.InterfaceAddrs {
			held = held || s.CIDR.Contains(a.Addr())
		}
		if !held {
			out = append(out, Problem{"dhcp", "subnet " + s.CIDR.String(), fmt.Sprintf("interface %s holds no address in it, so the server cannot answer there", d.Interface),
				fmt.Sprintf("add an address in %s to %s, or list the relay agent that serves it under dhcp.relays", s.CIDR, d.Interface)})
		}
	}
	if len(d.Subnets) == 0 {
		return out
	}
	for _, h := range hosts {
		if h.IP == "" {
			continue
		}
		a, err := netip.ParseAddr(h.IP)
		if err != nil {
			continue // the inventory refuses these
		}
		in := false
		for _, s := range d.Subnets {
			in = in || s.CIDR.Contains(a)
		}
		if !in {
			out = append(out, Problem{"dhcp", "host " + h.Hostname, fmt.Sprintf("reserved address %s is in no served subnet (%s)", h.IP, subnetList(d.Subnets)),
				fmt.Sprintf("`netkick host set %s --ip ADDR` with an address inside a subnet, or add its subnet to dhcp.subnets", h.Hostname)})
		}
	}
	return out
}

func subnetList(ss []Subnet) string {
	var s []string
	for _, x := range ss {
		s = append(s, x.CIDR.String())
	}
	return strings.Join(s, ", ")
}

// Ports: every port the server listens on can be bound, or is held by this
// installation's own running server.
func Ports(ps []Port) []Problem {
	var out []Problem
	for _, p := range ps {
		if p.Bindable || p.HeldBySelf {
			continue
		}
		holder := ""
		if p.Holder != "" {
			holder = " (held by " + p.Holder + ")"
		}
		fix := fmt.Sprintf("stop what holds it or choose another address with --%s", p.Name)
		switch {
		case strings.Contains(p.Err, "permission denied") && p.Name == "dhcp":
			fix = "run netkick serve as root or with CAP_NET_BIND_SERVICE"
		case strings.Contains(p.Err, "permission denied"):
			fix = fmt.Sprintf("run netkick serve as root or with CAP_NET_BIND_SERVICE, or choose a port above 1023 with --%s", p.Name)
		case p.Name == "dhcp":
			fix = "stop the other DHCP server on this machine, or run beside it with --dhcp-mode proxy"
		}
		out = append(out, Problem{"port", p.Name + " " + p.Addr, "cannot be bound: " + p.Err + holder, fix})
	}
	return out
}

// Token: the admin token file, when it exists, is readable by its owner only.
func Token(t *TokenFile) []Problem {
	if t == nil || !t.Exists || t.Mode.Perm()&0o077 == 0 {
		return nil
	}
	return []Problem{{"token-file", t.Path, fmt.Sprintf("mode %04o lets others read the admin token", t.Mode.Perm()), "chmod 600 " + t.Path + " (and make a new token if others may have read it)"}}
}

// StoreIntegrity: the store opens and its integrity check says ok.
func StoreIntegrity(s *Store) []Problem {
	if s == nil {
		return nil
	}
	fix := "stop netkick, restore " + s.Path + " from a backup or rebuild it from `netkick export` output with `netkick import`"
	if s.OpenErr != "" {
		return []Problem{{"store", s.Path, s.OpenErr, fix}}
	}
	if len(s.Integrity) == 1 && s.Integrity[0] == "ok" {
		return nil
	}
	var out []Problem
	for _, line := range s.Integrity {
		out = append(out, Problem{"store", s.Path, "integrity check: " + line, fix})
	}
	if len(out) == 0 {
		out = append(out, Problem{"store", s.Path, "integrity check returned nothing", fix})
	}
	return out
}

func profileMap(ps []inventory.Profile) map[string]*inventory.Profile {
	m := map[string]*inventory.Profile{}
	for i := range ps {
		m[ps[i].Name] = &ps[i]
	}
	return m
}
