package rpmbuild

import (
	"errors"
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"
)

// DefaultPackager names the packager when none is given.
const DefaultPackager = "netkick <root@localhost>"

// Builder is how a dist is configured and installed.
type Builder string

// The two CPAN build systems.
const (
	MakeMaker   Builder = "ExtUtils::MakeMaker"
	ModuleBuild Builder = "Module::Build"
)

// Plan is everything the spec says, decided from the tarball and its
// metadata. It is plain data: PlanSpec decides it, RenderSpec prints it.
type Plan struct {
	Dist          *Dist
	Meta          *Meta
	Name          string // perl-Foo-Bar
	DistName      string // Foo-Bar
	Version       string // RPM Version
	Summary       string
	Description   string
	License       string
	Builder       Builder
	Arch          bool     // has XS or C: arch-specific, lives in sitearch
	Scripts       bool     // installs programs (bin/ or script/)
	BuildRequires []string // perl(Mod) >= v, sorted, unique
	Requires      []string
	Docs          []string
	Packager      string
	Date          time.Time
}

var packagerRe = regexp.MustCompile(`^[^<>%\n\r]+ <[^<>%\s@]+@[^<>%\s]+>$`)

// PlanSpec decides the spec for a dist. packager is "Name <mail>" (empty for
// DefaultPackager); date is the %changelog date.
func PlanSpec(d *Dist, m *Meta, packager string, date time.Time) (*Plan, error) {
	if packager == "" {
		packager = DefaultPackager
	}
	if !packagerRe.MatchString(packager) {
		return nil, fmt.Errorf("packager %q: want \"Name <user@example.org>\" (no %% or angle brackets in the name)", packager)
	}
	p := &Plan{Dist: d, Meta: m, Packager: packager, Date: date}
	// The tarball's name is what CPAN indexes and what %setup unpacks; a
	// META name or version that disagrees with it is a packaging slip.
	p.DistName = d.Name
	p.Name = "perl-" + p.DistName
	p.Version = strings.TrimPrefix(d.Version, "v")
	p.Summary = oneLine(m.Abstract)
	if p.Summary == "" || strings.EqualFold(p.Summary, "unknown") {
		p.Summary = strings.ReplaceAll(p.DistName, "-", "::") + " Perl module"
	}
	p.Summary = strings.TrimSuffix(p.Summary, ".")
	p.Description = p.Summary + "."
	if desc := descriptionFromPOD(d, p.DistName); desc != "" {
		p.Description = desc
	}
	p.License = MapLicense(m.License)
	p.Builder = chooseBuilder(d, m)
	for _, f := range d.Files {
		if isCompiled(f) {
			p.Arch = true
		}
	}
	p.Scripts = hasScripts(d, p.Builder)
	for _, doc := range []string{"Changes", "ChangeLog", "CHANGES", "README", "README.md", "README.pod", "LICENSE", "COPYING", "TODO"} {
		if d.Has(doc) {
			p.Docs = append(p.Docs, doc)
		}
	}
	var err error
	if p.BuildRequires, p.Requires, err = deps(m.Prereqs, p.Builder); err != nil {
		return nil, fmt.Errorf("%s: %w", d.File, err)
	}
	return p, nil
}

// chooseBuilder prefers Build.PL when the dist asks for Module::Build (or
// ships no Makefile.PL), else ExtUtils::MakeMaker.
func chooseBuilder(d *Dist, m *Meta) Builder {
	if !d.Has("Build.PL") {
		return MakeMaker
	}
	if !d.Has("Makefile.PL") {
		return ModuleBuild
	}
	for _, pr := range m.Prereqs {
		if pr.Phase == PhaseConfigure && strings.HasPrefix(pr.Module, "Module::Build") {
			return ModuleBuild
		}
	}
	return MakeMaker
}

