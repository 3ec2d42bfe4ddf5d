package rpmbuild

import (
	"fmt"
	"regexp"
	"strings"
)

// Fix is one change FixSpec made.
type Fix struct {
	Line int    // 1-based line in the input (0 for an inserted line)
	What string // what changed and why
}

var (
	sectionRe = regexp.MustCompile(`^%(prep|build|install|check|clean|files|changelog|description|package|pre|post|preun|postun|pretrans|posttrans|verifyscript|trigger\w*)\b`)
	// Makefile.PL INSTALLDIRS=vendor, old Build.PL installdirs=vendor.
	installdirsRe = regexp.MustCompile(`(?i)(\binstalldirs\s*=\s*["']?)vendor\b`)
	// Build.PL --installdirs vendor / --installdirs=vendor.
	installdirsOptRe = regexp.MustCompile(`(--installdirs[ =]["']?)vendor\b`)
	vendorMacroRe    = regexp.MustCompile(`\b(perl_|install)vendor(lib|arch|script|bin)\b`)
	man3Re           = regexp.MustCompile(`man3|\.3pm`)
	rm3pmRe          = regexp.MustCompile(`\*\.3pm.*(-delete|rm )|rm .*\*\.3pm`)
	rmdirLineRe      = regexp.MustCompile(`^find .*-type d.*(rmdir|-delete)`)
	fixpermsRe       = regexp.MustCompile(`^%\{?_fixperms\}?`)
)

// FixSpec applies the two site_perl fixes to a spec written elsewhere (for
// example by cpanspec): it installs into site instead of vendor, and it
// deletes the generated *.3pm man pages in %install and lists no man3 entry
// in %files. It is idempotent: fixing a fixed spec changes nothing.
func FixSpec(spec string) (string, []Fix) {
	lines := strings.Split(spec, "\n")
	var out []string
	var fixes []Fix
	section := ""
	root := "%{buildroot}"
	if strings.Contains(spec, "$RPM_BUILD_ROOT") && !strings.Contains(spec, "%{buildroot}") {
		root = "$RPM_BUILD_ROOT"
	}
	has3pmRemoval := false
	for _, l := range lines {
		if rm3pmRe.MatchString(l) {
			has3pmRemoval = true
		}
	}
	installStart, insertAt := -1, -1 // indexes into out
	for i, l := range lines {
		n := i + 1
		if m := sectionRe.FindStringSubmatch(l); m != nil {
			section = m[1]
			if section == "install" {
				installStart = len(out)
			}
		}
		if section == "changelog" {
			out = append(out, l)
			continue
		}
		orig := l
		l = installdirsRe.ReplaceAllString(l, "${1}site")
		l = installdirsOptRe.ReplaceAllString(l, "${1}site")
		l = vendorMacroRe.ReplaceAllString(l, "${1}site${2}")
		if l != orig {
			fixes = append(fixes, Fix{n, fmt.Sprintf("vendor -> site: %q", strings.TrimSpace(l))})
		}
		if section == "files" && man3Re.MatchString(l) && !strings.HasPrefix(strings.TrimSpace(l), "#") {
			fixes = append(fixes, Fix{n, fmt.Sprintf("dropped man page entry %q from %%files", strings.TrimSpace(l))})
			continue
		}
		if section == "install" && insertAt < 0 && !has3pmRemoval {
			t := strings.TrimSpace(l)
			if rmdirLineRe.MatchString(t) || fixpermsRe.MatchString(t) {
				insertAt = len(out)
			}
		}
		out = append(out, l)
		if section == "install" && !has3pmRemoval && insertAt < 0 && i+1 < len(lines) && sectionRe.MatchString(lines[i+1]) {
			// End of %install without a find/rmdir or %_fixperms line:
			// insert before the trailing blank lines.
			insertAt = len(out)
			for insertAt > installStart+1 && strings.TrimSpace(out[insertAt-1]) == "" {
				insertAt--
			}
		}
	}
	if installStart >= 0 && !has3pmRemoval {
		if insertAt < 0 {
			insertAt = len(out)
		}
		add := []string{
			"# The vendor's perl package owns these man pages: never package them.",
			"find " + root + " -type f -name '*.3pm' -exec rm -f {} \\;",
		}
		out = append(out[:insertAt], append(add, out[insertAt:]...)...)
		fixes = append(fixes, Fix{0, "added removal of the generated *.3pm man pages to %install"})
	}
	return strings.Join(out, "\n"), fixes
}
