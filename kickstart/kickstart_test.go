package kickstart

import (
	"context"
	"errors"
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/netkick/netkick/inventory"
	"github.com/netkick/netkick/kickstart/lint"
	"github.com/netkick/netkick/lvs"
)

var update = flag.Bool("update", false, "rewrite golden files")

func TestParseOS(t *testing.T) {
	tests := []struct {
		name, os, version string
		wantEnd           string
		install, devMAC   bool
		fstype            string
		tz                string
		err               bool
	}{
		{"centos 5.3", "centos", "5.3", "", true, false, "ext3", "timezone --utc Europe/Paris", false},
		{"centos 6.10", "centos", "6.10", "%end", true, true, "ext4", "timezone --utc Europe/Paris", false},
		{"centos 7.9", "centos", "7.9", "%end", false, true, "xfs", "timezone Europe/Paris --isUtc", false},
		{"rocky 9.4", "rocky", "9.4", "%end", false, true, "xfs", "timezone Europe/Paris --utc", false},
		{"rhel 8", "rhel", "8", "%end", false, true, "xfs", "timezone Europe/Paris --utc", false},
		{"fedora 10 maps to 5", "fedora", "10", "", true, false, "ext3", "timezone --utc Europe/Paris", false},
		{"too old", "centos", "4.8", "", false, false, "", "", true},
		{"garbage", "centos", "x", "", false, false, "", "", true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			o, err := ParseOS(tc.os, tc.version)
			if (err != nil) != tc.err {
				t.Fatalf("err=%v want err=%v", err, tc.err)
			}
			if tc.err {
				return
			}
			if o.End != tc.wantEnd || o.InstallKeyword != tc.install || o.DeviceByMAC != tc.devMAC || o.FSType != tc.fstype {
				t.Fatalf("got %+v", o)
			}
			if got := o.TimezoneCmd("Europe/Paris"); got != tc.tz {
				t.Fatalf("TimezoneCmd=%q want %q", got, tc.tz)
			}
		})
	}
}

func TestPlanTimezone(t *testing.T) {
	tests := []struct {
		name, os, version, zone, fallback string
		want                              Timezone
	}{
		{"affected release gets the fix", "centos", "5.3", "America/Montreal", "", Timezone{"Europe/Paris", "America/Montreal", true}},
		{"rhel 5.3 too", "rhel", "5.3", "Etc/UTC", "", Timezone{"Europe/Paris", "Etc/UTC", true}},
		{"configured fallback", "centos", "5.3", "Asia/Tokyo", "Europe/London", Timezone{"Europe/London", "Asia/Tokyo", true}},
		{"zone equal to fallback needs no fix", "centos", "5.3", "Europe/Paris", "", Timezone{"Europe/Paris", "Europe/Paris", false}},
		{"unaffected 5.4", "centos", "5.4", "America/Montreal", "", Timezone{"America/Montreal", "America/Montreal", false}},
		{"unaffected 7", "centos", "7.9", "Etc/UTC", "", Timezone{"Etc/UTC", "Etc/UTC", false}},
		{"empty zone is UTC", "centos", "6.10", "", "", Timezone{"UTC", "UTC", false}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := PlanTimezone(tc.os, tc.version, tc.zone, tc.fallback); got != tc.want {
				t.Fatalf("got %+v want %+v", got, tc.want)
			}
		})
	}
}

func TestShellQuoteRoundTrip(t *testing.T) {
	sh, err := exec.LookPath("sh")
	if err != nil {
		t.Skip("no sh")
	}
	tests := []struct{ name, in string }{
		{"plain", "web01"},
		{"empty", ""},
		{"space", "a b"},
		{"single quote", "it's"},
		{"command substitution", "$(reboot)"},
		{"backticks", "`id`"},
		{"semicolon", "a; rm -rf /"},
		{"double quotes", `"x"`},
		{"glob", "*"},
		{"unicode", "é"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out, err := exec.Command(sh, "-c", "printf %s "+ShellQuote(tc.in)).Output()
			if err != nil {
				t.Fatal(err)
			}
			if string(out) != tc.in {
				t.Fatalf("sh printed %q for %q (quoted %s)", out, tc.in, ShellQuote(tc.in))
			}
		})
	}
}

