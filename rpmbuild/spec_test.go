package rpmbuild

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"errors"
	"strings"
	"testing"
	"time"
)

var goldenDate = time.Date(2026, 11, 21, 12, 0, 0, 0, time.UTC)

// TestSpecGolden generates the spec of each real test dist (made by perl's
// toolchain) and compares it with testdata/<dist>.spec.golden.
func TestSpecGolden(t *testing.T) {
	for _, d := range testDists {
		t.Run(d.name, func(t *testing.T) {
			dist, err := OpenDist(makeDist(t, d.name))
			if err != nil {
				t.Fatal(err)
			}
			_, spec, err := GenerateSpec(dist, "Netkick Test <test@example.org>", goldenDate)
			if err != nil {
				t.Fatal(err)
			}
			golden(t, d.name+".spec.golden", spec)
		})
	}
}

// distFile is one member of a tarball made in memory.
type distFile struct {
	name, body string
	typ        byte   // 0 = regular file
	link       string // symlink or hard link target
}

func tarGz(t testing.TB, files []distFile) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	tw := tar.NewWriter(zw)
	for _, f := range files {
		h := &tar.Header{Name: f.name, Mode: 0o644, Size: int64(len(f.body)), Typeflag: tar.TypeReg}
		switch {
		case f.typ != 0:
			h.Typeflag, h.Size, h.Linkname = f.typ, 0, f.link
		case strings.HasSuffix(f.name, "/"):
			h.Typeflag, h.Size, h.Mode = tar.TypeDir, 0, 0o755
		}
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		if h.Typeflag == tar.TypeReg {
			tw.Write([]byte(f.body))
		}
	}
	tw.Close()
	zw.Close()
	return buf.Bytes()
}

const plainMakefilePL = `use ExtUtils::MakeMaker;
WriteMakefile(
    NAME          => 'Foo::Bar',
    VERSION_FROM  => 'lib/Foo/Bar.pm',
    LICENSE       => 'perl',
    PREREQ_PM     => { 'JSON::PP' => '2.0', Carp => 0 },
    TEST_REQUIRES => { "Test::More" => "0.96" },
    EXE_FILES     => [ 'bin/foo-bar' ],
);
`

const plainPM = `package Foo::Bar;
our $VERSION = '0.05';
1;
__END__

=head1 NAME

Foo::Bar - Do bar things to foo

=head1 DESCRIPTION

B<Foo::Bar> does I<bar> things, 100% of the time.

=cut
`

func TestReadDistRefuses(t *testing.T) {
	ok := []distFile{{name: "Foo-Bar-0.05/"}, {name: "Foo-Bar-0.05/Makefile.PL", body: plainMakefilePL}}
	cases := []struct {
		name  string
		file  string
		files []distFile
	}{
		{"dot-dot member", "Foo-Bar-0.05.tar.gz", append(ok, distFile{name: "Foo-Bar-0.05/../../etc/passwd", body: "x"})},
		{"dot-dot inside", "Foo-Bar-0.05.tar.gz", append(ok, distFile{name: "Foo-Bar-0.05/lib/../../x", body: "x"})},
		{"absolute member", "Foo-Bar-0.05.tar.gz", append(ok, distFile{name: "/etc/cron.d/x", body: "x"})},
		{"second top dir", "Foo-Bar-0.05.tar.gz", append(ok, distFile{name: "Other-1.0/x", body: "x"})},
		{"top dir of another dist", "Foo-Bar-0.05.tar.gz", []distFile{{name: "Evil-1.0/Makefile.PL", body: "x"}}},
		{"file at top level", "Foo-Bar-0.05.tar.gz", []distFile{{name: "Makefile.PL", body: "x"}}},
		{"absolute symlink", "Foo-Bar-0.05.tar.gz", append(ok, distFile{name: "Foo-Bar-0.05/lib", typ: tar.TypeSymlink, link: "/usr/lib"})},
		{"symlink up and out", "Foo-Bar-0.05.tar.gz", append(ok, distFile{name: "Foo-Bar-0.05/x", typ: tar.TypeSymlink, link: "../../etc"})},
		{"symlink to the parent dir", "Foo-Bar-0.05.tar.gz", append(ok, distFile{name: "Foo-Bar-0.05/x", typ: tar.TypeSymlink, link: ".."})},
		{"symlink out through another symlink", "Foo-Bar-0.05.tar.gz", append(ok,
			distFile{name: "Foo-Bar-0.05/a", typ: tar.TypeSymlink, link: "."},
			distFile{name: "Foo-Bar-0.05/k/s", typ: tar.TypeSymlink, link: "../a/.."})},
		{"member through a symlinked dir", "Foo-Bar-0.05.tar.gz", append(ok,
			distFile{name: "Foo-Bar-0.05/up", typ: tar.TypeSymlink, link: "sub/../.."},
			distFile{name: "Foo-Bar-0.05/up/x", body: "x"})},
		{"symlink loop", "Foo-Bar-0.05.tar.gz", append(ok,
			distFile{name: "Foo-Bar-0.05/a", typ: tar.TypeSymlink, link: "b"},
			distFile{name: "Foo-Bar-0.05/b", typ: tar.TypeSymlink, link: "a"})},
		{"hard link out", "Foo-Bar-0.05.tar.gz", append(ok, distFile{name: "Foo-Bar-0.05/h", typ: tar.TypeLink, link: "/etc/shadow"})},
		{"device node", "Foo-Bar-0.05.tar.gz", append(ok, distFile{name: "Foo-Bar-0.05/dev", typ: tar.TypeChar})},
		{"fifo", "Foo-Bar-0.05.tar.gz", append(ok, distFile{name: "Foo-Bar-0.05/fifo", typ: tar.TypeFifo})},
		{"not a dist name", "foo bar.tar.gz", ok},
		{"no version", "Foo-Bar.tar.gz", ok},
		{"shell in name", "Foo-$(reboot)-1.0.tar.gz", ok},
		{"zip", "Foo-Bar-0.05.zip", ok},
		{"empty tarball", "Foo-Bar-0.05.tar.gz", nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := ReadDist(c.file, bytes.NewReader(tarGz(t, c.files)))
			if !errors.Is(err, ErrUnsafe) {
				t.Fatalf("want ErrUnsafe, got %v", err)
			}
		})
	}
}

