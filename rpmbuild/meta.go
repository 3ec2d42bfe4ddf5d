package rpmbuild

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"sort"
	"strings"
)

// ErrNoMeta is returned when a dist has neither META.json, META.yml,
// Makefile.PL nor Build.PL.
var ErrNoMeta = errors.New("no META.json, META.yml, Makefile.PL or Build.PL")

// Phases of CPAN prerequisites, in the order they are listed.
const (
	PhaseConfigure = "configure"
	PhaseBuild     = "build"
	PhaseTest      = "test"
	PhaseRuntime   = "runtime"
)

// Prereq is one required module ("requires" relation only; recommends and
// suggests are not dependencies).
type Prereq struct {
	Phase   string
	Module  string // "perl" for the interpreter itself
	Version string // "0" or "" means any version
}

// Meta is what the spec needs from a dist's metadata.
type Meta struct {
	Source   string // META.json, META.yml, Makefile.PL or Build.PL
	Name     string // dist name, Foo-Bar
	Version  string
	Abstract string
	License  []string // CPAN::Meta license strings (perl_5, mit, …)
	Prereqs  []Prereq
}

var (
	moduleRe  = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*(?:::[A-Za-z0-9_]+)*$`)
	versionRe = regexp.MustCompile(`^v?[0-9]+(?:[._][0-9]+)*$`)
)

// ParseMetaJSON reads a META.json (CPAN::Meta::Spec 2, or 1.x keys in JSON).
func ParseMetaJSON(b []byte) (*Meta, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var tree any
	if err := dec.Decode(&tree); err != nil {
		return nil, fmt.Errorf("META.json: %w", err)
	}
	return metaFromTree(tree, "META.json")
}

// ParseMetaYAML reads a META.yml (CPAN::Meta::Spec 1.x, or 2 keys in YAML).
func ParseMetaYAML(b []byte) (*Meta, error) {
	tree, err := parseYAML(b)
	if err != nil {
		return nil, fmt.Errorf("META.yml: %w", err)
	}
	return metaFromTree(tree, "META.yml")
}

func metaFromTree(tree any, src string) (*Meta, error) {
	top, ok := tree.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("%s: the document is not a mapping", src)
	}
	m := &Meta{Source: src}
	m.Name = str(top["name"])
	m.Version = str(top["version"])
	m.Abstract = str(top["abstract"])
	switch l := top["license"].(type) {
	case []any:
		for _, x := range l {
			if s := str(x); s != "" {
				m.License = append(m.License, s)
			}
		}
	default:
		if s := str(l); s != "" {
			m.License = []string{s}
		}
	}
	if pr, ok := top["prereqs"].(map[string]any); ok {
		// Spec 2: prereqs.{phase}.requires.{module: version}
		for _, phase := range []string{PhaseConfigure, PhaseBuild, PhaseTest, PhaseRuntime} {
			ph, _ := pr[phase].(map[string]any)
			req, _ := ph["requires"].(map[string]any)
			m.Prereqs = append(m.Prereqs, prereqs(phase, req)...)
		}
	} else {
		// Spec 1.x: configure_requires, build_requires, test_requires, requires.
		for _, k := range []struct{ key, phase string }{
			{"configure_requires", PhaseConfigure}, {"build_requires", PhaseBuild},
			{"test_requires", PhaseTest}, {"requires", PhaseRuntime},
		} {
			req, _ := top[k.key].(map[string]any)
			m.Prereqs = append(m.Prereqs, prereqs(k.phase, req)...)
		}
	}
	return m, nil
}

func prereqs(phase string, req map[string]any) []Prereq {
	mods := make([]string, 0, len(req))
	for k := range req {
		mods = append(mods, k)
	}
	sort.Strings(mods)
	out := make([]Prereq, 0, len(mods))
	for _, mod := range mods {
		out = append(out, Prereq{Phase: phase, Module: mod, Version: str(req[mod])})
	}
	return out
}

func str(v any) string {
	switch x := v.(type) {
	case string:
		return strings.TrimSpace(x)
	case json.Number:
		return x.String()
	case []any:
		// Some META.yml writers give abstract/author as a one-item list.
		if len(x) == 1 {
			return str(x[0])
		}
	}
	return ""
}

// ReadMeta finds the dist's metadata: META.json, else META.yml, else a best
// effort reading of Makefile.PL or Build.PL. A META file that fails to parse
// falls through to the next source; the errors are returned only when none
// works.
func ReadMeta(d *Dist) (*Meta, error) {
	var errs []error
	if b, ok := d.Content("META.json"); ok {
		m, err := ParseMetaJSON(b)
		if err == nil {
			return m, nil
		}
		errs = append(errs, err)
	}
	if b, ok := d.Content("META.yml"); ok {
		m, err := ParseMetaYAML(b)
		if err == nil {
			return m, nil
		}
		errs = append(errs, err)
	}
	for _, f := range []string{"Makefile.PL", "Build.PL"} {
		if b, ok := d.Content(f); ok {
			return metaFromPL(d, f, b), nil
		}
	}
	errs = append(errs, fmt.Errorf("%s: %w: it is not a CPAN distribution, or an unusual one; write the spec by hand", d.File, ErrNoMeta))
	return nil, errors.Join(errs...)
}

// metaFromPL reads the literal arguments of WriteMakefile(...) or
// Module::Build->new(...). Computed values are not evaluated (the file is
// never run); what cannot be read is left empty and filled from the tarball
// name by the caller.
func metaFromPL(d *Dist, file string, b []byte) *Meta {
	s := string(b)
	m := &Meta{Source: file}
	get := func(keys ...string) string {
		for _, k := range keys {
			re := regexp.MustCompile(`(?m)['"]?\b` + k + `\b['"]?\s*=>\s*(?:q[q]?\s*[({\[]\s*|['"])([^'"\n)}\]]*)`)
			if sm := re.FindStringSubmatch(s); sm != nil {
				return strings.TrimSpace(sm[1])
			}
		}
		return ""
	}
	module := get("NAME", "module_name")
	if dn := get("DISTNAME", "dist_name"); dn != "" {
		m.Name = dn
	} else if module != "" {
		m.Name = strings.ReplaceAll(module, "::", "-")
	}
	m.Version = get("VERSION", "dist_version")
	if m.Version == "" {
		if from := get("VERSION_FROM", "dist_version_from"); from != "" {
			if pm, ok := d.Content(from); ok {
				m.Version = versionFromPM(pm)
			}
		}
	}
	m.Abstract = get("ABSTRACT", "dist_abstract")
	if m.Abstract == "" {
		from := get("ABSTRACT_FROM", "VERSION_FROM", "dist_version_from")
		if from == "" && module != "" {
			from = "lib/" + strings.ReplaceAll(module, "::", "/") + ".pm"
		}
		if pm, ok := d.Content(from); ok {
			m.Abstract = abstractFromPOD(pm)
		}
	}
	if l := get("LICENSE", "license"); l != "" {
		m.License = []string{l}
	}
	for _, k := range []struct{ key, phase string }{
		{"CONFIGURE_REQUIRES", PhaseConfigure}, {"configure_requires", PhaseConfigure},
		{"BUILD_REQUIRES", PhaseBuild}, {"build_requires", PhaseBuild},
		{"TEST_REQUIRES", PhaseTest}, {"test_requires", PhaseTest},
		{"PREREQ_PM", PhaseRuntime}, {"requires", PhaseRuntime},
	} {
		m.Prereqs = append(m.Prereqs, plHash(s, k.key, k.phase)...)
	}
	return m
}

