package httpd

import (
	"archive/tar"
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/netkick/netkick/internal/testenv"
	"github.com/netkick/netkick/inventory"
	"github.com/netkick/netkick/kickstart"
	"github.com/netkick/netkick/rpmbuild"
)

// writeDist writes a small pure-Perl CPAN tarball (what `make dist` would
// produce for it) and returns its path.
func writeDist(t *testing.T) string {
	t.Helper()
	files := map[string]string{
		"Makefile.PL":              "use ExtUtils::MakeMaker;\nWriteMakefile(NAME => 'Acme::Netkick::Http', VERSION_FROM => 'lib/Acme/Netkick/Http.pm', LICENSE => 'perl_5', PREREQ_PM => { 'Carp' => 0 });\n",
		"META.json":                `{"name":"Acme-Netkick-Http","version":"0.1","abstract":"A module served over HTTP","license":["perl_5"],"prereqs":{"runtime":{"requires":{"Carp":"0"}}}}`,
		"lib/Acme/Netkick/Http.pm": "package Acme::Netkick::Http;\nour $VERSION = '0.1';\n1;\n__END__\n\n=head1 NAME\n\nAcme::Netkick::Http - A module served over HTTP\n\n=cut\n",
		"MANIFEST":                 "Makefile.PL\nMETA.json\nMANIFEST\nlib/Acme/Netkick/Http.pm\n",
	}
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	tw := tar.NewWriter(zw)
	for name, body := range files {
		if err := tw.WriteHeader(&tar.Header{Name: "Acme-Netkick-Http-0.1/" + name, Mode: 0o644, Size: int64(len(body)), ModTime: time.Now()}); err != nil {
			t.Fatal(err)
		}
		tw.Write([]byte(body))
	}
	tw.Close()
	zw.Close()
	p := filepath.Join(t.TempDir(), "Acme-Netkick-Http-0.1.tar.gz")
	if err := os.WriteFile(p, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestRepoServesRealRepository builds an RPM with the real rpmbuild and
// createrepo_c into <root>/cpan, serves it on loopback and fetches the
// repository metadata and the RPM over HTTP.
func TestRepoServesRealRepository(t *testing.T) {
	testenv.RequireProgram(t, "rpmbuild", "createrepo_c", "rpm", "perl", "make")
	root := t.TempDir()
	res, err := rpmbuild.Build(context.Background(), rpmbuild.BuildOptions{
		Tarball: writeDist(t), RepoDir: filepath.Join(root, "cpan"), ScratchDir: t.TempDir(),
	})
	if err != nil {
		t.Fatal(err)
	}
	rpmName := filepath.Base(res.RPMs[0])
	// A symlink inside the repository that points out of it must not be followed.
	if err := os.Symlink("/etc", filepath.Join(root, "cpan", "escape")); err != nil {
		t.Fatal(err)
	}

	st, err := inventory.OpenSQLite(filepath.Join(t.TempDir(), "inventory.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	r, err := kickstart.New(kickstart.Options{})
	if err != nil {
		t.Fatal(err)
	}
	s, err := New(Options{Store: st, Renderer: r, AdminToken: testToken, RepoRoot: root})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	addrc := make(chan string, 1)
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx, "127.0.0.1:0", func(a string) { addrc <- a }) }()
	t.Cleanup(func() { cancel(); <-done })
	var base string
	select {
	case a := <-addrc:
		base = "http://" + a
	case err := <-done:
		t.Fatal(err)
	}

	get := func(path string) (int, http.Header, []byte) {
		t.Helper()
		resp, err := http.Get(base + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, resp.Header, b
	}
	code, _, repomd := get("/repo/cpan/repodata/repomd.xml")
	if code != 200 || !bytes.Contains(repomd, []byte(`type="primary"`)) {
		t.Fatalf("repomd.xml: %d\n%s", code, repomd)
	}
	// Every file repomd.xml names can be fetched.
	for _, part := range strings.Split(string(repomd), `href="`)[1:] {
		href, _, _ := strings.Cut(part, `"`)
		if code, _, _ := get("/repo/cpan/" + href); code != 200 {
			t.Errorf("%s: status %d", href, code)
		}
	}
	code, hdr, rpm := get("/repo/cpan/" + rpmName)
	want, _ := os.ReadFile(res.RPMs[0])
	if code != 200 || !bytes.Equal(rpm, want) || hdr.Get("Content-Type") != "application/x-rpm" {
		t.Fatalf("RPM: status %d, %d bytes (want %d), type %q", code, len(rpm), len(want), hdr.Get("Content-Type"))
	}
	fetched := filepath.Join(t.TempDir(), rpmName)
	os.WriteFile(fetched, rpm, 0o644)
	if out, err := exec.Command("rpm", "-qp", "--qf", "%{NAME}", fetched).CombinedOutput(); err != nil || string(out) != "perl-Acme-Netkick-Http" {
		t.Errorf("rpm -qp on the fetched file: %v %q", err, out)
	}
	if code, _, list := get("/repo/cpan/"); code != 200 || !strings.Contains(string(list), rpmName) || !strings.Contains(string(list), "repodata/") || strings.Contains(string(list), ".netkick-repo.lock") {
		t.Errorf("listing: %d\n%s", code, list)
	}

	// Paths that must not reach anything outside the repository.
	for _, c := range []struct {
		path string
		want int
	}{
		{"/repo/cpan/escape/passwd", 404},
		{"/repo/cpan/%2e%2e/%2e%2e/etc/passwd", 400},
		{"/repo/cpan/repodata/..%2f..%2f..%2fetc%2fpasswd", 400},
		{"/repo/cpan/.netkick-repo.lock", 400},
		{"/repo/nope/repodata/repomd.xml", 404},
		{"/repo/..%2f/x", 400},
		{"/repo/cpan/missing.rpm", 404},
	} {
		if code, _, body := rawGet(t, base, c.path); code != c.want {
			t.Errorf("%s: status %d, want %d\n%s", c.path, code, c.want, body)
		}
	}
}

// rawGet sends the path exactly as given (no client-side cleaning).
func rawGet(t *testing.T, base, path string) (int, http.Header, string) {
	t.Helper()
	conn, err := net.Dial("tcp", strings.TrimPrefix(base, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	io.WriteString(conn, "GET "+path+" HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, string(b)
}

func TestRepoWithoutRoot(t *testing.T) {
	s, _ := newTestServer(t)
	rec := s.do(call{method: "GET", path: "/repo/cpan/repodata/repomd.xml"})
	if rec.Code != 404 || !strings.Contains(rec.Body.String(), "hint") {
		t.Fatalf("%d %s", rec.Code, rec.Body.String())
	}
}
