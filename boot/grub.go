package boot

import (
	"encoding/hex"
	"fmt"
	"net/netip"
	"strings"

	"github.com/netkick/netkick/inventory"
)

// The Secure Boot chain netkick serves to UEFI x86-64 firmware when a host or
// its profile names bootloader "grub": the firmware checks shim against its
// db (Microsoft's UEFI CA), shim checks GRUB against the distribution's key
// built into shim, GRUB (through shim) checks the kernel the same way.
const (
	// LoaderGRUB is the bootloader value (profile or host param) that selects it.
	LoaderGRUB = "grub"
	// FileShim is the first stage named in DHCP: shim, signed by Microsoft.
	FileShim = "shimx64.efi"
	// FileGRUB is what shim loads from its own directory: GRUB, signed by the
	// distribution (Debian's grubnetx64.efi.signed, EL's grubx64.efi).
	FileGRUB = "grubx64.efi"
)

// shimOptionalFiles are the files shim asks for beside itself that may be
// absent: a missing one is answered "file not found" and shim goes on.
var shimOptionalFiles = []string{"revocations_sku.efi", "revocations_sbat.efi", "shim_certificate_0.efi"}

// ShimOptionalFiles lists the files shim asks for beside itself that may be
// absent (answered "file not found"; shim goes on).
func ShimOptionalFiles() []string { return append([]string(nil), shimOptionalFiles...) }

// grubCfg is the base name of every config file GRUB asks for.
const grubCfg = "grub.cfg"

// grubConfigName decides whether a cleaned name is a GRUB config netkick
// generates. GRUB looks for its config in its prefix directory, which is
// wherever its build puts it (Debian's grubnetx64: grub/; EL's grub2: the
// directory grubx64.efi came from), so only the base name counts:
//
//	grub.cfg-01-aa-bb-cc-dd-ee-ff  EL grub2 (pxelinux's spelling)  GRUBHost
//	grub.cfg-aa-bb-cc-dd-ee-ff     newer upstream GRUB              GRUBHost
//	grub.cfg-aa:bb:cc:dd:ee:ff     netkick's own $net_default_mac dispatch
//	grub.cfg-C000020A              the address in hex, all 8 digits GRUBAddress, key "192.0.2.10"
//	grub.cfg                       the last try of every build      GRUBAddress, key ""
//
// Shortened hex addresses (C000020, C00002, …) identify no host and are not
// generated: they are looked up on disk and normally not found.
func grubConfigName(clean string) (Generated, string, bool) {
	base := clean[strings.LastIndex(clean, "/")+1:]
	if base == grubCfg {
		return GRUBAddress, "", true
	}
	rest, ok := strings.CutPrefix(base, grubCfg+"-")
	if !ok {
		return NotGenerated, "", false
	}
	if len(rest) == 8 {
		if b, err := hex.DecodeString(rest); err == nil {
			return GRUBAddress, netip.AddrFrom4([4]byte(b)).String(), true
		}
	}
	if len(rest) == 20 && strings.HasPrefix(rest, "01-") || len(rest) == 17 {
		if mac, err := inventory.NormalizeMAC(rest); err == nil {
			return GRUBHost, mac, true
		}
	}
	return NotGenerated, "", false
}

// GRUBRequester says which host a GRUB config asked for by address
// (GRUBAddress) is for. named is the address in the file name ("" for plain
// grub.cfg), client the address the request came from. A config is only
// ever rendered for the requester's own address: a name that spells another
// machine's address is refused (ok false), so a machine cannot read another
// host's install entry and token by guessing its address.
func GRUBRequester(named, client string) (addr string, ok bool) {
	if client == "" {
		return "", false
	}
	if named != "" && named != client {
		return "", false
	}
	return client, true
}

// GRUBFlavor says which kernel-loading commands a GRUB build has.
type GRUBFlavor struct {
	Linux, Initrd string
}

