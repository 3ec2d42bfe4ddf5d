package packaging

import (
	"bufio"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/netkick/netkick/internal/testenv"
)

// buildPackages runs scripts/package.sh for version into a temp dir and
// returns the .deb and .rpm paths.
func buildPackages(t *testing.T, version string) (deb, rpm string) {
	t.Helper()
	out := t.TempDir()
	cmd := exec.Command("../scripts/package.sh", out)
	cmd.Env = append(os.Environ(), "NETKICK_VERSION="+version, "NETKICK_ARCH=amd64")
	b, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("scripts/package.sh: %v\n%s", err, b)
	}
	debs, _ := filepath.Glob(filepath.Join(out, "netkick_"+version+"-1_amd64.deb"))
	rpms, _ := filepath.Glob(filepath.Join(out, "netkick-"+version+"-1.x86_64.rpm"))
	if len(debs) != 1 || len(rpms) != 1 {
		t.Fatalf("scripts/package.sh made %v %v; want one .deb and one .rpm\n%s", debs, rpms, b)
	}
	return debs[0], rpms[0]
}

func output(t *testing.T, name string, args ...string) string {
	t.Helper()
	b, err := exec.Command(name, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, b)
	}
	return string(b)
}

// shipped is every file the packages carry, with its mode; all are root's.
var shipped = map[string]string{
	"/usr/bin/netkick":                                  "-rwxr-xr-x",
	"/usr/lib/systemd/system/netkick.service":           "-rw-r--r--",
	"/etc/netkick/netkick.yaml":                         "-rw-r--r--",
	"/usr/share/bash-completion/completions/netkick":    "-rw-r--r--",
	"/usr/share/fish/vendor_completions.d/netkick.fish": "-rw-r--r--",
	"/usr/share/doc/netkick/README.md":                  "-rw-r--r--",
	"/usr/share/doc/netkick/install.md":                 "-rw-r--r--",
}

// listing parses `dpkg -c` / `rpm -qlvp` lines into path -> "mode owner/group".
func listing(t *testing.T, out string, re *regexp.Regexp) map[string]string {
	t.Helper()
	got := map[string]string{}
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		if m := re.FindStringSubmatch(sc.Text()); m != nil {
			got[strings.TrimPrefix(m[4], ".")] = m[1] + " " + m[2] + "/" + m[3]
		}
	}
	return got
}

func checkListing(t *testing.T, kind string, got map[string]string, zsh string) {
	t.Helper()
	want := map[string]string{zsh: "-rw-r--r--"}
	for p, m := range shipped {
		want[p] = m
	}
	for p, mode := range want {
		if got[p] != mode+" root/root" {
			t.Errorf("%s: %s is %q, want %q", kind, p, got[p], mode+" root/root")
		}
	}
	for p := range got {
		if strings.HasPrefix(p, "/var/") || strings.HasPrefix(p, "/home/") {
			t.Errorf("%s ships %s: the data directory is made at install time, owned by netkick", kind, p)
		}
	}
}

