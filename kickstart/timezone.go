package kickstart

// Timezone is the plan for the installer's `timezone` line and the %post fix.
type Timezone struct {
	Install string // the zone given to the installer
	Real    string // the zone the machine should end up with
	Fix     bool   // %post rewrites /etc/sysconfig/clock and runs tzdata-update
}

// DefaultFallbackZone is a zone every affected installer has.
const DefaultFallbackZone = "Europe/Paris"

// brokenZoneData lists the installers whose zone data is incomplete, so that a
// valid zone can make the install stop. One place to add a release.
func brokenZoneData() []struct{ OS, Version string } {
	return []struct{ OS, Version string }{
		{"centos", "5.3"},
		{"rhel", "5.3"},
	}
}

// AffectedByZoneBug reports whether os/version has the incomplete zone data.
func AffectedByZoneBug(os, version string) bool {
	for _, b := range brokenZoneData() {
		if b.OS == os && b.Version == version {
			return true
		}
	}
	return false
}

// PlanTimezone decides the zone for the installer and whether %post must fix it.
// zone is the host's zone (empty: UTC); fallback is the zone known to exist in
// the affected installers (empty: DefaultFallbackZone).
func PlanTimezone(os, version, zone, fallback string) Timezone {
	if zone == "" {
		zone = "UTC"
	}
	if fallback == "" {
		fallback = DefaultFallbackZone
	}
	if AffectedByZoneBug(os, version) && zone != fallback {
		return Timezone{Install: fallback, Real: zone, Fix: true}
	}
	return Timezone{Install: zone, Real: zone}
}