// GRUBFlavorOf decides the commands of the GRUB that boots profile p. A
// profile with its own shim (Profile.Shim, placed by `netkick profile fetch`)
// boots its own distribution's GRUB: EL7's and EL8's grub2 load kernels
// under UEFI with linuxefi/initrdefi. Everything else (Debian's and
// Ubuntu's signed GRUB, EL9 and later, upstream) uses linux/initrd, which
// under Secure Boot verify the kernel through shim.
func GRUBFlavorOf(p *inventory.Profile) GRUBFlavor {
	if p != nil && p.Shim != "" && IsEL(p.OS) && majorVersion(p.Version) > 0 && majorVersion(p.Version) < 9 {
		return GRUBFlavor{Linux: "linuxefi", Initrd: "initrdefi"}
	}
	return GRUBFlavor{Linux: "linux", Initrd: "initrd"}
}

// IsEL reports whether an OS name is a Red Hat Enterprise Linux rebuild.
func IsEL(os string) bool {
	switch strings.ToLower(os) {
	case "rhel", "redhat", "centos", "rocky", "alma", "almalinux", "oracle", "ol", "scientific":
		return true
	}
	return false
}

func majorVersion(v string) int {
	n := 0
	for _, r := range v {
		if r < '0' || r > '9' {
			break
		}
		n = n*10 + int(r-'0')
		if n > 1000 {
			return 0
		}
	}
	return n
}

// grubFile turns a profile's kernel or initrd into a GRUB file name. GRUB
// loaded over TFTP has $root set to the TFTP server, so a boot-root path is
// "/path"; an http:// URL becomes GRUB's (http,HOST)/path device syntax.
func grubFile(p, what string) (string, error) {
	if rest, ok := strings.CutPrefix(p, "http://"); ok {
		if checkArgs(what, p) != nil || strings.ContainsAny(p, " \t'") {
			return "", fmt.Errorf("%w: %s %q: a URL must have no spaces or shell characters", ErrNoInstall, what, p)
		}
		host, path, _ := strings.Cut(rest, "/")
		if host == "" || strings.Contains(host, ":") {
			return "", fmt.Errorf("%w: %s %q: GRUB fetches over HTTP only from port 80 by name (http://HOST/path); put the file under the boot root instead", ErrNoInstall, what, p)
		}
		return grubQuote("(http," + host + ")/" + path), nil
	}
	if strings.HasPrefix(p, "https://") {
		return "", fmt.Errorf("%w: %s %q: GRUB cannot fetch https://; put the file under the boot root (`netkick profile fetch`)", ErrNoInstall, what, p)
	}
	c, err := bootFile("", p, what)
	if err != nil {
		return "", err
	}
	if err := checkArgs(what, c); err != nil || strings.Contains(c, "'") {
		return "", fmt.Errorf("%w: %s %q: quotes, '$' and shell characters are not allowed in file names GRUB loads; rename the file", ErrNoInstall, what, p)
	}
	return grubQuote("/" + c), nil
}

// grubQuote quotes one word for GRUB's script parser. Single quotes keep it
// literal: no $ expansion and no wildcard expansion of the ? in a kickstart
// URL (GRUB's regexp module expands unquoted words). checkArgs has already
// refused quotes and backslashes, so the word needs no escaping.
func grubQuote(w string) string { return "'" + w + "'" }

// GRUBConfig decides the GRUB config of a host: an install entry while the
// host is in build mode, local boot otherwise and for unknown machines. It
// is what grub.cfg-01-<mac> (and every other name that identifies the host)
// holds; it never exists on disk.
func GRUBConfig(in ConfigInput) (string, error) {
	if !Installs(in.Host) {
		return GRUBLocal("# netkick: " + who(in) + ": not in build mode, boot from the local disk\n"), nil
	}
	e, err := installEntry(ConfigInput{MAC: in.MAC, Host: in.Host, Profile: in.Profile, BaseURL: in.BaseURL, Token: in.Token})
	if err != nil {
		return "", err
	}
	p := in.Profile
	kernel, err := grubFile(p.Kernel, "profile "+p.Name+" kernel")
	if err != nil {
		return "", err
	}
	initrd, err := grubFile(p.Initrd, "profile "+p.Name+" initrd")
	if err != nil {
		return "", err
	}
	fl := GRUBFlavorOf(p)
	words := strings.Fields(e.cmdline)
	words = append(words, "BOOTIF=01-"+strings.ReplaceAll(in.MAC, ":", "-"))
	for i, w := range words {
		words[i] = grubQuote(w)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "# netkick: %s: install profile %s\n", who(in), p.Name)
	b.WriteString("set timeout=0\nset default=0\n")
	fmt.Fprintf(&b, "menuentry 'netkick: install %s' {\n", p.Name)
	fmt.Fprintf(&b, "  %s %s %s\n", fl.Linux, kernel, strings.Join(words, " "))
	fmt.Fprintf(&b, "  %s %s\n", fl.Initrd, initrd)
	b.WriteString("}\n")
	return b.String(), nil
}

