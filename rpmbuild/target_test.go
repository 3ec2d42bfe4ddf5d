package rpmbuild

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/netkick/netkick/internal/testenv"
)

func TestParseTarget(t *testing.T) {
	for _, tc := range []struct {
		in, want, err string
	}{
		{"el5", "el5", ""}, {"EL7", "el7", ""}, {"9", "el9", ""}, {"el4", "", "want one of el5, el6, el7, el8, el9"}, {"rhel", "", "want one of"},
	} {
		t.Run(tc.in, func(t *testing.T) {
			got, err := ParseTarget(tc.in)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err = %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil || got.Name != tc.want {
				t.Fatalf("got %+v, %v", got, err)
			}
		})
	}
}

// TestBuildTargets builds one pure-Perl dist for every target on this
// (Debian) host: rpm -qlp shows only that target's site lib and no man
// pages; the el5 RPM has MD5 file digests (no rpmlib(FileDigests)) and a gzip
// payload, and its repository SHA-1 checksums; an XS dist is refused.
func TestBuildTargets(t *testing.T) {
	testenv.RequireProgram(t, "rpmbuild", "createrepo_c", "rpm", "perl", "make", "gcc")
	tarball := makeDist(t, "Acme-Netkick-Pure")
	for _, tg := range Targets() {
		t.Run(tg.Name, func(t *testing.T) {
			repo := t.TempDir()
			res, err := Build(context.Background(), BuildOptions{Tarball: tarball, RepoDir: repo, ScratchDir: t.TempDir(), Target: &tg})
			if err != nil {
				t.Fatal(err)
			}
			files := rpmQuery(t, "-qlp", res.RPMs[0])
			if !contains(files, tg.SiteLib+"/Acme/Netkick/Pure.pm") {
				t.Errorf("Pure.pm not under %s:\n%s", tg.SiteLib, strings.Join(files, "\n"))
			}
			for _, f := range files {
				if !strings.HasPrefix(f, tg.SiteLib+"/") && !strings.HasPrefix(f, "/usr/share/doc/") {
					t.Errorf("%s is outside %s's site lib %s", f, tg.Name, tg.SiteLib)
				}
				if strings.Contains(f, "/man") {
					t.Errorf("man page packaged: %s", f)
				}
			}
			reqs := strings.Join(rpmQuery(t, "-qp", "--requires", res.RPMs[0]), "\n")
			payload := strings.Join(rpmQuery(t, "-qp", "--qf", "%{PAYLOADCOMPRESSOR} %{FILEDIGESTALGO}\n", res.RPMs[0]), "")
			repomd, err := os.ReadFile(filepath.Join(repo, "repodata", "repomd.xml"))
			if err != nil {
				t.Fatal(err)
			}
			if tg.Legacy {
				if strings.Contains(reqs, "rpmlib(FileDigests)") {
					t.Errorf("el5 RPM requires rpmlib(FileDigests), which EL5's rpm refuses:\n%s", reqs)
				}
				// No digest algorithm tag means MD5, the only one EL5 knows.
				if payload != "gzip (none)" && payload != "gzip 1" {
					t.Errorf("el5 payload and digest algorithm = %q, want gzip and MD5", payload)
				}
				for _, d := range rpmQuery(t, "-qp", "--qf", "[%{FILEDIGESTS}\n]", res.RPMs[0]) {
					if d = strings.TrimSpace(d); d != "" && len(d) != 32 {
						t.Errorf("el5 file digest %q is not MD5", d)
					}
				}
				if !strings.Contains(string(repomd), `type="sha1"`) && !strings.Contains(string(repomd), `type="sha"`) || strings.Contains(string(repomd), "sha256") {
					t.Errorf("el5 repomd.xml is not SHA-1:\n%s", repomd)
				}
			} else if !strings.Contains(string(repomd), `type="sha256"`) {
				t.Errorf("%s repomd.xml is not SHA-256:\n%s", tg.Name, repomd)
			}
		})
	}
	t.Run("XS refused", func(t *testing.T) {
		el7, _ := ParseTarget("el7")
		_, err := Build(context.Background(), BuildOptions{Tarball: makeDist(t, "Acme-Netkick-XS"), RepoDir: t.TempDir(), ScratchDir: t.TempDir(), Target: &el7})
		if err == nil || !strings.Contains(err.Error(), "not el7's system perl") {
			t.Fatalf("want a refusal naming the reason, got %v", err)
		}
	})
}
