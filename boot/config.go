package boot

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/netkick/netkick/inventory"
	"github.com/netkick/netkick/provision/urls"
)

// Host parameters (inventory.Host.Params) that reach the installer's kernel command line.
const (
	// ParamConsole, when set, adds console=<value> (e.g. ttyS0,115200n8).
	ParamConsole = "console"
	// ParamKernelArgs is appended verbatim after the profile's kernel args.
	ParamKernelArgs = "kernel_args"
)

// ErrNoInstall is wrapped when a host is in build mode but cannot be given an
// install entry (no profile, or a profile without kernel or initrd).
var ErrNoInstall = errors.New("cannot build install entry")

// Generated kinds of file a boot tree produces instead of reading the disk.
type Generated int

// Generated file kinds.
const (
	NotGenerated     Generated = iota
	PXELinuxHost               // pxelinux.cfg/01-<mac>
	PXELinuxFallback           // pxelinux.cfg/default
	LocalBootFile              // FileLocalBoot: always refused, see LocalBootByFirmware
	GRUBHost                   // [dir/]grub.cfg-01-<mac>, grub.cfg-<mac>: GRUBConfig of that MAC
	GRUBAddress                // [dir/]grub.cfg, grub.cfg-<hex address>: GRUBConfig of the requester (GRUBRequester)
)

// GeneratedName decides whether a cleaned boot file name (see CleanPath) is
// one netkick generates, and its key: for PXELinuxHost and GRUBHost the
// host's MAC in canonical form, for GRUBAddress the address the name spells
// ("" for plain grub.cfg, which names the requester).
func GeneratedName(clean string) (Generated, string) {
	if clean == FileLocalBoot {
		return LocalBootFile, ""
	}
	if kind, key, ok := grubConfigName(clean); ok {
		return kind, key
	}
	rest, ok := strings.CutPrefix(clean, "pxelinux.cfg/")
	if !ok {
		return NotGenerated, ""
	}
	if rest == "default" {
		return PXELinuxFallback, ""
	}
	if len(rest) == 20 && strings.HasPrefix(rest, "01-") {
		if mac, err := inventory.NormalizeMAC(rest); err == nil {
			return PXELinuxHost, mac
		}
	}
	return NotGenerated, ""
}

// ConfigInput is everything a generated pxelinux config or iPXE script depends on.
type ConfigInput struct {
	// MAC is the machine's MAC in canonical form (inventory.NormalizeMAC).
	MAC string
	// Host is the inventory entry for MAC, nil when the machine is unknown.
	Host *inventory.Host
	// Profile is the host's profile, nil when it has none or it is not found.
	Profile *inventory.Profile
	// BaseURL is the HTTP base URL the machine reaches netkick on, e.g.
	// "http://192.0.2.1:8080" (no trailing slash). It starts the kickstart URL.
	BaseURL string
	// FileBase prefixes the profile's kernel and initrd paths: empty for paths
	// relative to the boot root (fetched over TFTP by pxelinux.0), or a URL such
	// as "http://192.0.2.1:8080/boot/" (iPXE, lpxelinux.0).
	FileBase string
	// Token is the host's one-time build token; empty means the kickstart URL has none.
	Token string
	// Platform is iPXE's ${platform} ("pcbios", "efi"); empty when unknown.
	Platform string
	// Discovery, for a machine the inventory does not know but the
	// discovered table holds, is its discovery boot; nil otherwise.
	Discovery *Discovery
}

// discovers reports whether the config boots the discovery environment.
func discovers(in ConfigInput) bool { return in.Host == nil && in.Discovery != nil }

// Installs reports whether a host gets the install entry: it is known and in
// the build or installing state.
func Installs(h *inventory.Host) bool {
	return h != nil && Installing(h.State)
}

// KickstartURL is the URL the installer fetches its kickstart from. A non-empty
// token is added as ?token=.
func KickstartURL(baseURL, mac, token string) string {
	return urls.Base(baseURL).Kickstart(mac, token)
}

// install holds the resolved pieces of an install entry.
type install struct {
	kernel, initrd, initrdName, cmdline string
}

