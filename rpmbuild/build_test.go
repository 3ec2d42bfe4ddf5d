package rpmbuild

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/xml"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/netkick/netkick/internal/testenv"
)

func perlConfig(t *testing.T) map[string]string {
	t.Helper()
	out, err := exec.Command("perl", "-V:installsitelib", "-V:installsitearch",
		"-V:installvendorlib", "-V:installvendorarch", "-V:installprivlib", "-V:installarchlib").Output()
	if err != nil {
		t.Fatalf("perl -V: %v", err)
	}
	return ParsePerlConfig(string(out))
}

func rpmQuery(t *testing.T, args ...string) []string {
	t.Helper()
	out, err := exec.Command("rpm", args...).CombinedOutput()
	if err != nil {
		t.Fatalf("rpm %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return strings.Split(strings.TrimSpace(string(out)), "\n")
}

// TestBuildRealDists builds the three test dists with the real rpmbuild into
// one repository and checks what the RPMs contain.
func TestBuildRealDists(t *testing.T) {
	testenv.RequireProgram(t, "rpmbuild", "createrepo_c", "rpm", "perl", "make", "gcc")
	cfg := perlConfig(t)
	repo := filepath.Join(t.TempDir(), "cpan")
	cases := []struct {
		dist     string
		pkg      string
		require  string // must be in rpm -qp --requires
		noarch   bool
		modules  []string // .pm files (relative to the site dir) that must be shipped
		siteKey  string   // perl -V key of the dir the .pm files must be under
		notFound []string // must not appear anywhere in the file list
	}{
		{
			dist: "Acme-Netkick-Pure", pkg: "perl-Acme-Netkick-Pure", require: "perl(List::Util) >= 1.0",
			noarch: true, modules: []string{"Acme/Netkick/Pure.pm"}, siteKey: "installsitelib",
		},
		{
			dist: "Acme-Netkick-MB", pkg: "perl-Acme-Netkick-MB", require: "perl(Scalar::Util) >= 1.10",
			noarch: true, modules: []string{"Acme/Netkick/MB.pm", "Acme/Netkick/MB/Util.pm"}, siteKey: "installsitelib",
		},
		{
			dist: "Acme-Netkick-XS", pkg: "perl-Acme-Netkick-XS", require: "perl(XSLoader) >= 0.02",
			noarch: false, modules: []string{"Acme/Netkick/XS.pm", "auto/Acme/Netkick/XS/XS.so"}, siteKey: "installsitearch",
		},
	}
	for _, c := range cases {
		t.Run(c.dist, func(t *testing.T) {
			tarball := makeDist(t, c.dist)
			var progress bytes.Buffer
			res, err := Build(context.Background(), BuildOptions{
				Tarball: tarball, RepoDir: repo, Packager: "Test <test@example.org>",
				Date: time.Date(2026, 11, 21, 0, 0, 0, 0, time.UTC), Progress: &progress,
				ScratchDir: t.TempDir(),
			})
			if err != nil {
				t.Fatalf("Build: %v\nprogress:\n%s", err, progress.String())
			}
			for _, want := range []string{"[1/6]", "[4/6]", "%build", "%install", "%check", "[6/6]"} {
				if !strings.Contains(progress.String(), want) {
					t.Errorf("progress lacks %q:\n%s", want, progress.String())
				}
			}
			if len(res.RPMs) != 1 {
				t.Fatalf("want one RPM, got %v", res.RPMs)
			}
			rpm := res.RPMs[0]
			arch := rpmQuery(t, "-qp", "--qf", "%{ARCH}", rpm)[0]
			if (arch == "noarch") != c.noarch {
				t.Errorf("%s: arch %q, want noarch=%v", rpm, arch, c.noarch)
			}
			files := rpmQuery(t, "-qlp", rpm)
			site := cfg[c.siteKey]
			for _, m := range c.modules {
				found := false
				for _, f := range files {
					found = found || f == site+"/"+m
				}
				if !found {
					t.Errorf("%s not shipped under %s; files:\n%s", m, site, strings.Join(files, "\n"))
				}
			}
			for _, f := range files {
				if strings.HasSuffix(f, ".pm") && !strings.HasPrefix(f, cfg["installsitelib"]+"/") && !strings.HasPrefix(f, cfg["installsitearch"]+"/") {
					t.Errorf("%s is not under the site lib (%s or %s)", f, cfg["installsitelib"], cfg["installsitearch"])
				}
				for _, k := range []string{"installvendorlib", "installvendorarch", "installprivlib", "installarchlib"} {
					if strings.HasPrefix(f, cfg[k]+"/") {
						t.Errorf("%s is under the vendor/core path %s (%s)", f, cfg[k], k)
					}
				}
				if strings.Contains(f, ".3pm") || strings.Contains(f, "/man3") || strings.HasSuffix(f, ".packlist") || strings.HasSuffix(f, "perllocal.pod") {
					t.Errorf("%s must not be packaged", f)
				}
			}
			reqs := rpmQuery(t, "-qp", "--requires", rpm)
			if !contains(reqs, c.require) {
				t.Errorf("requires lack %q:\n%s", c.require, strings.Join(reqs, "\n"))
			}
		})
	}
	// The repository metadata lists every package.
	names := primaryPackages(t, repo)
	for _, c := range cases {
		if !contains(names, c.pkg) {
			t.Errorf("repodata primary lacks %s; has %v", c.pkg, names)
		}
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if strings.TrimSpace(x) == s {
			return true
		}
	}
	return false
}

// primaryPackages reads repodata/repomd.xml, follows it to the primary
// metadata and returns the package names listed there.
func primaryPackages(t *testing.T, repo string) []string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(repo, "repodata", "repomd.xml"))
	if err != nil {
		t.Fatalf("repomd.xml: %v", err)
	}
	var md struct {
		Data []struct {
			Type     string `xml:"type,attr"`
			Location struct {
				Href string `xml:"href,attr"`
			} `xml:"location"`
		} `xml:"data"`
	}
	if err := xml.Unmarshal(b, &md); err != nil {
		t.Fatalf("repomd.xml: %v", err)
	}
	href := ""
	for _, d := range md.Data {
		if d.Type == "primary" {
			href = d.Location.Href
		}
	}
	if href == "" {
		t.Fatalf("repomd.xml names no primary metadata:\n%s", b)
	}
	f, err := os.Open(filepath.Join(repo, href))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var r io.Reader = f
	if strings.HasSuffix(href, ".gz") {
		zr, err := gzip.NewReader(f)
		if err != nil {
			t.Fatal(err)
		}
		r = zr
	}
	var prim struct {
		Packages []struct {
			Name string `xml:"name"`
		} `xml:"package"`
	}
	if err := xml.NewDecoder(r).Decode(&prim); err != nil {
		t.Fatalf("%s: %v", href, err)
	}
	var names []string
	for _, p := range prim.Packages {
		names = append(names, p.Name)
	}
	return names
}

