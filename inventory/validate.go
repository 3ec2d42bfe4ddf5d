package inventory

import (
	"encoding/hex"
	"fmt"
	"net/netip"
	"regexp"
	"strings"
	"unicode"
)

// NormalizeMAC accepts a 48-bit MAC in the common spellings (aa:bb:cc:dd:ee:ff,
// AA-BB-CC-DD-EE-FF, aabb.ccdd.eeff, aabbccddeeff, the pxelinux form
// 01-aa-bb-…) and returns it as lower-case colon-separated hex.
func NormalizeMAC(s string) (string, error) {
	in := strings.TrimSpace(s)
	t := strings.ToLower(in)
	// pxelinux prefixes the ARP hardware type: 01-aa-bb-cc-dd-ee-ff.
	if len(t) == 20 && strings.HasPrefix(t, "01-") {
		t = t[3:]
	}
	var hexs string
	switch {
	case len(t) == 17 && (allSep(t, ':') || allSep(t, '-')):
		hexs = t[0:2] + t[3:5] + t[6:8] + t[9:11] + t[12:14] + t[15:17]
	case len(t) == 14 && t[4] == '.' && t[9] == '.':
		hexs = t[0:4] + t[5:9] + t[10:14]
	case len(t) == 12:
		hexs = t
	default:
		return "", fmt.Errorf("%w: MAC %q: want six hex octets such as aa:bb:cc:dd:ee:ff", ErrInvalid, trunc(in))
	}
	b, err := hex.DecodeString(hexs)
	if err != nil || len(b) != 6 {
		return "", fmt.Errorf("%w: MAC %q: want six hex octets such as aa:bb:cc:dd:ee:ff", ErrInvalid, trunc(in))
	}
	const digits = "0123456789abcdef"
	out := make([]byte, 0, 17)
	for i, x := range b {
		if i > 0 {
			out = append(out, ':')
		}
		out = append(out, digits[x>>4], digits[x&15])
	}
	return string(out), nil
}

// allSep reports whether s has sep at every third position (2, 5, 8, …).
func allSep(s string, sep byte) bool {
	for i := 2; i < len(s); i += 3 {
		if s[i] != sep {
			return false
		}
	}
	return true
}