// installEntry decides the kernel, initrd and command line for a host in build mode.
func installEntry(in ConfigInput) (install, error) {
	h, p := in.Host, in.Profile
	if p == nil {
		if h.Profile == "" {
			return install{}, fmt.Errorf("%w: host %s (%s) is in build mode but has no profile; set one with `netkick host add %s --profile NAME`", ErrNoInstall, h.Hostname, in.MAC, in.MAC)
		}
		return install{}, fmt.Errorf("%w: host %s (%s) is in build mode but its profile %q does not exist; create it or change the host's profile", ErrNoInstall, h.Hostname, in.MAC, h.Profile)
	}
	if p.Kernel == "" || p.Initrd == "" {
		return install{}, fmt.Errorf("%w: profile %s has no kernel or initrd; set both to files under the boot root (or run `netkick profile fetch %s`)", ErrNoInstall, p.Name, p.Name)
	}
	if in.BaseURL == "" {
		return install{}, fmt.Errorf("%w: no HTTP server address known for host %s's kickstart URL", ErrNoInstall, h.Hostname)
	}
	kernel, err := bootFile(in.FileBase, p.Kernel, "profile "+p.Name+" kernel")
	if err != nil {
		return install{}, err
	}
	initrd, err := bootFile(in.FileBase, p.Initrd, "profile "+p.Name+" initrd")
	if err != nil {
		return install{}, err
	}
	args := []string{KickstartArg(p.OS, p.Version) + KickstartURL(in.BaseURL, in.MAC, in.Token)}
	for _, a := range []struct{ from, v string }{
		{"profile " + p.Name + " kernel_args", p.KernelArgs},
		{"host " + h.Hostname + " param console", h.Params[ParamConsole]},
		{"host " + h.Hostname + " param kernel_args", h.Params[ParamKernelArgs]},
	} {
		if err := checkArgs(a.from, a.v); err != nil {
			return install{}, err
		}
	}
	if v := strings.TrimSpace(p.KernelArgs); v != "" {
		args = append(args, v)
	}
	if v := strings.TrimSpace(h.Params[ParamConsole]); v != "" {
		args = append(args, "console="+v)
	}
	if v := strings.TrimSpace(h.Params[ParamKernelArgs]); v != "" {
		args = append(args, v)
	}
	name := p.Initrd[strings.LastIndex(p.Initrd, "/")+1:]
	return install{kernel: kernel, initrd: initrd, initrdName: name, cmdline: strings.Join(args, " ")}, nil
}

// KickstartArg is the kernel argument that names the kickstart for an
// installer: anaconda understands `inst.ks=` from RHEL 7 (and Fedora 17),
// and RHEL 9's anaconda no longer reads boot options without the `inst.`
// prefix; RHEL 5 and 6 know only `ks=`. Other systems (and a version that
// does not parse) keep `ks=`, which every RHEL release before 9 reads.
func KickstartArg(osName, version string) string {
	maj, _, _ := strings.Cut(strings.TrimSpace(version), ".")
	n, err := strconv.Atoi(maj)
	if err != nil {
		return "ks="
	}
	switch strings.ToLower(osName) {
	case "fedora":
		if n >= 17 {
			return "inst.ks="
		}
	case "centos", "rhel", "redhat", "rocky", "almalinux", "alma", "oraclelinux", "ol", "scientific":
		if n >= 7 {
			return "inst.ks="
		}
	}
	return "ks="
}

// bootFile joins a profile's kernel or initrd path to base. A path that is
// already an http(s) URL is used as is; anything else must be a clean name
// under the boot root.
func bootFile(base, p, what string) (string, error) {
	if strings.HasPrefix(p, "http://") || strings.HasPrefix(p, "https://") {
		if strings.ContainsAny(p, " \t") || checkArgs(what, p) != nil {
			return "", fmt.Errorf("%w: %s %q: a URL must have no spaces or shell characters", ErrNoInstall, what, p)
		}
		return p, nil
	}
	c, err := CleanPath(p)
	if err != nil {
		return "", fmt.Errorf("%w: %s: %w", ErrNoInstall, what, err)
	}
	if strings.ContainsAny(c, " \t") {
		return "", fmt.Errorf("%w: %s %q contains a space; rename the file", ErrNoInstall, what, p)
	}
	return base + c, nil
}

// checkArgs refuses kernel arguments that could break out of a pxelinux APPEND
// line or be interpreted by iPXE (settings expansion, command chaining).
func checkArgs(from, v string) error {
	for _, r := range v {
		switch {
		case r < 0x20 || r >= 0x7f:
			return fmt.Errorf("%w: %s %q: only printable ASCII is allowed in kernel arguments", ErrNoInstall, from, v)
		case strings.ContainsRune("$|&;`\\\"'", r):
			return fmt.Errorf("%w: %s %q: character %q is not allowed in kernel arguments (pxelinux/iPXE would interpret it); remove it", ErrNoInstall, from, v, r)
		}
	}
	return nil
}