// fakeSource is an in-memory Source (and ClusterSource) for rendering tests.
type fakeSource struct {
	hosts    map[string]*inventory.Host
	profiles map[string]*inventory.Profile
	clusters []inventory.Cluster
	all      []inventory.Host // every host, for the LVS roles
	layouts  map[string]*inventory.Layout
}

// demoSource holds h (one of demoHosts, with its profile set), p, every
// demo host and the demo LVS cluster.
func demoSource(h *inventory.Host, p *inventory.Profile) *fakeSource {
	f := &fakeSource{hosts: map[string]*inventory.Host{h.ID(): h}, profiles: map[string]*inventory.Profile{p.Name: p},
		clusters: []inventory.Cluster{lvs.DemoCluster()}}
	for _, d := range demoHosts() {
		if d.ID() == h.ID() {
			d = h
		}
		f.all = append(f.all, *d)
	}
	return f
}

func (f *fakeSource) GetCluster(_ context.Context, name string) (*inventory.Cluster, error) {
	for i := range f.clusters {
		if f.clusters[i].Name == name {
			return &f.clusters[i], nil
		}
	}
	return nil, inventory.ErrNotFound
}

func (f *fakeSource) ListClusters(context.Context) ([]inventory.Cluster, error) {
	return f.clusters, nil
}

func (f *fakeSource) ListHosts(context.Context, inventory.HostFilter) ([]inventory.Host, error) {
	return f.all, nil
}

func (f *fakeSource) GetLayout(_ context.Context, name string) (*inventory.Layout, error) {
	if l, ok := f.layouts[name]; ok {
		return l, nil
	}
	return nil, inventory.ErrNotFound
}

func (f *fakeSource) GetHost(_ context.Context, key string) (*inventory.Host, error) {
	if h, ok := f.hosts[key]; ok {
		return h, nil
	}
	return nil, inventory.ErrNotFound
}

func (f *fakeSource) GetProfile(_ context.Context, name string) (*inventory.Profile, error) {
	if p, ok := f.profiles[name]; ok {
		return p, nil
	}
	return nil, inventory.ErrNotFound
}

func demoProfiles() []*inventory.Profile {
	return []*inventory.Profile{
		{Name: "centos-5.3", OS: "centos", Version: "5.3", InstallURL: "http://mirror.example.com/centos/5.3/os/x86_64/"},
		{Name: "centos-6.10", OS: "centos", Version: "6.10", InstallURL: "http://mirror.example.com/centos/6.10/os/x86_64/"},
		{Name: "centos-7.9", OS: "centos", Version: "7.9", InstallURL: "http://mirror.example.com/centos/7.9.2009/os/x86_64/"},
		{Name: "rocky-8.10", OS: "rocky", Version: "8.10", InstallURL: "http://mirror.example.com/rocky/8.10/BaseOS/x86_64/os/"},
		{Name: "rocky-9.4", OS: "rocky", Version: "9.4"},
	}
}