// TestBuildMissingTool checks that a missing rpmbuild names the Debian
// package to install.
func TestBuildMissingTool(t *testing.T) {
	tarball := makeDist(t, "Acme-Netkick-Pure")
	t.Setenv("PATH", t.TempDir())
	_, err := Build(context.Background(), BuildOptions{Tarball: tarball, RepoDir: t.TempDir(), ScratchDir: t.TempDir()})
	if !errors.Is(err, ErrToolMissing) || !strings.Contains(err.Error(), `"rpm"`) || !strings.Contains(err.Error(), "apt-get install rpm") {
		t.Fatalf("want an error naming the rpm package, got %v", err)
	}
}

// TestBuildFailureShowsLog: a dist whose test suite fails stops rpmbuild in
// %check; the error carries rpmbuild's last lines and where the log is.
func TestBuildFailureShowsLog(t *testing.T) {
	testenv.RequireProgram(t, "rpmbuild", "createrepo_c", "perl", "make")
	dir := t.TempDir()
	tarball := filepath.Join(dir, "Foo-Bar-0.05.tar.gz")
	os.WriteFile(tarball, tarGz(t, []distFile{
		{name: "Foo-Bar-0.05/Makefile.PL", body: plainMakefilePL},
		{name: "Foo-Bar-0.05/lib/Foo/Bar.pm", body: plainPM},
		{name: "Foo-Bar-0.05/bin/foo-bar", body: "#!/usr/bin/perl\nprint qq{foo-bar\\n};\n\n=head1 NAME\n\nfoo-bar - prints its name\n\n=cut\n"},
		{name: "Foo-Bar-0.05/t/fail.t", body: "print \"1..1\\nnot ok 1 - netkick-expected-failure\\n\";\n"},
	}), 0o644)
	repo := filepath.Join(dir, "repo")
	_, err := Build(context.Background(), BuildOptions{Tarball: tarball, RepoDir: repo, ScratchDir: t.TempDir(), LogLines: 40})
	if err == nil {
		t.Fatal("a failing test suite must fail the build")
	}
	for _, want := range []string{"rpmbuild failed for Foo-Bar-0.05.tar.gz", "rpmbuild.log", "last lines:", "t/fail.t", "Bad exit status", "(%check)"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q:\n%v", want, err)
		}
	}
	if ents, _ := os.ReadDir(repo); len(ents) != 0 {
		t.Errorf("a failed build left %d entries in the repository", len(ents))
	}
}