func TestReadDistAccepts(t *testing.T) {
	files := []distFile{
		{name: "./Foo-Bar-0.05/"},
		{name: "Foo-Bar-0.05/Makefile.PL", body: plainMakefilePL},
		{name: "Foo-Bar-0.05/lib/Foo/Bar.pm", body: plainPM},
		{name: "Foo-Bar-0.05/README", typ: tar.TypeSymlink, link: "lib/Foo/Bar.pm"},
		{name: "Foo-Bar-0.05/t/lib", typ: tar.TypeSymlink, link: "../lib"},
		{name: "Foo-Bar-0.05/Changes", typ: tar.TypeLink, link: "Foo-Bar-0.05/Makefile.PL"},
	}
	d, err := ReadDist("Foo-Bar-0.05.tar.gz", bytes.NewReader(tarGz(t, files)))
	if err != nil {
		t.Fatal(err)
	}
	if d.Name != "Foo-Bar" || d.Version != "0.05" || d.TopDir != "Foo-Bar-0.05" {
		t.Errorf("got %q %q %q", d.Name, d.Version, d.TopDir)
	}
	if want := "Changes Makefile.PL README lib/Foo/Bar.pm t/lib"; strings.Join(d.Files, " ") != want {
		t.Errorf("files %q, want %q", strings.Join(d.Files, " "), want)
	}
}

// TestSpecFromMakefilePL covers the last-resort path: no META file at all.
func TestSpecFromMakefilePL(t *testing.T) {
	files := []distFile{
		{name: "Foo-Bar-0.05/Makefile.PL", body: plainMakefilePL},
		{name: "Foo-Bar-0.05/lib/Foo/Bar.pm", body: plainPM},
		{name: "Foo-Bar-0.05/bin/foo-bar", body: "#!/usr/bin/perl\n"},
	}
	d, err := ReadDist("Foo-Bar-0.05.tar.gz", bytes.NewReader(tarGz(t, files)))
	if err != nil {
		t.Fatal(err)
	}
	p, spec, err := GenerateSpec(d, "", goldenDate)
	if err != nil {
		t.Fatal(err)
	}
	if p.Meta.Source != "Makefile.PL" {
		t.Errorf("metadata from %q, want Makefile.PL", p.Meta.Source)
	}
	for _, want := range []string{
		"Name:           perl-Foo-Bar\n", "Version:        0.05\n",
		"Summary:        Do bar things to foo\n", "License:        GPL+ or Artistic\n",
		"BuildArch:      noarch\n", "Requires:       perl(JSON::PP) >= 2.0\n", "Requires:       perl(Carp)\n",
		"BuildRequires:  perl(Test::More) >= 0.96\n",
		"Foo::Bar does bar things, 100%% of the time.\n",
		"perl Makefile.PL INSTALLDIRS=site INSTALLSITELIB=%{perl_sitelib}\n", "%{perl_sitescript}/*\n",
		"find %{buildroot} -type f -path '*/man1/*' -delete\n",
		"* Sat Nov 21 2026 netkick <root@localhost> - 0.05-1\n",
	} {
		if !strings.Contains(spec, want) {
			t.Errorf("spec lacks %q:\n%s", want, spec)
		}
	}
	if strings.Contains(spec, "man3") || strings.Contains(spec, "vendor") && !strings.Contains(spec, "vendor's") {
		t.Errorf("spec mentions man3 or vendor paths:\n%s", spec)
	}
}

func TestNoMetaNoMakefile(t *testing.T) {
	d, err := ReadDist("Foo-Bar-0.05.tar.gz", bytes.NewReader(tarGz(t, []distFile{{name: "Foo-Bar-0.05/README", body: "hi"}})))
	if err != nil {
		t.Fatal(err)
	}
	_, _, err = GenerateSpec(d, "", goldenDate)
	if !errors.Is(err, ErrNoMeta) || !strings.Contains(err.Error(), "Foo-Bar-0.05.tar.gz") {
		t.Fatalf("want ErrNoMeta naming the tarball, got %v", err)
	}
}

