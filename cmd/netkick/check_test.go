package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/netkick/netkick/internal/testenv"
	"github.com/netkick/netkick/provision/check"
)

// healthyData is a data directory `netkick check` finds nothing wrong with:
// the demo inventory, the machine's PXE loaders (netkick bootfiles), a
// non-empty kernel and initrd for every profile, the admin token 0600.
func healthyData(t *testing.T, bin string) string {
	t.Helper()
	for _, f := range []string{"/usr/lib/PXELINUX/pxelinux.0", "/usr/lib/syslinux/modules/bios/ldlinux.c32", "/usr/lib/ipxe/ipxe.efi"} {
		testenv.RequireFile(t, f)
	}
	data := demoData(t, bin)
	exitOf(t, bin, ".", nil, "bootfiles", "--data", data) // exit 1 when an optional loader is missing
	var profiles []struct{ Kernel, Initrd string }
	mustJSON(t, run(t, bin, "profile", "list", "-o", "json", "--data", data), &profiles)
	for _, p := range profiles {
		for _, f := range []string{p.Kernel, p.Initrd} {
			if f != "" && !strings.Contains(f, "://") {
				writeFile(t, filepath.Join(data, "boot", f), "not empty\n", 0o644)
			}
		}
	}
	if err := os.WriteFile(filepath.Join(data, "admin.token"), []byte("0123456789abcdef0123456789abcdef\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return data
}

// freePort is a loopback TCP address nothing listens on.
func freePort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}

func writeFile(t *testing.T, path, content string, mode os.FileMode) string {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), mode); err != nil {
		t.Fatal(err)
	}
	return path
}

// dhcpConfig writes a serve config file with a dhcp: block.
func dhcpConfig(t *testing.T, dir, iface, subnet, pools, extra string) string {
	return writeFile(t, filepath.Join(dir, "netkick.yaml"), fmt.Sprintf(`dhcp:
  interface: %s
  mode: full
  subnets:
    - cidr: %s
      pools: [%s]
%s`, iface, subnet, pools, extra), 0o644)
}