// hasScripts says whether the build installs programs: MakeMaker only those
// named in EXE_FILES, Module::Build the files under bin/ unless script_files
// says otherwise, Module::Build::Tiny the files under script/.
func hasScripts(d *Dist, b Builder) bool {
	dirHasFiles := func(dir string) bool {
		for _, f := range d.Files {
			if strings.HasPrefix(f, dir+"/") {
				return true
			}
		}
		return false
	}
	if b == MakeMaker {
		mf, _ := d.Content("Makefile.PL")
		return strings.Contains(string(mf), "EXE_FILES")
	}
	bp, _ := d.Content("Build.PL")
	switch {
	case strings.Contains(string(bp), "Module::Build::Tiny"):
		return dirHasFiles("script")
	case strings.Contains(string(bp), "script_files"):
		return true
	}
	return dirHasFiles("bin")
}

func isCompiled(f string) bool {
	for _, ext := range []string{".xs", ".c", ".cc", ".cpp", ".cxx", ".C"} {
		if strings.HasSuffix(f, ext) && !strings.HasPrefix(f, "t/") {
			return true
		}
	}
	return false
}

// deps turns prereqs into sorted, unique BuildRequires and Requires. Runtime
// prereqs are needed by the tests too, so they are build requirements as
// well. A module listed twice keeps its highest version.
func deps(prs []Prereq, b Builder) (build, run []string, err error) {
	bmax, rmax := map[string]string{}, map[string]string{}
	add := func(m map[string]string, mod, ver string) {
		if old, ok := m[mod]; !ok || perlVersionLess(old, ver) {
			m[mod] = ver
		}
	}
	add(bmax, string(b), "0")
	for _, pr := range prs {
		if pr.Module != "perl" && !moduleRe.MatchString(pr.Module) {
			return nil, nil, fmt.Errorf("prereq module name %q is not a Perl module name", pr.Module)
		}
		ver, err := reqVersion(pr.Version)
		if err != nil {
			return nil, nil, fmt.Errorf("prereq %s: %w", pr.Module, err)
		}
		add(bmax, pr.Module, ver)
		if pr.Phase == PhaseRuntime {
			add(rmax, pr.Module, ver)
		}
	}
	return depLines(bmax), depLines(rmax), nil
}

func depLines(m map[string]string) []string {
	var out []string
	for mod, ver := range m {
		out = append(out, depLine(mod, ver))
	}
	sort.Strings(out)
	return out
}

// depLine renders one dependency. perl itself is required through
// perl(:VERSION), which perl provides with its dotted version, because the
// decimal form (5.008001) does not compare right against 5.36.0 in RPM.
func depLine(mod, ver string) string {
	if mod == "perl" {
		if ver == "0" {
			return "perl"
		}
		return "perl(:VERSION) >= " + dottedPerlVersion(ver)
	}
	if ver == "0" {
		return "perl(" + mod + ")"
	}
	return "perl(" + mod + ") >= " + ver
}

// reqVersion reads a CPAN::Meta version requirement ("1.2", ">= 1.2, < 2",
// "== 1.5") and returns the minimum as RPM can compare it ("0" for any).
func reqVersion(v string) (string, error) {
	v = strings.TrimSpace(v)
	if v == "" {
		return "0", nil
	}
	min := "0"
	for _, part := range strings.Split(v, ",") {
		part = strings.TrimSpace(part)
		op := ""
		for _, o := range []string{">=", "<=", "==", "!=", ">", "<"} {
			if strings.HasPrefix(part, o) {
				op, part = o, strings.TrimSpace(part[len(o):])
				break
			}
		}
		if !versionRe.MatchString(part) {
			return "", fmt.Errorf("version %q is not a Perl version number", v)
		}
		part = strings.TrimPrefix(part, "v")
		switch op {
		case "", ">=", ">", "==":
			if perlVersionLess(min, part) {
				min = part
			}
		}
	}
	if n, err := strconv.ParseFloat(strings.ReplaceAll(min, "_", ""), 64); err == nil && n == 0 && strings.Count(min, ".") <= 1 {
		min = "0"
	}
	return min, nil
}