// demoHosts mirror the hosts of cmd/netkick/demo.yaml (every one on the
// home-opt layout); their profiles vary per test.
func demoHosts() []*inventory.Host {
	hash := "$6$netkickdemo$pWZGA3.fG3FSoohKru8UqeVkJ04nPjpZHvelrWyd2P.Y92G04TKO5aV3LHMzDiYpIN.gAUdW.XP5OiLKJ1wz30"
	return []*inventory.Host{
		{MACs: []string{"52:54:00:4e:4b:01"}, Hostname: "a01", IP: "192.0.2.11", Roles: []string{"lvs-director"}, Cluster: "web", Layout: "home-opt", Timezone: "America/Montreal", RootPasswordHash: hash, State: inventory.StateBuild, BuildToken: "00112233445566778899aabbccddeeff"},
		{MACs: []string{"52:54:00:4e:4b:02"}, Hostname: "a02", IP: "192.0.2.12", Roles: []string{"lvs-director"}, Cluster: "web", Layout: "home-opt", Timezone: "America/Montreal", RootPasswordHash: hash},
		{MACs: []string{"52:54:00:4e:4b:03"}, Hostname: "b01", IP: "192.0.2.21", Roles: []string{"lvs-real-server"}, Cluster: "web", Layout: "home-opt", Timezone: "Europe/Paris", RootPasswordHash: hash},
		{MACs: []string{"52:54:00:4e:4b:04"}, Hostname: "b02", IP: "192.0.2.22", Roles: []string{"lvs-real-server"}, Cluster: "web", Layout: "home-opt", Timezone: "Etc/UTC"},
	}
}

// TestGoldenKickstarts renders every demo host with every supported OS profile.
func TestGoldenKickstarts(t *testing.T) {
	r, err := New(Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range demoProfiles() {
		for _, h := range demoHosts() {
			name := h.Hostname + "_" + p.Name
			t.Run(name, func(t *testing.T) {
				hc := *h
				hc.Profile = p.Name
				src := demoSource(&hc, p)
				out, err := r.Kickstart(context.Background(), src, Request{Host: hc.ID(), Server: "http://192.0.2.1:8080"})
				if err != nil {
					t.Fatal(err)
				}
				checkKickstart(t, string(out), &hc, p)
				golden := filepath.Join("testdata", name+".ks")
				if *update {
					if err := os.MkdirAll("testdata", 0o755); err != nil {
						t.Fatal(err)
					}
					if err := os.WriteFile(golden, out, 0o644); err != nil {
						t.Fatal(err)
					}
				}
				want, err := os.ReadFile(golden)
				if err != nil {
					t.Fatalf("%v (run go test ./kickstart -update)", err)
				}
				if string(want) != string(out) {
					t.Fatalf("kickstart differs from %s (run with -update if intended):\n%s", golden, out)
				}
			})
		}
	}
}

// checkKickstart asserts what must hold whatever the golden file says.
func checkKickstart(t *testing.T, ks string, h *inventory.Host, p *inventory.Profile) {
	t.Helper()
	fix := AffectedByZoneBug(p.OS, p.Version) && h.Timezone != DefaultFallbackZone
	has := func(s string) bool { return strings.Contains(ks, s) }
	if fix != has("tzdata-update") || fix != has("/etc/sysconfig/clock.BAD") {
		t.Errorf("timezone fix present=%v, want %v", has("tzdata-update"), fix)
	}
	if fix && !has("timezone --utc Europe/Paris\n") {
		t.Errorf("affected release must install with Europe/Paris")
	}
	if !has("repo --name=netkick-cpan --baseurl=http://192.0.2.1:8080/repo/cpan/") || !has("/etc/yum.repos.d/netkick-cpan.repo") {
		t.Errorf("CPAN repository setup missing")
	}
	if strings.Index(ks, "repo --name=netkick-cpan") > strings.Index(ks, "%packages") {
		t.Errorf("repo line must come before %%packages")
	}
	if strings.Index(ks, "netkick-cpan.repo") < strings.Index(ks, "%post") {
		t.Errorf(".repo file must be written in %%post")
	}
	if h.RootPasswordHash != "" && !has("rootpw --iscrypted "+h.RootPasswordHash) {
		t.Errorf("root password hash missing")
	}
	if h.RootPasswordHash == "" && !has("rootpw --iscrypted !!") {
		t.Errorf("host without a hash must get a locked root")
	}
	o, _ := ParseOS(p.OS, p.Version)
	if n := strings.Count(ks, "%end"); (o.End == "") != (n == 0) {
		t.Errorf("%%end count %d for %s %s", n, p.OS, p.Version)
	}
	for _, r := range h.Roles {
		if !has("# role " + r) {
			t.Errorf("role %s snippet missing", r)
		}
	}
}

func TestRenderErrors(t *testing.T) {
	r, err := New(Options{})
	if err != nil {
		t.Fatal(err)
	}
	p := demoProfiles()[0]
	tests := []struct {
		name    string
		host    *inventory.Host
		profile *inventory.Profile
		want    string
		notFnd  bool
	}{
		{"unknown host", nil, p, "", true},
		{"no profile", &inventory.Host{MACs: []string{"52:54:00:00:00:01"}, Hostname: "x"}, p, "has no profile", false},
		{"missing profile", &inventory.Host{MACs: []string{"52:54:00:00:00:01"}, Hostname: "x", Profile: "nope"}, p, "profile nope, which does not exist", false},
		{"missing template", &inventory.Host{MACs: []string{"52:54:00:00:00:01"}, Hostname: "x", Profile: "odd"}, &inventory.Profile{Name: "odd", OS: "centos", Version: "7", Template: "custom"}, "does not exist", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			src := &fakeSource{hosts: map[string]*inventory.Host{}, profiles: map[string]*inventory.Profile{tc.profile.Name: tc.profile}}
			if tc.host != nil {
				src.hosts["52:54:00:00:00:01"] = tc.host
			}
			out, err := r.Kickstart(context.Background(), src, Request{Host: "52:54:00:00:00:01", Server: "http://x"})
			if err == nil || len(out) != 0 {
				t.Fatalf("want error and no output, got %q, %v", out, err)
			}
			if tc.notFnd != errors.Is(err, inventory.ErrNotFound) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v", err)
			}
		})
	}
}

