package rpmbuild

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/netkick/netkick/internal/testenv"
)

// testDists are the source trees under testdata/dists, turned into real
// CPAN tarballs by perl's own toolchain.
var testDists = []struct {
	name    string // directory under testdata/dists
	tarball string // what `make dist` / `./Build dist` writes
	mb      bool   // made with Module::Build
}{
	{"Acme-Netkick-Pure", "Acme-Netkick-Pure-1.02.tar.gz", false},
	{"Acme-Netkick-MB", "Acme-Netkick-MB-0.31.tar.gz", true},
	{"Acme-Netkick-XS", "Acme-Netkick-XS-2.1.tar.gz", false},
}

// makeDist builds the CPAN tarball of a test dist in a temp dir with
// `perl Makefile.PL && make manifest && make dist` (or the Module::Build
// equivalents) and returns its path.
func makeDist(t *testing.T, name string) string {
	t.Helper()
	testenv.RequireProgram(t, "perl", "make", "tar", "gzip")
	var tarball string
	var mb bool
	for _, d := range testDists {
		if d.name == name {
			tarball, mb = d.tarball, d.mb
		}
	}
	if tarball == "" {
		t.Fatalf("no test dist %q", name)
	}
	if mb {
		if err := exec.Command("perl", "-MModule::Build", "-e1").Run(); err != nil {
			testenv.Missing(t, "perl's Module::Build is missing (Debian package libmodule-build-perl)")
		}
	}
	work := filepath.Join(t.TempDir(), name)
	if err := os.CopyFS(work, os.DirFS(filepath.Join("testdata", "dists", name))); err != nil {
		t.Fatal(err)
	}
	steps := [][]string{{"perl", "Makefile.PL"}, {"make", "manifest"}, {"make", "dist"}}
	if mb {
		steps = [][]string{{"perl", "Build.PL"}, {"./Build", "manifest"}, {"./Build", "dist"}}
	}
	for _, s := range steps {
		cmd := exec.Command(s[0], s[1:]...)
		cmd.Dir = work
		cmd.Env = append(os.Environ(), "LC_ALL=C", "PERL_MM_USE_DEFAULT=1")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("%s in %s: %v\n%s", strings.Join(s, " "), work, err, out)
		}
	}
	p := filepath.Join(work, tarball)
	if _, err := os.Stat(p); err != nil {
		t.Fatalf("%s did not produce %s: %v", strings.Join(steps[2], " "), tarball, err)
	}
	return p
}