// perlVersionLess compares two Perl versions (decimal 1.02 or dotted 1.2.3).
func perlVersionLess(a, b string) bool {
	pa, pb := perlVersionParts(a), perlVersionParts(b)
	for i := 0; i < len(pa) || i < len(pb); i++ {
		var x, y int
		if i < len(pa) {
			x = pa[i]
		}
		if i < len(pb) {
			y = pb[i]
		}
		if x != y {
			return x < y
		}
	}
	return false
}

// perlVersionParts gives the integer parts of a version the way Perl's
// version.pm normalises it: 1.002003 -> 1,2,3 and v1.2.3 -> 1,2,3.
func perlVersionParts(v string) []int {
	v = strings.ReplaceAll(strings.TrimPrefix(v, "v"), "_", "")
	fields := strings.Split(v, ".")
	var out []int
	if len(fields) == 2 {
		n, _ := strconv.Atoi(fields[0])
		out = append(out, n)
		frac := fields[1]
		for len(frac)%3 != 0 {
			frac += "0"
		}
		for i := 0; i < len(frac); i += 3 {
			n, _ := strconv.Atoi(frac[i : i+3])
			out = append(out, n)
		}
		return out
	}
	for _, f := range fields {
		n, _ := strconv.Atoi(f)
		out = append(out, n)
	}
	return out
}

// dottedPerlVersion turns 5.008001 into 5.8.1 (and keeps 5.10.1 as it is).
func dottedPerlVersion(v string) string {
	parts := perlVersionParts(v)
	for len(parts) < 3 {
		parts = append(parts, 0)
	}
	s := make([]string, len(parts))
	for i, n := range parts {
		s[i] = strconv.Itoa(n)
	}
	return strings.Join(s, ".")
}

// licenseName maps a CPAN::Meta license string (spec 2 and 1.4, and the
// values MakeMaker's LICENSE takes) to the name RPM specs use.
func licenseName(l string) (string, bool) {
	switch l {
	case "perl_5", "perl":
		return "GPL+ or Artistic", true
	case "apache_1_1":
		return "ASL 1.1", true
	case "apache_2_0", "apache":
		return "ASL 2.0", true
	case "artistic_1", "artistic":
		return "Artistic", true
	case "artistic_2":
		return "Artistic 2.0", true
	case "bsd", "freebsd", "ssleay":
		return "BSD", true
	case "gpl_1", "gpl":
		return "GPL+", true
	case "gpl_2":
		return "GPLv2", true
	case "gpl_3":
		return "GPLv3", true
	case "lgpl_2_1":
		return "LGPLv2", true
	case "lgpl_3_0":
		return "LGPLv3", true
	case "lgpl":
		return "LGPLv2+", true
	case "mit":
		return "MIT", true
	case "zlib":
		return "zlib", true
	case "openssl":
		return "OpenSSL", true
	case "mozilla_1_0":
		return "MPLv1.0", true
	case "mozilla_1_1", "mozilla":
		return "MPLv1.1", true
	case "mozilla_2_0":
		return "MPLv2.0", true
	case "gfdl_1_2", "gfdl_1_3":
		return "GFDL", true
	case "qpl_1_0":
		return "QPL", true
	case "sun":
		return "SISSL", true
	case "open_source":
		return "Distributable", true
	case "unrestricted":
		return "Public Domain", true
	case "restrictive":
		return "Restrictive", true
	case "unknown":
		return "Unknown", true
	}
	return "", false
}

// MapLicense maps META license strings to one RPM License value; several
// licenses are alternatives ("or"). Unknown strings keep their CPAN name so
// a reviewer sees them.
func MapLicense(ls []string) string {
	var out []string
	seen := map[string]bool{}
	for _, l := range ls {
		r, ok := licenseName(strings.ToLower(strings.TrimSpace(l)))
		if !ok {
			r = "CHECK(" + sanitizeText(l) + ")"
		}
		if !seen[r] {
			seen[r] = true
			out = append(out, r)
		}
	}
	if len(out) == 0 {
		return "Unknown"
	}
	return strings.Join(out, " or ")
}