func TestTemplateOverrideDirectory(t *testing.T) {
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "snippets"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "snippets", "network.tmpl"), []byte("network --bootproto=static --hostname={{.Host.Hostname}}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	r, err := New(Options{TemplateDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	h := demoHosts()[0]
	hc := *h
	hc.Profile = "centos-7.9"
	p := demoProfiles()[2]
	out, err := r.Kickstart(context.Background(), demoSource(&hc, p), Request{Host: hc.ID(), Server: "http://x"})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(out), "network --bootproto=static --hostname=a01") {
		t.Fatalf("override not used:\n%s", out)
	}
	// A broken override is an error naming the file, and an unknown key fails (missingkey=error).
	if err := os.WriteFile(filepath.Join(dir, "snippets", "network.tmpl"), []byte("{{.Host.Hostname"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := New(Options{TemplateDir: dir}); err == nil || !strings.Contains(err.Error(), "snippets/network") {
		t.Fatalf("broken template: %v", err)
	}
	if err := os.WriteFile(filepath.Join(dir, "snippets", "network.tmpl"), []byte("{{.Host.Nope}}"), 0o644); err != nil {
		t.Fatal(err)
	}
	r, err = New(Options{TemplateDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.Kickstart(context.Background(), demoSource(&hc, p), Request{Host: hc.ID(), Server: "http://x"}); err == nil {
		t.Fatal("unknown field rendered without error")
	}
}

// TestRenderedKickstartsLint renders every demo host with a %pre layout and
// lints the result: sections balanced per dialect, the %include written by %pre.
func TestRenderedKickstartsLint(t *testing.T) {
	r, err := New(Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range demoProfiles() {
		for _, h := range demoHosts() {
			t.Run(h.Hostname+"_"+p.Name, func(t *testing.T) {
				hc := *h
				hc.Profile, hc.Layout = p.Name, "home-opt"
				src := demoSource(&hc, p)
				out, err := r.Kickstart(context.Background(), src, Request{Host: hc.ID(), Server: "http://192.0.2.1:8080"})
				if err != nil {
					t.Fatal(err)
				}
				fs, err := lint.Check(strings.NewReader(string(out)))
				if err != nil || len(fs) != 0 {
					t.Fatalf("lint: %v %v\n%s", err, fs, out)
				}
				if !strings.Contains(string(out), "%include /tmp/netkick-part.ks") {
					t.Fatal("no %include of the layout")
				}
			})
		}
	}
}
