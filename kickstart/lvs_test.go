package kickstart

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/netkick/netkick/inventory"
	"github.com/netkick/netkick/lvs"
)

// roleScript cuts the %post part of one role out of a rendered kickstart.
func roleScript(t *testing.T, ks, role string) string {
	t.Helper()
	start := strings.Index(ks, "\n%post\n")
	i := strings.Index(ks[start:], "# role "+role+"\n")
	if i < 0 {
		t.Fatalf("no %%post block for role %s in:\n%s", role, ks)
	}
	body := ks[start+i:]
	for _, end := range []string{"\n# tell netkick", "\n%end"} {
		if j := strings.Index(body, end); j >= 0 {
			body = body[:j]
			break
		}
	}
	return body + "\n"
}

// runRoleScript runs a role's %post with every absolute /etc path moved under
// a temporary root and the system tools (sysctl, ntpdate, chkconfig, chown)
// replaced by stubs that log their arguments. It returns the root.
func runRoleScript(t *testing.T, script string, times int) (string, string) {
	t.Helper()
	sh := "sh"
	if _, err := exec.LookPath(sh); err != nil {
		t.Skip("no sh")
	}
	root := t.TempDir()
	bin := filepath.Join(root, "bin")
	os.MkdirAll(bin, 0o755)
	log := filepath.Join(root, "tools.log")
	for _, tool := range []string{"sysctl", "ntpdate", "chkconfig", "chown", "chronyd", "systemctl"} {
		os.WriteFile(filepath.Join(bin, tool), []byte("#!/bin/sh\necho \"$(basename \"$0\") $*\" >> "+log+"\n"), 0o755)
	}
	for _, d := range []string{"etc/sysconfig/network-scripts", "root"} {
		os.MkdirAll(filepath.Join(root, d), 0o755)
	}
	s := strings.ReplaceAll(script, " /etc/", " "+root+"/etc/")
	s = strings.ReplaceAll(s, "'/etc/", "'"+root+"/etc/")
	s = strings.ReplaceAll(s, " /root/", " "+root+"/root/")
	for i := 0; i < times; i++ {
		cmd := exec.Command(sh, "-eu")
		cmd.Stdin = strings.NewReader(s)
		cmd.Env = []string{"PATH=" + bin + ":/usr/bin:/bin"}
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("role script failed: %v\n%s\n--- script\n%s", err, out, s)
		}
	}
	b, _ := os.ReadFile(log)
	return root, string(b)
}

func renderDemo(t *testing.T, host, profile string) string {
	t.Helper()
	r, err := New(Options{})
	if err != nil {
		t.Fatal(err)
	}
	var h *inventory.Host
	for _, x := range demoHosts() {
		if x.Hostname == host {
			h = x
		}
	}
	var p *inventory.Profile
	for _, x := range demoProfiles() {
		if x.Name == profile {
			p = x
		}
	}
	h.Profile = p.Name
	out, err := r.Kickstart(context.Background(), demoSource(h, p), Request{Host: h.ID(), Server: "http://192.0.2.1:8080"})
	if err != nil {
		t.Fatal(err)
	}
	return string(out)
}

// TestRealServerRoleScript runs the real server's %post twice: one loopback
// file per VIP, and the ARP sysctl lines appended exactly once.
func TestRealServerRoleScript(t *testing.T) {
	ks := renderDemo(t, "b01", "centos-6.10")
	root, log := runRoleScript(t, roleScript(t, ks, "lvs-real-server"), 2)
	ifcfg, err := os.ReadFile(filepath.Join(root, "etc/sysconfig/network-scripts/ifcfg-lo:0"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"DEVICE=lo:0\n", "IPADDR=192.0.2.40\n", "NETMASK=255.255.255.255\n", "ONBOOT=yes\n"} {
		if !strings.Contains(string(ifcfg), want) {
			t.Errorf("ifcfg-lo:0 lacks %q:\n%s", want, ifcfg)
		}
	}
	sysctl, err := os.ReadFile(filepath.Join(root, "etc/sysctl.conf"))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := string(sysctl), strings.Join(lvs.ARPSysctls(), "\n")+"\n"; got != want {
		t.Errorf("sysctl.conf after two runs =\n%s\nwant each line once:\n%s", got, want)
	}
	if strings.Count(log, "sysctl -p") != 2 {
		t.Errorf("sysctl -p not run on each pass: %q", log)
	}
}

// TestDirectorRoleScript runs a piranha director's %post: lvs.cf parses back
// to the cluster, the GUI is limited to the admin network, time is synced
// first and pulse/piranha-gui are enabled.
func TestDirectorRoleScript(t *testing.T) {
	ks := renderDemo(t, "a02", "centos-5.3")
	root, log := runRoleScript(t, roleScript(t, ks, "lvs-director"), 1)
	cf, err := os.ReadFile(filepath.Join(root, "etc/sysconfig/ha/lvs.cf"))
	if err != nil {
		t.Fatal(err)
	}
	got, err := lvs.ParsePiranha("web", string(cf))
	if err != nil {
		t.Fatal(err)
	}
	c := lvs.DemoCluster()
	var hosts []inventory.Host
	for _, h := range demoHosts() {
		hosts = append(hosts, *h)
	}
	want, err := lvs.NewPlan(&c, hosts)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got.Services, want.Services) || got.Primary.IP != "192.0.2.11" || got.Backup.IP != "192.0.2.12" {
		t.Errorf("lvs.cf written by the kickstart parses to %+v, want %+v", got, want)
	}
	if link, err := os.Readlink(filepath.Join(root, "etc/sysconfig/ha/lvs.conf")); err != nil || link != "lvs.cf" {
		t.Errorf("lvs.conf link = %q, %v", link, err)
	}
	ht, _ := os.ReadFile(filepath.Join(root, "etc/sysconfig/ha/web/secure/.htaccess"))
	if string(ht) != "Order deny,allow\nDeny from all\nAllow from 192.0.2.0/24\n" {
		t.Errorf(".htaccess = %q", ht)
	}
	lines := strings.Split(strings.TrimSpace(log), "\n")
	if len(lines) == 0 || !strings.HasPrefix(lines[0], "ntpdate -u pool.ntp.org") {
		t.Errorf("time is not synced first: %q", log)
	}
	for _, want := range []string{"chkconfig pulse on", "chkconfig piranha-gui on", "chkconfig ntpd on"} {
		if !strings.Contains(log, want) {
			t.Errorf("%q not run: %q", want, log)
		}
	}
}

