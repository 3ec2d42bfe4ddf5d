package main

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/netkick/netkick/internal/testenv"
)

func writeTestDist(t *testing.T, dir string) string {
	t.Helper()
	files := []struct{ name, body string }{
		{"Makefile.PL", "use ExtUtils::MakeMaker;\nWriteMakefile(NAME => 'Acme::Netkick::Cli', VERSION_FROM => 'lib/Acme/Netkick/Cli.pm', ABSTRACT => 'Built by the CLI test', LICENSE => 'mit', PREREQ_PM => { 'Carp' => '1.0' });\n"},
		{"lib/Acme/Netkick/Cli.pm", "package Acme::Netkick::Cli;\nour $VERSION = '0.2';\n1;\n__END__\n\n=head1 NAME\n\nAcme::Netkick::Cli - Built by the CLI test\n\n=cut\n"},
	}
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	tw := tar.NewWriter(zw)
	for _, f := range files {
		tw.WriteHeader(&tar.Header{Name: "Acme-Netkick-Cli-0.2/" + f.name, Mode: 0o644, Size: int64(len(f.body))})
		tw.Write([]byte(f.body))
	}
	tw.Close()
	zw.Close()
	p := filepath.Join(dir, "Acme-Netkick-Cli-0.2.tar.gz")
	if err := os.WriteFile(p, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestCLIRpm runs the real binary: rpm spec, rpm spec --fix (twice), rpm
// build into the default repository, then netkick serve publishes it.
func TestCLIRpm(t *testing.T) {
	bin := buildNetkick(t)
	dir := t.TempDir()
	tarball := writeTestDist(t, dir)

	spec := run(t, bin, "rpm", "spec", tarball, "--packager", "Jo Ops <jo@example.org>")
	for _, want := range []string{"Name:           perl-Acme-Netkick-Cli", "License:        MIT", "Requires:       perl(Carp) >= 1.0",
		"perl Makefile.PL INSTALLDIRS=site", "Jo Ops <jo@example.org> - 0.2-1"} {
		if !strings.Contains(spec, want) {
			t.Errorf("spec lacks %q:\n%s", want, spec)
		}
	}

	in, err := os.ReadFile(filepath.Join("..", "..", "rpmbuild", "testdata", "fix", "perl-CGI.spec"))
	if err != nil {
		t.Fatal(err)
	}
	specPath := filepath.Join(dir, "perl-CGI.spec")
	os.WriteFile(specPath, in, 0o644)
	cmd := exec.Command(bin, "rpm", "spec", "--fix", specPath)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("--fix: %v\n%s", err, stderr.String())
	}
	if !strings.Contains(stdout.String(), "-%{__perl} Makefile.PL INSTALLDIRS=vendor\n+%{__perl} Makefile.PL INSTALLDIRS=site") {
		t.Errorf("--fix printed no diff of the INSTALLDIRS line:\n%s", stdout.String())
	}
	fixed, _ := os.ReadFile(specPath)
	if strings.Contains(string(fixed), "INSTALLDIRS=vendor") || strings.Contains(string(fixed), "man3") {
		t.Errorf("the file was not fixed in place:\n%s", fixed)
	}
	again := run(t, bin, "rpm", "spec", "--fix", specPath)
	if !strings.Contains(again, "nothing to change") {
		t.Errorf("second --fix: %q", again)
	}

	if out, err := exec.Command(bin, "rpm", "spec", filepath.Join(dir, "not a dist.tar.gz")).CombinedOutput(); err == nil || !strings.Contains(string(out), "not a CPAN dist tarball name") {
		t.Errorf("bad tarball name: %v %s", err, out)
	}

	testenv.RequireProgram(t, "rpmbuild", "createrepo_c", "perl", "make")
	data := filepath.Join(dir, "data")
	// No target and no EL profile in the inventory: a clear error.
	if out, err := exec.Command(bin, "rpm", "build", tarball, "--data", data).CombinedOutput(); err == nil || !strings.Contains(string(out), "give --target el5|el6|el7|el8|el9") {
		t.Fatalf("rpm build without a target: %v\n%s", err, out)
	}
	out := run(t, bin, "rpm", "build", tarball, "--data", data, "--target", "el5")
	for _, want := range []string{"[1/6] reading", "target el5", "installing into the target's site lib /usr/lib/perl5/site_perl/5.8.8", "[4/6] rpmbuild", "[6/6] createrepo_c --update", filepath.Join("repo", "cpan", "el5", "perl-Acme-Netkick-Cli-0.2-1.noarch.rpm")} {
		if !strings.Contains(out, want) {
			t.Errorf("rpm build output lacks %q:\n%s", want, out)
		}
	}
	// --profile and the default take the release from the inventory.
	demo := filepath.Join(dir, "demo.yaml")
	os.WriteFile(demo, demoYAML, 0o644)
	run(t, bin, "import", demo, "--data", data)
	if out := run(t, bin, "rpm", "build", tarball, "--data", data, "--profile", "centos-7.9"); !strings.Contains(out, "building for el7 (profile centos-7.9)") || !strings.Contains(out, "/usr/local/share/perl5") {
		t.Errorf("rpm build --profile centos-7.9:\n%s", out)
	}
	if out := run(t, bin, "rpm", "build", tarball, "--data", data); !strings.Contains(out, "building for el9 (newest EL release among the profiles)") || !strings.Contains(out, filepath.Join("cpan", "el9")) {
		t.Errorf("rpm build with the default target:\n%s", out)
	}
	// native: this host's perl, into the repository named.
	if out, err := exec.Command(bin, "rpm", "build", tarball, "--data", data, "--target", "native").CombinedOutput(); err == nil || !strings.Contains(string(out), "--target native builds for this host's own perl") {
		t.Errorf("native without --repo: %v\n%s", err, out)
	}
	if out := run(t, bin, "rpm", "build", tarball, "--target", "native", "--repo", filepath.Join(data, "repo", "cpan", "el8")); strings.Contains(out, "target el") {
		t.Errorf("native build used a target:\n%s", out)
	}
	base, _ := startServe(t, bin, data)
	for _, tg := range []string{"el5", "el7", "el9"} {
		if code, body := get(t, base+"/repo/cpan/"+tg+"/repodata/repomd.xml"); code != 200 || !strings.Contains(body, "primary") {
			t.Errorf("%s repomd.xml over HTTP: %d\n%s", tg, code, body)
		}
		if code, body := get(t, base+"/repo/cpan/"+tg+"/perl-Acme-Netkick-Cli-0.2-1.noarch.rpm"); code != 200 || !strings.HasPrefix(body, "\xed\xab\xee\xdb") {
			t.Errorf("%s RPM over HTTP: %d, %d bytes", tg, code, len(body))
		}
	}
}