var (
	hostLabelRE = regexp.MustCompile(`^[a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?$`)
	nameRE      = regexp.MustCompile(`^[a-z0-9][a-z0-9_.-]{0,62}$`)
	tzRE        = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_+-]*(/[A-Za-z0-9_+-]+){0,2}$`)
	cryptRE     = regexp.MustCompile(`^\$(1|5|6|2[aby]|y)\$[./A-Za-z0-9$=,]+$`)
)

// ValidateHostname checks an RFC 1123 host name (optionally dotted, at most 253 characters).
func ValidateHostname(s string) error {
	if s == "" || len(s) > 253 {
		return fmt.Errorf("%w: hostname %q: must be 1 to 253 characters", ErrInvalid, trunc(s))
	}
	for _, l := range strings.Split(s, ".") {
		if !hostLabelRE.MatchString(l) {
			return fmt.Errorf("%w: hostname %q: each dot-separated label must be 1-63 letters, digits or '-' (RFC 1123), not starting or ending with '-'", ErrInvalid, trunc(s))
		}
	}
	return nil
}

// ValidateName checks a role, label key, profile, layout or cluster name: [a-z0-9_.-], starting alphanumeric.
func ValidateName(kind, s string) error {
	if !nameRE.MatchString(s) {
		return fmt.Errorf("%w: %s %q: use 1-63 characters of a-z, 0-9, '-', '_', '.', starting with a letter or digit", ErrInvalid, kind, trunc(s))
	}
	return nil
}

// ValidateValue checks a free-form label or parameter value: printable, one line, at most 256 bytes.
// Values are still shell-quoted wherever they are rendered.
func ValidateValue(kind, s string) error {
	if len(s) > 256 {
		return fmt.Errorf("%w: %s value is %d bytes; the limit is 256", ErrInvalid, kind, len(s))
	}
	for _, r := range s {
		if r == unicode.ReplacementChar || !unicode.IsPrint(r) {
			return fmt.Errorf("%w: %s value %q: only printable characters on one line are allowed", ErrInvalid, kind, trunc(s))
		}
	}
	return nil
}

// ValidateTimezone checks an Olson zone name such as Europe/Paris or UTC.
func ValidateTimezone(s string) error {
	if len(s) > 64 || !tzRE.MatchString(s) {
		return fmt.Errorf("%w: timezone %q: want an Olson name such as Europe/Paris or America/New_York", ErrInvalid, trunc(s))
	}
	return nil
}

// ValidateCryptHash checks that s is a crypt(3) hash ($1$, $5$, $6$, $2b$, $y$), never clear text.
func ValidateCryptHash(s string) error {
	if !cryptRE.MatchString(s) || len(s) > 200 {
		return fmt.Errorf("%w: root password must be a crypt(3) hash such as $6$salt$…; generate one with `openssl passwd -6` or send it as password to have it hashed", ErrInvalid)
	}
	return nil
}

// ValidateIPv4 checks a dotted-quad IPv4 address.
func ValidateIPv4(kind, s string) error {
	a, err := netip.ParseAddr(s)
	if err != nil || !a.Is4() {
		return fmt.Errorf("%w: %s %q: want an IPv4 address such as 192.0.2.10", ErrInvalid, kind, trunc(s))
	}
	return nil
}

// NormalizeHost validates h and rewrites its MACs to the canonical spelling.
// Every field that reaches a shell or file in a kickstart is checked here.
func NormalizeHost(h *Host) error {
	if len(h.MACs) == 0 {
		return fmt.Errorf("%w: host %q has no MAC; give at least one", ErrInvalid, h.Hostname)
	}
	seen := map[string]bool{}
	for i, m := range h.MACs {
		n, err := NormalizeMAC(m)
		if err != nil {
			return err
		}
		if seen[n] {
			return fmt.Errorf("%w: MAC %s listed twice", ErrInvalid, n)
		}
		seen[n] = true
		h.MACs[i] = n
	}
	if err := ValidateHostname(h.Hostname); err != nil {
		return err
	}
	if h.IP != "" {
		if err := ValidateIPv4("ip", h.IP); err != nil {
			return err
		}
	}
	for _, p := range []struct{ kind, v string }{{"profile", h.Profile}, {"layout", h.Layout}, {"cluster", h.Cluster}} {
		if p.v != "" {
			if err := ValidateName(p.kind, p.v); err != nil {
				return err
			}
		}
	}
	roles := map[string]bool{}
	out := h.Roles[:0]
	for _, r := range h.Roles {
		if err := ValidateName("role", r); err != nil {
			return err
		}
		if !roles[r] {
			out = append(out, r)
		}
		roles[r] = true
	}
	h.Roles = out
	for k, v := range h.Labels {
		if err := ValidateName("label", k); err != nil {
			return err
		}
		if err := ValidateValue("label "+k, v); err != nil {
			return err
		}
	}
	for k, v := range h.Params {
		if err := ValidateName("param", k); err != nil {
			return err
		}
		if err := ValidateValue("param "+k, v); err != nil {
			return err
		}
	}
	if h.Timezone != "" {
		if err := ValidateTimezone(h.Timezone); err != nil {
			return err
		}
	}
	if h.RootPasswordHash != "" {
		if err := ValidateCryptHash(h.RootPasswordHash); err != nil {
			return err
		}
	}
	if h.Facts != nil {
		if err := NormalizeFacts(h.Facts); err != nil {
			return err
		}
	}
	if h.State == "" {
		h.State = StateReady
	}
	if !validState(h.State) {
		return fmt.Errorf("%w: state %q: want one of %v", ErrInvalid, h.State, States())
	}
	return nil
}

// ValidateProfile checks a profile's names and paths.
func ValidateProfile(p *Profile) error {
	if err := ValidateName("profile", p.Name); err != nil {
		return err
	}
	if err := ValidateName("os", p.OS); err != nil {
		return err
	}
	if !regexp.MustCompile(`^[0-9]+(\.[0-9]+)*$`).MatchString(p.Version) {
		return fmt.Errorf("%w: profile %s: version %q: want digits and dots such as 5.3 or 7.9", ErrInvalid, p.Name, trunc(p.Version))
	}
	for _, f := range []struct{ kind, v string }{{"kernel", p.Kernel}, {"initrd", p.Initrd}, {"install_url", p.InstallURL}, {"template", p.Template}, {"kernel_args", p.KernelArgs}, {"shim", p.Shim}} {
		if err := ValidateValue(f.kind, f.v); err != nil {
			return fmt.Errorf("profile %s: %w", p.Name, err)
		}
	}
	if p.InstallURL != "" && !strings.HasPrefix(p.InstallURL, "http://") && !strings.HasPrefix(p.InstallURL, "https://") && !strings.HasPrefix(p.InstallURL, "nfs:") {
		return fmt.Errorf("%w: profile %s: install_url %q: want http://, https:// or nfs:", ErrInvalid, p.Name, trunc(p.InstallURL))
	}
	if p.Layout != "" {
		if err := ValidateName("layout", p.Layout); err != nil {
			return err
		}
	}
	if p.Timezone != "" {
		if err := ValidateTimezone(p.Timezone); err != nil {
			return err
		}
	}
	switch p.BootLoader {
	case "", "pxelinux", "ipxe", "undionly", "snponly", "grub":
	default:
		return fmt.Errorf("%w: profile %s: bootloader %q: want pxelinux, ipxe (undionly.kpxe for BIOS), snponly (snponly.efi for UEFI) or grub (shim and signed GRUB for UEFI Secure Boot), or leave it empty", ErrInvalid, p.Name, trunc(p.BootLoader))
	}
	if p.Shim != "" && (strings.HasPrefix(p.Shim, "/") || strings.Contains(p.Shim, "..") || strings.ContainsAny(p.Shim, " \\'\"$") || !strings.HasSuffix(strings.ToLower(p.Shim), ".efi")) {
		return fmt.Errorf("%w: profile %s: shim %q: want a .efi file under the boot root such as %s/shimx64.efi (no leading '/', no '..', no spaces or quotes)", ErrInvalid, p.Name, trunc(p.Shim), p.Name)
	}
	return nil
}

func validState(s State) bool {
	for _, x := range States() {
		if x == s {
			return true
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
