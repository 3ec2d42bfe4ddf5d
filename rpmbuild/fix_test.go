package rpmbuild

import (
	"context"
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/netkick/netkick/internal/testenv"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden files")

// golden compares got with testdata/<name>, or rewrites it with -update.
func golden(t *testing.T, name, got string) {
	t.Helper()
	p := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(p, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(p)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if string(want) != got {
		t.Errorf("%s differs (go test -update rewrites it):\n%s", p, UnifiedDiff(string(want), got, "want", "got"))
	}
}

// TestFixSpecCpanspecStyle fixes specs in the style cpanspec writes for
// HTML-Laundry and CGI, checks the result and the diff against golden files,
// checks that the diff applies with the real patch(1), and that a second
// run changes nothing.
func TestFixSpecCpanspecStyle(t *testing.T) {
	for _, name := range []string{"perl-HTML-Laundry", "perl-CGI"} {
		t.Run(name, func(t *testing.T) {
			in, err := os.ReadFile(filepath.Join("testdata", "fix", name+".spec"))
			if err != nil {
				t.Fatal(err)
			}
			fixed, fixes := FixSpec(string(in))
			golden(t, filepath.Join("fix", name+".spec.golden"), fixed)
			diff := UnifiedDiff(string(in), fixed, "a/"+name+".spec", "b/"+name+".spec")
			golden(t, filepath.Join("fix", name+".diff.golden"), diff)
			if len(fixes) != 4 {
				t.Errorf("want 4 fixes (INSTALLDIRS, vendorlib, man3 entry, *.3pm removal), got %d: %+v", len(fixes), fixes)
			}
			for _, bad := range []string{"INSTALLDIRS=vendor", "perl_vendorlib", "man3"} {
				if strings.Contains(fixed, bad) {
					t.Errorf("fixed spec still has %q", bad)
				}
			}
			for _, want := range []string{"INSTALLDIRS=site", "%{perl_sitelib}/*", "-name '*.3pm' -exec rm -f {} \\;"} {
				if !strings.Contains(fixed, want) {
					t.Errorf("fixed spec lacks %q", want)
				}
			}
			again, more := FixSpec(fixed)
			if again != fixed || len(more) != 0 {
				t.Errorf("not idempotent: second run made %+v", more)
			}
			if UnifiedDiff(fixed, again, "a", "b") != "" {
				t.Error("diff of an unchanged spec is not empty")
			}
			if _, err := exec.LookPath("patch"); err != nil {
				testenv.Missing(t, "patch is not installed (Debian package patch)")
				return
			}
			dir := t.TempDir()
			target := filepath.Join(dir, name+".spec")
			if err := os.WriteFile(target, in, 0o644); err != nil {
				t.Fatal(err)
			}
			cmd := exec.Command("patch", "-s", target)
			cmd.Stdin = strings.NewReader(diff)
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("patch: %v\n%s\n%s", err, out, diff)
			}
			patched, _ := os.ReadFile(target)
			if string(patched) != fixed {
				t.Errorf("patch(1) applied the diff but the result differs from FixSpec's:\n%s", UnifiedDiff(fixed, string(patched), "fixed", "patched"))
			}
		})
	}
}