// oneLine makes free text safe for a spec header: one line, no macros.
func oneLine(s string) string {
	return strings.Join(strings.Fields(sanitizeText(s)), " ")
}

// sanitizeText escapes RPM macro characters and drops control characters.
func sanitizeText(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch {
		case r == '%':
			b.WriteString("%%")
		case r == '\n' || r == '\t':
			b.WriteRune(r)
		case r < 0x20 || r == 0x7f:
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

var podCodeRe = regexp.MustCompile(`[A-Z]<+\s*([^<>]*?)\s*>+`)

// descriptionFromPOD returns the first paragraph of the main module's
// DESCRIPTION section, POD codes removed.
func descriptionFromPOD(d *Dist, dist string) string {
	rel := strings.ReplaceAll(dist, "-", "/")
	var src []byte
	for _, f := range []string{"lib/" + rel + ".pod", "lib/" + rel + ".pm", rel[strings.LastIndex(rel, "/")+1:] + ".pm"} {
		if b, ok := d.Content(f); ok && strings.Contains(string(b), "=head1 DESCRIPTION") {
			src = b
			break
		}
	}
	if src == nil {
		return ""
	}
	s := strings.ReplaceAll(string(src), "\r\n", "\n")
	_, after, _ := strings.Cut(s, "=head1 DESCRIPTION")
	for _, para := range strings.Split(after, "\n\n") {
		para = strings.TrimSpace(para)
		if para == "" || strings.HasPrefix(para, "=") || strings.HasPrefix(para, " ") {
			if strings.HasPrefix(para, "=head") || strings.HasPrefix(para, "=cut") {
				return ""
			}
			continue
		}
		para = podCodeRe.ReplaceAllString(para, "$1")
		return wrap(oneLine(para), 76)
	}
	return ""
}

func wrap(s string, width int) string {
	var b strings.Builder
	n := 0
	for _, w := range strings.Fields(s) {
		if n > 0 && n+1+len(w) > width {
			b.WriteByte('\n')
			n = 0
		} else if n > 0 {
			b.WriteByte(' ')
			n++
		}
		b.WriteString(w)
		n += len(w)
	}
	return b.String()
}

// ErrBadSpec marks a plan that cannot be rendered safely.
var ErrBadSpec = errors.New("cannot write a safe spec")

// RenderSpec prints the spec for a plan.
func RenderSpec(p *Plan) (string, error) {
	if !distDirRe.MatchString(p.Dist.TopDir) || !distFileRe.MatchString(p.Dist.File) {
		return "", fmt.Errorf("%w: dist %q / %q", ErrBadSpec, p.Dist.File, p.Dist.TopDir)
	}
	if !regexp.MustCompile(`^[0-9][0-9A-Za-z._+~]*$`).MatchString(p.Version) {
		return "", fmt.Errorf("%w: version %q is not usable as an RPM Version (no '-' allowed)", ErrBadSpec, p.Version)
	}
	var b strings.Builder
	w := func(format string, a ...any) { fmt.Fprintf(&b, format, a...) }
	hdr := func(tag, val string) { w("%-16s%s\n", tag+":", val) }
	lib := "%{perl_sitelib}"
	if p.Arch {
		lib = "%{perl_sitearch}"
	}

	w("# Spec for the CPAN dist %s, written by netkick rpm spec.\n", p.Dist.File)
	w("# It installs into site_perl and packages no man pages, so it never\n")
	w("# conflicts with or overwrites files the vendor's perl package owns.\n")
	w("%%{!?perl_sitelib: %%global perl_sitelib %%(eval \"$(perl -V:installsitelib)\"; echo $installsitelib)}\n")
	if p.Arch {
		w("%%{!?perl_sitearch: %%global perl_sitearch %%(eval \"$(perl -V:installsitearch)\"; echo $installsitearch)}\n")
	}
	if p.Scripts {
		w("%%{!?perl_sitescript: %%global perl_sitescript %%(eval \"$(perl -V:installsitescript)\"; echo $installsitescript)}\n")
	}
	w("\n")
	hdr("Name", p.Name)
	hdr("Version", p.Version)
	hdr("Release", "1%{?dist}")
	hdr("Summary", p.Summary)
	hdr("License", p.License)
	hdr("URL", "https://metacpan.org/release/"+p.DistName)
	first, _, _ := strings.Cut(p.DistName, "-")
	hdr("Source0", "https://www.cpan.org/modules/by-module/"+first+"/"+p.Dist.File)
	if !p.Arch {
		hdr("BuildArch", "noarch")
	} else {
		hdr("BuildRequires", "gcc")
	}
	hdr("BuildRequires", "make")
	hdr("BuildRequires", "perl")
	for _, r := range p.BuildRequires {
		hdr("BuildRequires", r)
	}
	for _, r := range p.Requires {
		hdr("Requires", r)
	}
	w("\n%%description\n%s\n", p.Description)

	w("\n%%prep\n%%setup -q -n %s\n", p.Dist.TopDir)
	// A tarball made moments ago (or on a host whose clock runs ahead) carries
	// mtimes in the future; make would then rebuild the Makefile and stop.
	w("find . -exec touch -c -h -d '2000-01-01 00:00:00' {} +\n")

	w("\n%%build\n")
	switch p.Builder {
	case ModuleBuild:
		if p.Arch {
			w("perl Build.PL --installdirs site\n./Build\n")
		} else {
			w("perl Build.PL --installdirs site --install_path lib=%%{perl_sitelib}\n./Build\n")
		}
	default:
		if p.Arch {
			w("perl Makefile.PL INSTALLDIRS=site OPTIMIZE=\"%%{optflags}\"\n")
		} else {
			w("perl Makefile.PL INSTALLDIRS=site INSTALLSITELIB=%%{perl_sitelib}\n")
		}
		w("make %%{?_smp_mflags}\n")
	}

	w("\n%%install\n")
	switch p.Builder {
	case ModuleBuild:
		w("./Build install --destdir=%%{buildroot} --create_packlist=0\n")
	default:
		w("make pure_install DESTDIR=%%{buildroot}\n")
	}
	w("find %%{buildroot} -type f -name .packlist -delete\n")
	w("find %%{buildroot} -type f -name perllocal.pod -delete\n")
	if p.Arch {
		w("find %%{buildroot} -type f -name '*.bs' -empty -delete\n")
	}
	w("# The vendor's perl package owns these man pages: never package them.\n")
	w("find %%{buildroot} -type f -name '*.3pm' -delete\n")
	if p.Scripts {
		w("find %%{buildroot} -type f -path '*/man1/*' -delete\n")
	}
	w("find %%{buildroot} -depth -type d -empty -delete\n")
	w("%%{_fixperms} %%{buildroot}/*\n")

	w("\n%%check\n")
	switch p.Builder {
	case ModuleBuild:
		w("./Build test\n")
	default:
		w("make test\n")
	}

	w("\n%%files\n")
	if len(p.Docs) > 0 {
		w("%%doc %s\n", strings.Join(p.Docs, " "))
	}
	w("%s/*\n", lib)
	if p.Scripts {
		w("%%{perl_sitescript}/*\n")
	}

	w("\n%%changelog\n")
	w("* %s %s - %s-1\n", p.Date.UTC().Format("Mon Jan 02 2006"), p.Packager, p.Version)
	w("- Packaged %s from CPAN for site_perl, without man pages.\n", p.Dist.File)
	return b.String(), nil
}

// GenerateSpec reads a tarball's metadata and renders its spec.
func GenerateSpec(d *Dist, packager string, date time.Time) (*Plan, string, error) {
	m, err := ReadMeta(d)
	if err != nil {
		return nil, "", err
	}
	p, err := PlanSpec(d, m, packager, date)
	if err != nil {
		return nil, "", err
	}
	s, err := RenderSpec(p)
	if err != nil {
		return nil, "", err
	}
	return p, s, nil
}
