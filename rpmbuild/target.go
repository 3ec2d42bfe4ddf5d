package rpmbuild

import (
	"fmt"
	"strconv"
	"strings"
)

// Target is the EL release an RPM is built for, whatever the build host:
// where that release's system perl looks for site modules, and what its
// rpm and yum accept.
type Target struct {
	Name  string // el5 … el9
	Major int
	// SiteLib is `perl -V:installsitelib` of the release's system perl.
	SiteLib string
	// Legacy: EL5's rpm 4.4 knows only MD5 file digests (a SHA-256 digest
	// adds rpmlib(FileDigests), which it refuses) and gzip payloads, and its
	// yum 3.2 wants SHA-1 repodata.
	Legacy bool
}

// Targets is the one table of EL releases netkick builds CPAN RPMs for.
func Targets() []Target {
	return []Target{
		// CentOS 5: perl 5.8.8, built with the upstream default
		// -Dsitelib=/usr/lib/perl5/site_perl/5.8.8 (perl.spec of perl-5.8.8-*.el5).
		{Name: "el5", Major: 5, SiteLib: "/usr/lib/perl5/site_perl/5.8.8", Legacy: true},
		// EL6 (perl 5.10.1), EL7 (5.16.3) and EL8 (5.26.3): perl.spec configures
		// -Dsitelib="/usr/local/share/perl5" (unversioned).
		{Name: "el6", Major: 6, SiteLib: "/usr/local/share/perl5"},
		{Name: "el7", Major: 7, SiteLib: "/usr/local/share/perl5"},
		{Name: "el8", Major: 8, SiteLib: "/usr/local/share/perl5"},
		// EL9 (perl 5.32.1): the site tree is versioned by perl's major.minor,
		// /usr/local/share/perl5/5.32 (perl.spec's %perl_compat version dir).
		{Name: "el9", Major: 9, SiteLib: "/usr/local/share/perl5/5.32"},
	}
}

// TargetNames lists the targets, for messages.
func TargetNames() []string {
	var out []string
	for _, t := range Targets() {
		out = append(out, t.Name)
	}
	return out
}

// ParseTarget finds a target by name (el7, EL7 or 7).
func ParseTarget(s string) (Target, error) {
	n := strings.TrimPrefix(strings.ToLower(strings.TrimSpace(s)), "el")
	if m, err := strconv.Atoi(n); err == nil {
		if t, err := TargetFor(m); err == nil {
			return t, nil
		}
	}
	return Target{}, fmt.Errorf("target %q: want one of %s", s, strings.Join(TargetNames(), ", "))
}

// TargetFor is the target of an EL major version.
func TargetFor(major int) (Target, error) {
	for _, t := range Targets() {
		if t.Major == major {
			return t, nil
		}
	}
	return Target{}, fmt.Errorf("no CPAN RPM target for EL%d: netkick builds for %s", major, strings.Join(TargetNames(), ", "))
}

// defines are the rpmbuild --define values the target needs.
func (t Target) defines() []string {
	if !t.Legacy {
		return nil
	}
	return []string{
		"_binary_filedigest_algorithm 1", // MD5
		"_source_filedigest_algorithm 1",
		"_binary_payload w9.gzdio",
		"_source_payload w9.gzdio",
	}
}

// createrepoArgs are the createrepo_c options the target's yum reads.
func (t Target) createrepoArgs() []string {
	if !t.Legacy {
		return nil
	}
	return []string{"--checksum", "sha1", "--general-compress-type", "gz", "--no-database"}
}