// TestPackages builds both packages, checks what they hold, installs the
// .deb into a fresh root with dpkg --root (maintainer scripts included),
// upgrades it (the inventory is backed up first), removes and purges it.
func TestPackages(t *testing.T) {
	testenv.RequireProgram(t, "dpkg", "dpkg-deb", "dpkg-query", "rpm", "useradd", "groupadd", "git", "file")
	deb, rpm := buildPackages(t, "1.2.3")

	t.Run("deb contents", func(t *testing.T) {
		re := regexp.MustCompile(`^([-dlrwxst]{10}) (\S+)/(\S+)\s+\d+ \S+ \S+ (\S+)$`)
		checkListing(t, "deb", listing(t, output(t, "dpkg", "-c", deb), re), "/usr/share/zsh/vendor-completions/_netkick")
		ctl := output(t, "dpkg-deb", "-f", deb)
		for _, want := range []string{"Package: netkick", "Version: 1.2.3-1", "Architecture: amd64", "Depends: passwd"} {
			if !strings.Contains(ctl, want+"\n") {
				t.Errorf("control lacks %q:\n%s", want, ctl)
			}
		}
	})
	t.Run("rpm contents", func(t *testing.T) {
		re := regexp.MustCompile(`^([-dlrwxst]{10})\s+\d+ (\S+)\s+(\S+)\s+\d+ \S+ +\d+ \S+ (\S+)$`)
		checkListing(t, "rpm", listing(t, output(t, "rpm", "-qlvp", rpm), re), "/usr/share/zsh/site-functions/_netkick")
		if c := output(t, "rpm", "-qcp", rpm); c != "/etc/netkick/netkick.yaml\n" {
			t.Errorf("rpm config files: %q, want only /etc/netkick/netkick.yaml", c)
		}
		scripts := output(t, "rpm", "-qp", "--scripts", rpm)
		for _, want := range []string{"preinstall scriptlet", "useradd", "postinstall scriptlet", "preuninstall scriptlet", "postuninstall scriptlet"} {
			if !strings.Contains(scripts, want) {
				t.Errorf("rpm scripts lack %q", want)
			}
		}
	})

	t.Run("dpkg install, upgrade, remove", func(t *testing.T) {
		testenv.RequireRoot(t) // dpkg --root chowns what it unpacks
		root := newRoot(t)
		dpkg := func(args ...string) string {
			t.Helper()
			return output(t, "dpkg", append([]string{"--root=" + root, "--force-script-chrootless", "--force-depends", "--log=/dev/null"}, args...)...)
		}
		dpkg("-i", deb)
		for p, mode := range shipped {
			checkFile(t, root, p, mode, 0, 0)
		}
		uid, gid, home, shell := user(t, root, "netkick")
		if uid == 0 || uid >= 1000 || home != "/var/lib/netkick" || shell != "/usr/sbin/nologin" {
			t.Errorf("netkick user: uid %d, home %s, shell %s; want a system uid, /var/lib/netkick, /usr/sbin/nologin", uid, home, shell)
		}
		checkFile(t, root, "/var/lib/netkick", "drwx------", uid, gid)
		q := output(t, "dpkg-query", "--admindir="+root+"/var/lib/dpkg", "-W", "-f", "${Status} ${Version}\n${Conffiles}\n", "netkick")
		if !strings.HasPrefix(q, "install ok installed 1.2.3-1\n /etc/netkick/netkick.yaml ") {
			t.Errorf("dpkg-query: %q, want installed 1.2.3-1 with /etc/netkick/netkick.yaml as a conffile", q)
		}
		// The installed binary is the static one, stamped by the script.
		bin := filepath.Join(root, "usr/bin/netkick")
		if v := output(t, bin, "version"); !strings.HasPrefix(v, "netkick 1.2.3\ncommit:  ") || strings.Contains(v, "commit:  unknown") {
			t.Errorf("installed netkick version:\n%s", v)
		}
		if f := output(t, "file", "-b", bin); !strings.Contains(f, "statically linked") {
			t.Errorf("installed binary is not static: %s", f)
		}
		// The shipped config is one netkick serve accepts.
		data := filepath.Join(root, "var/lib/netkick")
		serveOnce(t, bin, "--config", filepath.Join(root, "etc/netkick/netkick.yaml"), "--data", data, "--http", "127.0.0.1:0", "--tftp", "off")

		// Upgrade: the inventory is copied aside before the new version migrates it.
		deb2, _ := buildPackages(t, "1.2.4")
		dpkg("-i", deb2)
		backups, _ := filepath.Glob(filepath.Join(data, "backup", "*-1.2.3-1", "inventory.db"))
		if len(backups) != 1 {
			t.Fatalf("after the upgrade: backups %v, want one inventory.db copy named after 1.2.3-1", backups)
		}
		checkFile(t, root, strings.TrimPrefix(filepath.Dir(filepath.Dir(backups[0])), root), "drwx------", 0, 0)
		if v := output(t, bin, "version"); !strings.HasPrefix(v, "netkick 1.2.4\n") {
			t.Errorf("after the upgrade: %s", v)
		}

		// Remove keeps the config and the data; purge drops the config.
		dpkg("-r", "netkick")
		if _, err := os.Stat(bin); !os.IsNotExist(err) {
			t.Errorf("after remove: %s still there (%v)", bin, err)
		}
		for _, p := range []string{"etc/netkick/netkick.yaml", "var/lib/netkick/inventory.db"} {
			if _, err := os.Stat(filepath.Join(root, p)); err != nil {
				t.Errorf("after remove: /%s must stay: %v", p, err)
			}
		}
		dpkg("--purge", "netkick")
		if _, err := os.Stat(filepath.Join(root, "etc/netkick/netkick.yaml")); !os.IsNotExist(err) {
			t.Errorf("after purge: /etc/netkick/netkick.yaml still there (%v)", err)
		}
	})

	t.Run("unit", func(t *testing.T) {
		testenv.RequireRoot(t)
		testenv.RequireProgram(t, "systemd-analyze")
		root := newRoot(t)
		output(t, "dpkg", "--root="+root, "--force-script-chrootless", "--force-depends", "--log=/dev/null", "-i", deb)
		// verify resolves the unit's dependencies and commands inside root:
		// give it the host's unit files and kill (ExecReload).
		if err := os.CopyFS(filepath.Join(root, "usr/lib/systemd/system-host"), os.DirFS("/usr/lib/systemd/system")); err != nil {
			t.Fatal(err)
		}
		entries, _ := os.ReadDir(filepath.Join(root, "usr/lib/systemd/system-host"))
		for _, e := range entries {
			dst := filepath.Join(root, "usr/lib/systemd/system", e.Name())
			if _, err := os.Lstat(dst); err != nil {
				os.Rename(filepath.Join(root, "usr/lib/systemd/system-host", e.Name()), dst)
			}
		}
		os.Symlink("usr/bin", filepath.Join(root, "bin"))
		kill, _ := os.ReadFile("/usr/bin/kill")
		os.WriteFile(filepath.Join(root, "usr/bin/kill"), kill, 0o755)
		if out, err := exec.Command("systemd-analyze", "--root="+root, "verify", "netkick.service").CombinedOutput(); err != nil || len(out) != 0 {
			t.Errorf("systemd-analyze verify netkick.service: %v\n%s", err, out)
		}
		// The exposure score stays "OK" (below 2.0 on systemd's 0-10 scale).
		out, err := exec.Command("systemd-analyze", "security", "--offline=true", "--root="+root, "--threshold=20", "netkick.service").CombinedOutput()
		m := regexp.MustCompile(`Overall exposure level for netkick.service: (\d+\.\d)`).FindSubmatch(out)
		if err != nil || m == nil {
			t.Fatalf("systemd-analyze security: %v\n%s", err, out)
		}
		t.Logf("systemd-analyze security: exposure %s", m[1])
	})
}