func TestFixSpecCases(t *testing.T) {
	cases := []struct {
		name    string
		in      string
		want    []string // substrings of the result
		notWant []string
		fixes   int
	}{
		{
			name:    "Build.PL --installdirs vendor and vendorarch",
			in:      "Name: x\n%build\nperl Build.PL --installdirs vendor\n./Build\n%install\n./Build install destdir=%{buildroot}\n%files\n%{perl_vendorarch}/*\n%{_mandir}/man3/*\n%changelog\n",
			want:    []string{"--installdirs site", "%{perl_sitearch}/*", "find %{buildroot} -type f -name '*.3pm'"},
			notWant: []string{"--installdirs vendor", "perl_vendor", "man3"},
			fixes:   4,
		},
		{
			name:  "old Build.PL installdirs=vendor",
			in:    "%build\n%{__perl} Build.PL installdirs=vendor\n%install\n./Build install\nfind %{buildroot} -type f -name '*.3pm' -delete\n%files\n%{perl_vendorlib}/*\n",
			want:  []string{"installdirs=site", "%{perl_sitelib}/*"},
			fixes: 2,
		},
		{
			name:  "already fixed",
			in:    "%build\nperl Makefile.PL INSTALLDIRS=site\n%install\nmake pure_install\nfind %{buildroot} -type f -name '*.3pm' -delete\n%files\n%{perl_sitelib}/*\n",
			fixes: 0,
		},
		{
			name:  "removal inserted before the next section when %install has no find",
			in:    "%install\nmake pure_install DESTDIR=%{buildroot}\n\n%files\n%{perl_sitelib}/*\n",
			want:  []string{"DESTDIR=%{buildroot}\n# The vendor's perl package owns these man pages: never package them.\nfind %{buildroot} -type f -name '*.3pm' -exec rm -f {} \\;\n\n%files"},
			fixes: 1,
		},
		{
			name:  "vendor macro definitions become site ones",
			in:    "%{!?perl_vendorlib: %define perl_vendorlib %(eval \"`%{__perl} -V:installvendorlib`\"; echo $installvendorlib)}\n%install\nfind %{buildroot} -name '*.3pm' | xargs rm -f\n",
			want:  []string{"%{!?perl_sitelib: %define perl_sitelib %(eval \"`%{__perl} -V:installsitelib`\"; echo $installsitelib)}"},
			fixes: 1,
		},
		{
			name:  "changelog text is left alone",
			in:    "%install\nrm -f %{buildroot}/*.3pm\n%changelog\n* Mon Jan 05 2009 a <a@b.c> 1-1\n- used INSTALLDIRS=vendor and perl_vendorlib\n",
			want:  []string{"- used INSTALLDIRS=vendor and perl_vendorlib"},
			fixes: 0,
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, fixes := FixSpec(c.in)
			for _, w := range c.want {
				if !strings.Contains(got, w) {
					t.Errorf("result lacks %q:\n%s", w, got)
				}
			}
			for _, w := range c.notWant {
				if strings.Contains(got, w) {
					t.Errorf("result still has %q:\n%s", w, got)
				}
			}
			if len(fixes) != c.fixes {
				t.Errorf("want %d fixes, got %d: %+v", c.fixes, len(fixes), fixes)
			}
			if again, more := FixSpec(got); again != got || len(more) != 0 {
				t.Errorf("not idempotent: %+v", more)
			}
		})
	}
}

// TestFixSpecBuild shows the problem and the fix with the real rpmbuild: a
// cpanspec-style spec installs into vendor_perl and ships a man page; the
// same spec after FixSpec ships only site_perl files and no man page.
func TestFixSpecBuild(t *testing.T) {
	testenv.RequireProgram(t, "rpmbuild", "createrepo_c", "rpm", "perl", "make")
	cfg := perlConfig(t)
	tarball := makeDist(t, "Acme-Netkick-Pure")
	raw, err := os.ReadFile(filepath.Join("testdata", "fix", "perl-Acme-Netkick-Pure.spec"))
	if err != nil {
		t.Fatal(err)
	}
	fixed, _ := FixSpec(string(raw))
	for _, c := range []struct {
		name   string
		spec   string
		vendor bool
	}{{"cpanspec style", string(raw), true}, {"fixed", fixed, false}} {
		t.Run(c.name, func(t *testing.T) {
			res, err := Build(context.Background(), BuildOptions{
				Tarball: tarball, RepoDir: t.TempDir(), Spec: c.spec, ScratchDir: t.TempDir(),
			})
			if err != nil {
				t.Fatal(err)
			}
			files := strings.Join(rpmQuery(t, "-qlp", res.RPMs[0]), "\n")
			inVendor := strings.Contains(files, cfg["installvendorlib"]+"/Acme/Netkick/Pure.pm")
			inSite := strings.Contains(files, cfg["installsitelib"]+"/Acme/Netkick/Pure.pm")
			hasMan := strings.Contains(files, ".3pm")
			if inVendor != c.vendor || inSite == c.vendor || hasMan != c.vendor {
				t.Errorf("vendor=%v site=%v man=%v, want vendor=%v; files:\n%s", inVendor, inSite, hasMan, c.vendor, files)
			}
		})
	}
}
