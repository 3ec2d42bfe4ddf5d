package kickstart

import (
	"fmt"
	"strconv"
	"strings"
)

// OS is what the templates need to know about the installer's kickstart dialect.
type OS struct {
	Name    string // e.g. centos
	Version string // e.g. 5.3
	Major   int
	Minor   int
	// End is "%end" where the installer accepts section terminators (RHEL 6+), else "".
	End string
	// InstallKeyword: RHEL 5/6 want an explicit `install` command; 7+ dropped it.
	InstallKeyword bool
	// DeviceByMAC: `network --device=<mac>` is understood (RHEL 6+); RHEL 5 wants eth0.
	DeviceByMAC bool
	// Authconfig: `authconfig` exists (RHEL 5-7); 8+ replaced it with authselect.
	Authconfig bool
	// FirewallSSH is how `firewall` opens ssh: RHEL 5 knows only --ssh,
	// RHEL 6 and later --service=ssh.
	FirewallSSH string
	// UEFI: an x86_64 UEFI install is supported (RHEL 6 and later).
	UEFI bool
	// Validator is the syntax version of pykickstart's ksvalidator for this
	// installer (-v RHEL5 … RHEL9, or Fedora's F<N>).
	Validator string
	// FSType is the default filesystem for the fallback layout.
	FSType string
}

// ParseOS derives the kickstart dialect from a profile's OS name and version.
func ParseOS(name, version string) (OS, error) {
	o := OS{Name: name, Version: version}
	maj, min, _ := strings.Cut(version, ".")
	var err error
	if o.Major, err = strconv.Atoi(maj); err != nil || o.Major < 1 {
		return o, fmt.Errorf("OS version %q: want a number such as 5.3 or 7", version)
	}
	if min != "" {
		m, _, _ := strings.Cut(min, ".")
		if o.Minor, err = strconv.Atoi(m); err != nil {
			return o, fmt.Errorf("OS version %q: want a number such as 5.3 or 7", version)
		}
	}
	o.Validator = "RHEL" + strconv.Itoa(o.Major)
	if name == "fedora" {
		o.Validator = "F" + strconv.Itoa(o.Major)
		// Fedora's anaconda maps to RHEL's dialect roughly by era.
		switch {
		case o.Major >= 19:
			o.Major, o.Minor = 7, 0
		case o.Major >= 12:
			o.Major, o.Minor = 6, 0
		default:
			o.Major, o.Minor = 5, 0
		}
	}
	if o.Major < 5 {
		return o, fmt.Errorf("OS %s %s: kickstarts for releases before 5 are not supported", name, version)
	}
	if o.Major >= 6 {
		o.End = "%end"
		o.DeviceByMAC = true
	}
	o.InstallKeyword = o.Major <= 6
	o.Authconfig = o.Major <= 7
	// Plain `zerombr` on every release: RHEL 5's parser already ignores
	// (and warns about) the old `zerombr yes`.
	o.FirewallSSH = "--service=ssh"
	if o.Major == 5 {
		o.FirewallSSH = "--ssh"
	}
	o.UEFI = o.Major >= 6
	switch {
	case o.Major == 5:
		o.FSType = "ext3"
	case o.Major == 6:
		o.FSType = "ext4"
	default:
		o.FSType = "xfs"
	}
	return o, nil
}

// TimezoneCmd is the kickstart `timezone` line for zone, hardware clock in UTC.
func (o OS) TimezoneCmd(zone string) string {
	switch {
	case o.Major <= 6:
		return "timezone --utc " + zone
	case o.Major == 7:
		return "timezone " + zone + " --isUtc"
	default:
		return "timezone " + zone + " --utc"
	}
}