func TestPlanDecisions(t *testing.T) {
	cases := []struct {
		name   string
		files  []string
		meta   Meta
		check  func(p *Plan) bool
		expect string
	}{
		{"XS file makes it arch-specific", []string{"Makefile.PL", "Foo.xs"}, Meta{}, func(p *Plan) bool { return p.Arch }, "Arch"},
		{"C file makes it arch-specific", []string{"Makefile.PL", "src/foo.c"}, Meta{}, func(p *Plan) bool { return p.Arch }, "Arch"},
		{"C under t/ does not", []string{"Makefile.PL", "t/fixture.c"}, Meta{}, func(p *Plan) bool { return !p.Arch }, "noarch"},
		{"Build.PL only is Module::Build", []string{"Build.PL"}, Meta{}, func(p *Plan) bool { return p.Builder == ModuleBuild }, "ModuleBuild"},
		{"both, configure requires Module::Build", []string{"Build.PL", "Makefile.PL"},
			Meta{Prereqs: []Prereq{{PhaseConfigure, "Module::Build", "0.4"}}}, func(p *Plan) bool { return p.Builder == ModuleBuild }, "ModuleBuild"},
		{"both, no Module::Build prereq", []string{"Build.PL", "Makefile.PL"}, Meta{}, func(p *Plan) bool { return p.Builder == MakeMaker }, "MakeMaker"},
		{"perl prereq becomes perl(:VERSION)", []string{"Makefile.PL"},
			Meta{Prereqs: []Prereq{{PhaseRuntime, "perl", "5.008001"}}}, func(p *Plan) bool { return strings.Join(p.Requires, ",") == "perl(:VERSION) >= 5.8.1" }, "perl(:VERSION) >= 5.8.1"},
		{"highest version wins", []string{"Makefile.PL"},
			Meta{Prereqs: []Prereq{{PhaseRuntime, "Foo", "1.9"}, {PhaseRuntime, "Foo", "1.10"}, {PhaseBuild, "Foo", "1.2"}}},
			func(p *Plan) bool { return strings.Join(p.Requires, ",") == "perl(Foo) >= 1.9" }, "perl(Foo) >= 1.9 (1.9 > 1.10 in Perl)"},
		{"version range keeps the minimum", []string{"Makefile.PL"},
			Meta{Prereqs: []Prereq{{PhaseRuntime, "Foo", ">= 1.2, < 2.0, != 1.5"}}}, func(p *Plan) bool { return strings.Join(p.Requires, ",") == "perl(Foo) >= 1.2" }, "perl(Foo) >= 1.2"},
		{"dual license", []string{"Makefile.PL"}, Meta{License: []string{"artistic_2", "gpl_3"}}, func(p *Plan) bool { return p.License == "Artistic 2.0 or GPLv3" }, "Artistic 2.0 or GPLv3"},
		{"unknown license shows", []string{"Makefile.PL"}, Meta{License: []string{"wtfpl"}}, func(p *Plan) bool { return p.License == "CHECK(wtfpl)" }, "CHECK(wtfpl)"},
		{"abstract with macro is escaped", []string{"Makefile.PL"}, Meta{Abstract: "100% %{shell rm} fun\nline."}, func(p *Plan) bool { return p.Summary == "100%% %%{shell rm} fun line" }, "escaped summary"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			d := &Dist{File: "Foo-Bar-1.0.tar.gz", Name: "Foo-Bar", Version: "1.0", TopDir: "Foo-Bar-1.0", Files: c.files, content: map[string][]byte{}}
			m := c.meta
			p, err := PlanSpec(d, &m, "", goldenDate)
			if err != nil {
				t.Fatal(err)
			}
			if !c.check(p) {
				t.Errorf("want %s; plan: arch=%v builder=%s license=%q summary=%q requires=%v", c.expect, p.Arch, p.Builder, p.License, p.Summary, p.Requires)
			}
		})
	}
}

func TestPlanRefuses(t *testing.T) {
	d := &Dist{File: "Foo-Bar-1.0.tar.gz", Name: "Foo-Bar", Version: "1.0", TopDir: "Foo-Bar-1.0", Files: []string{"Makefile.PL"}}
	cases := []struct {
		name     string
		meta     Meta
		packager string
	}{
		{"module name with shell", Meta{Prereqs: []Prereq{{PhaseRuntime, "Foo;rm -rf /", "0"}}}, ""},
		{"version with newline", Meta{Prereqs: []Prereq{{PhaseRuntime, "Foo", "1.0\nRequires: evil"}}}, ""},
		{"packager without mail", Meta{}, "just a name"},
		{"packager with macro", Meta{}, "%{shell} <a@b.c>"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if _, err := PlanSpec(d, &c.meta, c.packager, goldenDate); err == nil {
				t.Fatal("want an error")
			}
		})
	}
}