// TestBuildScriptsFromMakefilePL builds a dist with no META file (metadata
// from Makefile.PL) that installs a program: the program lands in the site
// script dir and neither man1 nor man3 pages are packaged.
func TestBuildScriptsFromMakefilePL(t *testing.T) {
	testenv.RequireProgram(t, "rpmbuild", "createrepo_c", "rpm", "perl", "make")
	out, err := exec.Command("perl", "-V:installsitescript").Output()
	if err != nil {
		t.Fatal(err)
	}
	scriptDir := ParsePerlConfig(string(out))["installsitescript"]
	dir := t.TempDir()
	tarball := filepath.Join(dir, "Foo-Bar-0.05.tar.gz")
	os.WriteFile(tarball, tarGz(t, []distFile{
		{name: "Foo-Bar-0.05/Makefile.PL", body: plainMakefilePL},
		{name: "Foo-Bar-0.05/lib/Foo/Bar.pm", body: plainPM},
		{name: "Foo-Bar-0.05/bin/foo-bar", body: "#!/usr/bin/perl\nprint qq{foo-bar\\n};\n\n=head1 NAME\n\nfoo-bar - prints its name\n\n=cut\n"},
	}), 0o644)
	res, err := Build(context.Background(), BuildOptions{Tarball: tarball, RepoDir: filepath.Join(dir, "repo"), ScratchDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	if res.Plan.Meta.Source != "Makefile.PL" {
		t.Errorf("metadata from %s", res.Plan.Meta.Source)
	}
	files := rpmQuery(t, "-qlp", res.RPMs[0])
	if !contains(files, scriptDir+"/foo-bar") {
		t.Errorf("%s/foo-bar not packaged:\n%s", scriptDir, strings.Join(files, "\n"))
	}
	for _, f := range files {
		if strings.Contains(f, "/man1/") || strings.Contains(f, "/man3/") {
			t.Errorf("man page packaged: %s", f)
		}
	}
	reqs := rpmQuery(t, "-qp", "--requires", res.RPMs[0])
	if !contains(reqs, "perl(JSON::PP) >= 2.0") {
		t.Errorf("requires lack perl(JSON::PP) >= 2.0:\n%s", strings.Join(reqs, "\n"))
	}
}

// TestBuildTargetSiteLib builds pure-Perl dists (MakeMaker and
// Module::Build) for hosts whose site lib differs from the build host's, and
// refuses that for an XS dist.
func TestBuildTargetSiteLib(t *testing.T) {
	testenv.RequireProgram(t, "rpmbuild", "createrepo_c", "rpm", "perl", "make", "gcc")
	const target = "/usr/lib/perl5/site_perl/5.8.8"
	for _, c := range []struct{ dist, pm string }{
		{"Acme-Netkick-Pure", "Acme/Netkick/Pure.pm"},
		{"Acme-Netkick-MB", "Acme/Netkick/MB/Util.pm"},
	} {
		t.Run(c.dist, func(t *testing.T) {
			res, err := Build(context.Background(), BuildOptions{
				Tarball: makeDist(t, c.dist), RepoDir: t.TempDir(), ScratchDir: t.TempDir(), TargetSiteLib: target,
			})
			if err != nil {
				t.Fatal(err)
			}
			files := rpmQuery(t, "-qlp", res.RPMs[0])
			if !contains(files, target+"/"+c.pm) {
				t.Errorf("%s not under %s:\n%s", c.pm, target, strings.Join(files, "\n"))
			}
			for _, f := range files {
				if strings.HasSuffix(f, ".pm") && !strings.HasPrefix(f, target+"/") {
					t.Errorf("%s is outside the target site lib", f)
				}
			}
		})
	}
	t.Run("XS refused", func(t *testing.T) {
		_, err := Build(context.Background(), BuildOptions{
			Tarball: makeDist(t, "Acme-Netkick-XS"), RepoDir: t.TempDir(), ScratchDir: t.TempDir(), TargetSiteLib: target,
		})
		if err == nil || !strings.Contains(err.Error(), "pure-Perl dists only") {
			t.Fatalf("want a refusal, got %v", err)
		}
	})
	t.Run("relative path refused", func(t *testing.T) {
		_, err := Build(context.Background(), BuildOptions{
			Tarball: makeDist(t, "Acme-Netkick-Pure"), RepoDir: t.TempDir(), ScratchDir: t.TempDir(), TargetSiteLib: "lib/perl5",
		})
		if err == nil || !strings.Contains(err.Error(), "clean absolute path") {
			t.Fatalf("want a refusal, got %v", err)
		}
	})
}

// TestBuildCancel: cancelling the context stops rpmbuild and everything it
// started, and the build reports the failure.
func TestBuildCancel(t *testing.T) {
	testenv.RequireProgram(t, "rpmbuild", "createrepo_c", "perl", "make")
	dir := t.TempDir()
	tarball := filepath.Join(dir, "Foo-Bar-0.05.tar.gz")
	marker := filepath.Join(dir, "sleeping")
	os.WriteFile(tarball, tarGz(t, []distFile{
		{name: "Foo-Bar-0.05/Makefile.PL", body: strings.Replace(plainMakefilePL, "EXE_FILES     => [ 'bin/foo-bar' ],\n", "", 1)},
		{name: "Foo-Bar-0.05/lib/Foo/Bar.pm", body: plainPM},
		{name: "Foo-Bar-0.05/t/slow.t", body: "open my $f, '>', '" + marker + "'; print $f $$; close $f; sleep 300; print \"1..1\\nok 1\\n\";\n"},
	}), 0o644)
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() {
		_, err := Build(ctx, BuildOptions{Tarball: tarball, RepoDir: filepath.Join(dir, "repo"), ScratchDir: t.TempDir()})
		errc <- err
	}()
	var pid string
	for deadline := time.Now().Add(60 * time.Second); pid == ""; time.Sleep(100 * time.Millisecond) {
		if time.Now().After(deadline) {
			cancel()
			t.Fatalf("the test suite never started: %v", <-errc)
		}
		b, _ := os.ReadFile(marker)
		pid = strings.TrimSpace(string(b))
	}
	cancel()
	select {
	case err := <-errc:
		if err == nil {
			t.Fatal("a cancelled build must fail")
		}
	case <-time.After(30 * time.Second):
		t.Fatal("Build did not return after cancel")
	}
	// The test script (a grandchild of rpmbuild) is gone too.
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		if _, err := os.Stat("/proc/" + pid); err != nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("process %s outlived the cancelled build", pid)
		}
	}
}