// TestCheck breaks a healthy data directory in each way `netkick check`
// looks for, one case each, and reads the line that names it.
func TestCheck(t *testing.T) {
	bin := buildNetkick(t)
	check := func(t *testing.T, data string, args ...string) (string, int) {
		t.Helper()
		base := []string{"check", "--data", data, "--http", freePort(t), "--tftp", "off"}
		return exitOf(t, bin, ".", nil, append(base, args...)...)
	}

	t.Run("healthy", func(t *testing.T) {
		out, code := check(t, healthyData(t, bin))
		if code != 0 || strings.TrimSpace(out) != "ok: no problems found" {
			t.Fatalf("exit %d:\n%s", code, out)
		}
	})

	tests := []struct {
		name string
		// spoil breaks data and returns extra check arguments.
		spoil func(t *testing.T, data string) []string
		want  string
	}{
		{"kernel missing", func(t *testing.T, data string) []string {
			os.Remove(filepath.Join(data, "boot", "centos-7.9", "vmlinuz"))
			return nil
		}, "profile-files profile centos-7.9: kernel " + "DATA/boot/centos-7.9/vmlinuz is missing from the boot root; fix: run `netkick profile fetch centos-7.9`"},
		{"initrd empty", func(t *testing.T, data string) []string {
			os.WriteFile(filepath.Join(data, "boot", "centos-6.10", "initrd.img"), nil, 0o644)
			return nil
		}, "profile-files profile centos-6.10: initrd DATA/boot/centos-6.10/initrd.img is empty"},
		{"pxelinux config does not render", func(t *testing.T, data string) []string {
			run(t, bin, "profile", "add", "bare", "--version", "7.9", "--data", data)
			run(t, bin, "host", "add", "52:54:00:aa:00:09", "--hostname", "c01", "--profile", "bare", "--data", data)
			return nil
		}, "render host c01: pxelinux config: "},
		{"kickstart does not render", func(t *testing.T, data string) []string {
			tmpl := filepath.Join(t.TempDir(), "tmpl")
			writeFile(t, filepath.Join(tmpl, "ks", "default.tmpl"), "{{.NoSuchField}}\n", 0o644)
			return []string{"--templates", tmpl}
		}, "render host a01: kickstart: "},
		{"kickstart fails lint", func(t *testing.T, data string) []string {
			tmpl := filepath.Join(t.TempDir(), "tmpl")
			writeFile(t, filepath.Join(tmpl, "ks", "default.tmpl"), "bogus-command\n", 0o644)
			return []string{"--templates", tmpl}
		}, `lint host a01: kickstart: line 1: error: unknown command "bogus-command"`},
		{"BIOS loader missing", func(t *testing.T, data string) []string {
			os.Remove(filepath.Join(data, "boot", "pxelinux.0"))
			return nil
		}, "loader pxelinux.0: DATA/boot/pxelinux.0 is missing; firmware bios of a01, a02, b01, b02 asks for it; fix: run `netkick bootfiles`"},
		{"UEFI loader missing", func(t *testing.T, data string) []string {
			in := writeFile(t, filepath.Join(t.TempDir(), "uefi.yaml"), "hosts:\n  - macs: ['52:54:00:aa:00:0a']\n    hostname: u01\n    profile: centos-7.9\n    arch: efi-x86_64\n", 0o644)
			run(t, bin, "import", in, "--data", data)
			os.Remove(filepath.Join(data, "boot", "ipxe.efi"))
			return nil
		}, "loader ipxe.efi: DATA/boot/ipxe.efi is missing; firmware efi-x86_64 of u01 asks for it"},
		{"Secure Boot loader and kernel from different vendors", func(t *testing.T, data string) []string {
			testenv.RequireFile(t, filepath.Join(data, "boot", "shimx64.efi")) // Debian's signed shim, from bootfiles
			run(t, bin, "profile", "add", "sb", "--version", "7.9", "--bootloader", "grub", "--kernel", "sb/vmlinuz", "--initrd", "sb/initrd.img", "--data", data)
			writeFile(t, filepath.Join(data, "boot", "sb", "initrd.img"), "not empty\n", 0o644)
			// A kernel whose signer certificate names Red Hat's Secure Boot CA,
			// as RHEL's and CentOS's kernels carry it.
			writeFile(t, filepath.Join(data, "boot", "sb", "vmlinuz"), "MZ\x00\x00 kernel image ... Red Hat Secure Boot (CA key 1) ...", 0o644)
			return nil
		}, "secure-boot profile sb: Secure Boot loader (shim) is Debian's but the kernel is signed by Red Hat: shim will refuse the kernel; fix: use the profile's own shim and GRUB"},
		{"DHCP interface missing", func(t *testing.T, data string) []string {
			return []string{"--config", dhcpConfig(t, t.TempDir(), "nosuch0", "192.0.2.0/24", `"192.0.2.100-192.0.2.200"`, "")}
		}, "dhcp interface nosuch0: does not exist; fix: name an existing interface"},
		{"DHCP interface without an address in its subnet", func(t *testing.T, data string) []string {
			return []string{"--config", dhcpConfig(t, t.TempDir(), "lo", "192.0.2.0/24", `"192.0.2.100-192.0.2.200"`, "")}
		}, "dhcp subnet 192.0.2.0/24: interface lo holds no address in it"},
		{"DHCP pool outside its subnet", func(t *testing.T, data string) []string {
			return []string{"--config", dhcpConfig(t, t.TempDir(), "lo", "192.0.2.0/24", `"192.0.3.10-192.0.3.20"`, "  relays: [192.0.2.2]\n")}
		}, `dhcp config: dhcp.subnets[0]: pool "192.0.3.10-192.0.3.20": must lie inside 192.0.2.0/24`},
		{"DHCP pools overlap", func(t *testing.T, data string) []string {
			return []string{"--config", dhcpConfig(t, t.TempDir(), "lo", "192.0.2.0/24", `"192.0.2.10-192.0.2.50", "192.0.2.40-192.0.2.60"`, "  relays: [192.0.2.2]\n")}
		}, `dhcp config: dhcp.subnets[0]: pool "192.0.2.40-192.0.2.60" overlaps another pool of 192.0.2.0/24`},
		{"DHCP reservation outside every subnet", func(t *testing.T, data string) []string {
			run(t, bin, "host", "add", "52:54:00:aa:00:0b", "--hostname", "r01", "--ip", "198.51.100.7", "--data", data)
			return []string{"--config", dhcpConfig(t, t.TempDir(), "lo", "192.0.2.0/24", `"192.0.2.100-192.0.2.200"`, "  relays: [192.0.2.2]\n")}
		}, "dhcp host r01: reserved address 198.51.100.7 is in no served subnet (192.0.2.0/24)"},
		{"port held by another program", func(t *testing.T, data string) []string {
			l, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { l.Close() })
			return []string{"--http", l.Addr().String()}
		}, fmt.Sprintf("cannot be bound: address already in use (held by pid %d (", os.Getpid())},
		{"token file readable by others", func(t *testing.T, data string) []string {
			os.Chmod(filepath.Join(data, "admin.token"), 0o644)
			return nil
		}, "token-file DATA/admin.token: mode 0644 lets others read the admin token; fix: chmod 600 DATA/admin.token"},
		{"store corrupt", func(t *testing.T, data string) []string {
			corrupt(t, filepath.Join(data, "inventory.db"))
			return nil
		}, "store DATA/inventory.db: "},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			data := healthyData(t, bin)
			extra := tc.spoil(t, data)
			out, code := check(t, data, extra...)
			want := strings.ReplaceAll(tc.want, "DATA", data)
			if code != 1 || !strings.Contains(out, want) {
				t.Fatalf("exit %d, want 1 and a line with %q:\n%s", code, want, out)
			}
			for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
				if !strings.Contains(line, "; fix: ") && !strings.HasPrefix(line, "netkick check: ") {
					t.Errorf("line without a fix: %q", line)
				}
			}
		})
	}

	t.Run("relayed subnet needs no address on the interface", func(t *testing.T) {
		data := healthyData(t, bin)
		out, _ := check(t, data, "--config", dhcpConfig(t, t.TempDir(), "lo", "192.0.2.0/24", `"192.0.2.100-192.0.2.200"`, "  relays: [192.0.2.2]\n"))
		if strings.Contains(out, "dhcp ") {
			t.Fatalf("relayed subnet reported:\n%s", out)
		}
	})

	t.Run("json", func(t *testing.T) {
		data := healthyData(t, bin)
		os.Remove(filepath.Join(data, "boot", "rocky-9.4", "initrd.img"))
		out, code := check(t, data, "--json")
		var res struct {
			OK       bool `json:"ok"`
			Problems []struct{ Check, Subject, Problem, Fix string }
		}
		js := out[:strings.LastIndex(out, "}")+1] // stderr's summary line follows
		if err := json.Unmarshal([]byte(js), &res); err != nil || code != 1 || res.OK || len(res.Problems) != 1 ||
			res.Problems[0].Check != "profile-files" || res.Problems[0].Subject != "profile rocky-9.4" || res.Problems[0].Fix == "" {
			t.Fatalf("exit %d, %v: %+v\n%s", code, err, res, out)
		}
	})

	t.Run("own server started with --config only", func(t *testing.T) {
		data := healthyData(t, bin)
		conf := writeFile(t, filepath.Join(t.TempDir(), "netkick.yaml"), fmt.Sprintf("data: %s\nhttp: %q\ntftp: \"off\"\n", data, freePort(t)), 0o644)
		serveConfigOnly(t, bin, conf)
		if out, code := exitOf(t, bin, t.TempDir(), nil, "check", "--config", conf); code != 0 {
			t.Fatalf("check beside serve --config: exit %d:\n%s", code, out)
		}
	})

	t.Run("server checks itself; its own ports are fine", func(t *testing.T) {
		data := healthyData(t, bin)
		os.Remove(filepath.Join(data, "admin.token"))
		base, _ := startServe(t, bin, data)
		u, _ := url.Parse(base)
		// Locally, with serve's own address: held by this installation's server.
		if out, code := exitOf(t, bin, ".", nil, "check", "--data", data, "--http", u.Host, "--tftp", "off"); code != 0 {
			t.Fatalf("local check beside the running server: exit %d:\n%s", code, out)
		}
		os.Remove(filepath.Join(data, "boot", "centos-5.3", "vmlinuz"))
		out, code := exitOf(t, bin, ".", nil, "check", "--server", base, "--token-file", filepath.Join(data, "admin.token"))
		if code != 1 || !strings.Contains(out, "profile-files profile centos-5.3: kernel") || strings.Contains(out, "port ") {
			t.Fatalf("exit %d:\n%s", code, out)
		}
	})
}