// TestLVSRoleData checks the role data per OS and the refusals.
func TestLVSRoleData(t *testing.T) {
	for _, tc := range []struct {
		name, host, profile string
		mod                 func(f *fakeSource, h *inventory.Host)
		want                []string // substrings of the kickstart, or of the error when err
		err                 bool
	}{
		{"piranha director on 5", "a01", "centos-5.3", nil, []string{"\npiranha\n", "\nntp\n", "/etc/sysconfig/ha/lvs.cf"}, false},
		{"ntpdate package on 6", "a01", "centos-6.10", nil, []string{"\nntpdate\n"}, false},
		{"keepalived director on 7", "a01", "centos-7.9", nil, []string{"\nkeepalived\n", "state MASTER", "systemctl enable chronyd keepalived"}, false},
		{"gui password file", "a01", "centos-5.3", func(f *fakeSource, h *inventory.Host) {
			f.clusters[0].GUIPasswordHash = "$apr1$q8bzvN2s$k3KpPZ7Eq4kAn9wm0Ixy31"
		}, []string{"piranha:$apr1$q8bzvN2s$k3KpPZ7Eq4kAn9wm0Ixy31\n", "chown piranha:piranha /etc/sysconfig/ha/conf/piranha.passwd"}, false},
		{"ntp server param", "a01", "centos-5.3", func(f *fakeSource, h *inventory.Host) {
			h.Params = map[string]string{ParamNTPServer: "ntp.example.org"}
		}, []string{"ntpdate -u ntp.example.org"}, false},
		{"ntp server with shell", "a01", "centos-5.3", func(f *fakeSource, h *inventory.Host) {
			h.Params = map[string]string{ParamNTPServer: "x;reboot"}
		}, []string{"ntp_server"}, true},
		{"director without cluster", "a01", "centos-5.3", func(f *fakeSource, h *inventory.Host) { h.Cluster = "" }, []string{"LVS director without a cluster: packages only", "\npiranha\n", "ntpdate -u pool.ntp.org"}, false},
		{"real server without cluster", "b01", "centos-5.3", func(f *fakeSource, h *inventory.Host) { h.Cluster = "" }, []string{"LVS real server without a cluster", "net.ipv4.conf.lo.arp_ignore = 1"}, false},
		{"cluster missing", "a01", "centos-5.3", func(f *fakeSource, h *inventory.Host) { f.clusters = nil }, []string{"which does not exist"}, true},
		{"real server in a missing cluster", "b01", "centos-5.3", func(f *fakeSource, h *inventory.Host) { f.clusters = nil }, []string{`names cluster "web", which does not exist`}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, err := New(Options{})
			if err != nil {
				t.Fatal(err)
			}
			var h *inventory.Host
			for _, x := range demoHosts() {
				if x.Hostname == tc.host {
					h = x
				}
			}
			var p *inventory.Profile
			for _, x := range demoProfiles() {
				if x.Name == tc.profile {
					p = x
				}
			}
			h.Profile = p.Name
			src := demoSource(h, p)
			if tc.mod != nil {
				tc.mod(src, h)
			}
			out, err := r.Kickstart(context.Background(), src, Request{Host: h.ID(), Server: "http://x"})
			text := string(out)
			if err != nil {
				text = err.Error()
			}
			if (err != nil) != tc.err {
				t.Fatalf("err = %v, want error %v", err, tc.err)
			}
			for _, w := range tc.want {
				if !strings.Contains(text, w) {
					t.Errorf("output lacks %q:\n%s", w, text)
				}
			}
		})
	}
}