// GRUBLocal is the local-boot config: under Secure Boot GRUB may only start
// signed code, so it chainloads the disk's own shim (the removable-media
// path every installer writes, verified through shim like a kernel) and,
// when there is none, exits with an error so the firmware's boot manager
// goes on to its next boot entry. It never loads the installer: no install loop.
func GRUBLocal(comment string) string {
	return comment + `set timeout=0
if search --no-floppy --file --set=esp /EFI/BOOT/BOOTX64.EFI; then
  chainloader ($esp)/EFI/BOOT/BOOTX64.EFI
  boot
fi
exit 1
`
}

// GRUBDispatch is grub.cfg for a requester netkick cannot name from its
// address (no lease, e.g. another DHCP server answers): GRUB asks again by
// its own MAC ($net_default_mac, set by GRUB's network stack), which
// netkick answers with GRUBConfig. A MAC no host has gets local boot; when
// even that fails (no network variables), local boot here.
func GRUBDispatch() string {
	return `# netkick: no host holds this address by a lease: ask by MAC
if [ -n "$net_default_mac" ]; then
  configfile "$prefix/grub.cfg-$net_default_mac"
fi
` + GRUBLocal("# netkick: no MAC known: boot from the local disk\n")
}

// secureBootVendors are the names found in the certificates that sign shim's
// built-in vendor key and kernels, mapped to the vendor they mean.
var secureBootVendors = []struct{ needle, vendor string }{
	{"Debian Secure Boot", "Debian"},
	{"Red Hat Secure Boot", "Red Hat"},
	{"CentOS Secure Boot", "CentOS"},
	{"Rocky Linux Secure Boot", "Rocky Linux"},
	{"AlmaLinux", "AlmaLinux"},
	{"Oracle America", "Oracle"},
	{"Canonical Ltd. Secure Boot", "Canonical"},
	{"SUSE Linux Enterprise Secure Boot", "SUSE"},
	{"openSUSE Secure Boot", "openSUSE"},
}

// SecureBootVendor names the distribution whose Secure Boot certificate a
// signed EFI binary carries: for shim, the vendor key built into it (the
// only key besides the firmware's db and MOK that it trusts); for a kernel
// or GRUB, its signer. "" when none is recognised. It scans for the names
// those certificates hold, so it reads the file, not its signature's validity.
func SecureBootVendor(data []byte) string {
	best, at := "", -1
	s := string(data)
	for _, v := range secureBootVendors {
		if i := strings.Index(s, v.needle); i >= 0 && (at < 0 || i < at) {
			best, at = v.vendor, i
		}
	}
	return best
}

// SecureBootMismatch decides what `netkick check` says about a Secure Boot
// profile: shim only starts a kernel signed by its own vendor's key (or one
// in the firmware's db or MOK list), so a loader from one distribution and a
// kernel from another is refused at boot ("bad shim signature"). Empty
// vendors are not known and not judged. It returns "" when they agree.
func SecureBootMismatch(profile, loaderVendor, kernelVendor string) string {
	if loaderVendor == "" || kernelVendor == "" || loaderVendor == kernelVendor {
		return ""
	}
	return fmt.Sprintf("profile %s: Secure Boot loader (shim) is %s's but the kernel is signed by %s: shim will refuse the kernel; "+
		"use the profile's own shim and GRUB (`netkick profile fetch %s` takes EFI/BOOT/BOOTX64.EFI and grubx64.efi from its install tree)",
		profile, loaderVendor, kernelVendor, profile)
}