// who names a machine in the comment line of a generated file.
func who(in ConfigInput) string {
	if in.Host == nil {
		return "unknown host " + in.MAC
	}
	return fmt.Sprintf("host %s (%s, state %s)", in.Host.Hostname, in.MAC, in.Host.State)
}

// PXELinuxConfig decides pxelinux.cfg/01-<mac>: the install entry for a host in
// build mode, LOCALBOOT 0 for any other host and for unknown machines.
func PXELinuxConfig(in ConfigInput) (string, error) {
	if discovers(in) {
		e, err := discoveryEntry(in)
		if err != nil {
			return "", err
		}
		var b strings.Builder
		fmt.Fprintf(&b, "# netkick: discovered machine %s: boot the discovery environment\n", in.MAC)
		b.WriteString("DEFAULT discover\nPROMPT 0\nTIMEOUT 0\nLABEL discover\n")
		fmt.Fprintf(&b, "  KERNEL %s\n  APPEND initrd=%s %s\n  IPAPPEND 2\n", e.kernel, e.initrd, e.cmdline)
		return b.String(), nil
	}
	if !Installs(in.Host) {
		return pxelinuxLocal("# netkick: " + who(in) + ": not in build mode, boot from the local disk\n"), nil
	}
	e, err := installEntry(in)
	if err != nil {
		return "", err
	}
	var b strings.Builder
	fmt.Fprintf(&b, "# netkick: %s: install profile %s\n", who(in), in.Profile.Name)
	b.WriteString("DEFAULT install\nPROMPT 0\nTIMEOUT 0\n")
	b.WriteString("LABEL install\n")
	fmt.Fprintf(&b, "  KERNEL %s\n", e.kernel)
	fmt.Fprintf(&b, "  APPEND initrd=%s %s\n", e.initrd, e.cmdline)
	// IPAPPEND 2 adds BOOTIF=01-<mac> so the installer uses the NIC that booted.
	b.WriteString("  IPAPPEND 2\n")
	return b.String(), nil
}

// PXELinuxDefault is pxelinux.cfg/default: what a machine gets when no
// per-MAC file answered. Local boot, so an unknown machine never installs.
func PXELinuxDefault() string {
	return pxelinuxLocal("# netkick: no per-host config matched: boot from the local disk\n")
}

func pxelinuxLocal(comment string) string {
	return comment + "DEFAULT local\nPROMPT 0\nTIMEOUT 0\nLABEL local\n  LOCALBOOT 0\n"
}

// IPXEScript decides the iPXE script served at /boot.ipxe?mac=: the install
// entry for a host in build mode; otherwise local boot: "exit" on EFI (the
// firmware tries its next boot entry), "sanboot" of the first BIOS disk
// elsewhere, falling back to exit. When the platform is unknown the script
// asks iPXE's ${platform} itself.
func IPXEScript(in ConfigInput) (string, error) {
	var b strings.Builder
	b.WriteString("#!ipxe\n")
	if discovers(in) {
		e, err := discoveryEntry(in)
		if err != nil {
			return "", err
		}
		fmt.Fprintf(&b, "# netkick: discovered machine %s: boot the discovery environment\n", in.MAC)
		fmt.Fprintf(&b, "kernel %s initrd=%s %s BOOTIF=01-%s\n", e.kernel, e.initrdName, e.cmdline, strings.ReplaceAll(in.MAC, ":", "-"))
		fmt.Fprintf(&b, "initrd --name %s %s\nboot\n", e.initrdName, e.initrd)
		return b.String(), nil
	}
	if !Installs(in.Host) {
		fmt.Fprintf(&b, "# netkick: %s: not in build mode, boot from the local disk\n", who(in))
		switch in.Platform {
		case "efi":
			b.WriteString("exit\n")
		case "":
			// Platform unknown: ask iPXE, which knows it.
			b.WriteString("iseq ${platform} efi && exit ||\n")
			b.WriteString("sanboot --no-describe --drive 0x80 || exit\n")
		default:
			b.WriteString("sanboot --no-describe --drive 0x80 || exit\n")
		}
		return b.String(), nil
	}
	e, err := installEntry(in)
	if err != nil {
		return "", err
	}
	bootif := "BOOTIF=01-" + strings.ReplaceAll(in.MAC, ":", "-")
	fmt.Fprintf(&b, "# netkick: %s: install profile %s\n", who(in), in.Profile.Name)
	fmt.Fprintf(&b, "kernel %s initrd=%s %s %s\n", e.kernel, e.initrdName, e.cmdline, bootif)
	fmt.Fprintf(&b, "initrd --name %s %s\n", e.initrdName, e.initrd)
	b.WriteString("boot\n")
	return b.String(), nil
}