// corrupt overwrites the store's pages after the first: the header still
// reads, the b-trees do not.
func corrupt(t *testing.T, db string) {
	t.Helper()
	f, err := os.OpenFile(db, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	st, _ := f.Stat()
	junk := []byte(strings.Repeat("\xde\xad\xbe\xef", 1024))
	for off := int64(4096); off < st.Size(); off += 8192 {
		if _, err := f.WriteAt(junk, off); err != nil {
			t.Fatal(err)
		}
	}
}

func TestServeDataDir(t *testing.T) {
	dir := t.TempDir()
	cfgWithData := writeFile(t, filepath.Join(dir, "with.yaml"), "data: /srv/from-config\n", 0o644)
	cfgWithout := writeFile(t, filepath.Join(dir, "without.yaml"), "http: \":8080\"\n", 0o644)
	for _, tc := range []struct {
		name string
		p    check.ServeProc
		want string
	}{
		{"default, relative to its cwd", check.ServeProc{Cwd: "/home/ops"}, "/home/ops/netkick-data"},
		{"environment", check.ServeProc{Cwd: "/", EnvData: "/srv/env"}, "/srv/env"},
		{"config file alone", check.ServeProc{Cwd: "/", Config: cfgWithData}, "/srv/from-config"},
		{"environment over config file", check.ServeProc{Cwd: "/", EnvData: "/srv/env", Config: cfgWithData}, "/srv/env"},
		{"config file without data", check.ServeProc{Cwd: "/", EnvData: "/srv/env", Config: cfgWithout}, "/srv/env"},
		{"--data over everything", check.ServeProc{Cwd: "/x", EnvData: "/srv/env", Config: cfgWithData, Data: "d"}, "/x/d"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := serveDataDir(tc.p); got != tc.want {
				t.Fatalf("serveDataDir(%+v) = %q, want %q", tc.p, got, tc.want)
			}
		})
	}
}

// serveConfigOnly runs `netkick serve --config F` (its data directory named
// only in the file) until the test ends, and waits until HTTP listens.
func serveConfigOnly(t *testing.T, bin, conf string) {
	t.Helper()
	cmd := exec.Command(bin, "serve", "--config", conf)
	cmd.Dir = t.TempDir()
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	stopAtCleanup(t, cmd)
	up := make(chan bool, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			if strings.Contains(sc.Text(), "serving HTTP on") {
				up <- true
			}
		}
		io.Copy(io.Discard, stderr)
	}()
	select {
	case <-up:
	case <-time.After(20 * time.Second):
		t.Fatal("serve --config did not start")
	}
}