// newRoot makes an empty system root: the passwd files with root alone and
// an empty dpkg database.
func newRoot(t *testing.T) string {
	t.Helper()
	root := t.TempDir()
	files := map[string]string{
		"etc/passwd": "root:x:0:0:root:/root:/bin/sh\n", "etc/group": "root:x:0:\n",
		"etc/shadow": "root:*:19000:0:99999:7:::\n", "etc/gshadow": "root:*::\n",
		"var/lib/dpkg/status": "", "var/lib/dpkg/available": "",
	}
	for _, d := range []string{"etc", "var/lib/dpkg/info", "var/lib/dpkg/updates", "var/lib/dpkg/triggers", "usr/bin"} {
		if err := os.MkdirAll(filepath.Join(root, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for p, s := range files {
		if err := os.WriteFile(filepath.Join(root, p), []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

// checkFile checks the mode and owner of /p inside root.
func checkFile(t *testing.T, root, p, mode string, uid, gid int) {
	t.Helper()
	fi, err := os.Lstat(filepath.Join(root, p))
	if err != nil {
		t.Errorf("%s: %v", p, err)
		return
	}
	st := fi.Sys().(*syscall.Stat_t)
	if got := fs.FileMode(fi.Mode()).String(); got != mode || int(st.Uid) != uid || int(st.Gid) != gid {
		t.Errorf("%s: %s %d:%d, want %s %d:%d", p, got, st.Uid, st.Gid, mode, uid, gid)
	}
}

// user reads name's entry from root's /etc/passwd.
func user(t *testing.T, root, name string) (uid, gid int, home, shell string) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(root, "etc/passwd"))
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(string(b), "\n") {
		f := strings.Split(l, ":")
		if len(f) == 7 && f[0] == name {
			uid, _ = strconv.Atoi(f[2])
			gid, _ = strconv.Atoi(f[3])
			return uid, gid, f[5], f[6]
		}
	}
	t.Fatalf("no user %s in the root's /etc/passwd:\n%s", name, b)
	return
}

// serveOnce starts `netkick serve args…`, waits for it to serve HTTP, and
// stops it with SIGTERM.
func serveOnce(t *testing.T, bin string, args ...string) {
	t.Helper()
	cmd := exec.Command(bin, append([]string{"serve"}, args...)...)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var seen strings.Builder
	sc := bufio.NewScanner(stderr)
	ok := false
	for sc.Scan() {
		seen.WriteString(sc.Text() + "\n")
		if strings.Contains(sc.Text(), "serving HTTP on") {
			ok = true
			break
		}
	}
	cmd.Process.Signal(syscall.SIGTERM)
	for sc.Scan() { // to EOF: the process has exited
	}
	werr := cmd.Wait()
	if !ok || werr != nil {
		t.Fatalf("netkick serve %s: did not serve, or did not stop cleanly (%v):\n%s", strings.Join(args, " "), werr, seen.String())
	}
}