var plPairRe = regexp.MustCompile(`['"]?([A-Za-z_][A-Za-z0-9_:]*)['"]?\s*(?:=>|,)\s*['"]?([v0-9._]+)['"]?`)

// plHash reads `KEY => { 'Mod' => ver, ... }` from a .PL file.
func plHash(s, key, phase string) []Prereq {
	re := regexp.MustCompile(`['"]?\b` + key + `\b['"]?\s*=>\s*\{([^}]*)\}`)
	sm := re.FindStringSubmatch(s)
	if sm == nil {
		return nil
	}
	var out []Prereq
	for _, p := range plPairRe.FindAllStringSubmatch(sm[1], -1) {
		out = append(out, Prereq{Phase: phase, Module: p[1], Version: p[2]})
	}
	return out
}

var (
	pmVersionRe = regexp.MustCompile(`(?m)\$VERSION\s*=\s*['"]?(v?[0-9][0-9._]*)['"]?`)
	pmPackageRe = regexp.MustCompile(`(?m)^\s*package\s+[A-Za-z_][\w:]*\s+(v?[0-9][0-9._]*)\s*[;{]`)
	podNameRe   = regexp.MustCompile(`(?m)^=head1\s+NAME\s*\n\s*\n\s*\S+\s+-+\s+(.+)$`)
)

func versionFromPM(b []byte) string {
	if sm := pmPackageRe.FindSubmatch(b); sm != nil {
		return string(sm[1])
	}
	if sm := pmVersionRe.FindSubmatch(b); sm != nil {
		return string(sm[1])
	}
	return ""
}

func abstractFromPOD(b []byte) string {
	if sm := podNameRe.FindSubmatch(b); sm != nil {
		return strings.TrimSpace(string(sm[1]))
	}
	return ""
}
