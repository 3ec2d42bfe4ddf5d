package kickstart

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/netkick/netkick/inventory"
	"github.com/netkick/netkick/kickstart/layout"
)

func TestChooseLayout(t *testing.T) {
	roles := func(role string) string {
		return map[string]string{"db": "home-opt", "web": "simple"}[role]
	}
	cases := []struct {
		name      string
		host      inventory.Host
		profile   inventory.Profile
		want, src string
	}{
		{"host wins", inventory.Host{Hostname: "h", Layout: "mine", Roles: []string{"db"}}, inventory.Profile{Name: "p", Layout: "theirs"}, "mine", "host h"},
		{"profile next", inventory.Host{Hostname: "h", Roles: []string{"db"}}, inventory.Profile{Name: "p", Layout: "theirs"}, "theirs", "profile p"},
		{"first role with a default", inventory.Host{Hostname: "h", Roles: []string{"lvs", "web", "db"}}, inventory.Profile{Name: "p"}, "simple", "role web"},
		{"nothing: fixed fallback", inventory.Host{Hostname: "h", Roles: []string{"lvs"}}, inventory.Profile{Name: "p"}, "", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, src := ChooseLayout(&c.host, &c.profile, roles)
			if got != c.want || src != c.src {
				t.Errorf("got %q from %q, want %q from %q", got, src, c.want, c.src)
			}
		})
	}
}

// TestRenderWithLayout: a host with a layout gets the layout's %pre and
// `%include` of the very file the %pre writes, in each OS dialect.
func TestRenderWithLayout(t *testing.T) {
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "roles", "db"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "roles", "db", "layout.tmpl"), []byte("home-opt\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "roles", "db", "post.tmpl"), []byte("echo db role\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	r, err := New(Options{TemplateDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	custom := &inventory.Layout{Name: "big-root", Label: "gpt", Disks: []inventory.LayoutDisk{{Use: "first", Partitions: []inventory.LayoutPartition{
		{Mount: "/", FSType: "xfs", Size: inventory.Grow()}}}}}
	cases := []struct {
		name    string
		host    inventory.Host
		profile *inventory.Profile
		layout  string
		opts    layout.ScriptOptions
		err     string
	}{
		{"centos 5 has no %end", inventory.Host{Layout: "home-opt"}, demoProfiles()[0], "home-opt", layout.ScriptOptions{Firmware: layout.FirmwareAuto, OmitEnd: true}, ""},
		{"centos 7 on UEFI", inventory.Host{Layout: "home-opt", Arch: "efi-x86_64"}, demoProfiles()[2], "home-opt", layout.ScriptOptions{Firmware: layout.FirmwareUEFI, ErrorOnFail: true}, ""},
		{"role default", inventory.Host{Roles: []string{"db"}, Arch: "bios"}, demoProfiles()[1], "home-opt", layout.ScriptOptions{Firmware: layout.FirmwareBIOS, ErrorOnFail: true}, ""},
		{"stored layout", inventory.Host{Layout: "big-root"}, demoProfiles()[3], "big-root", layout.ScriptOptions{ErrorOnFail: true}, ""},
		{"unknown layout", inventory.Host{Layout: "nope"}, demoProfiles()[2], "", layout.ScriptOptions{}, "host h1 names layout nope does not exist"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h := c.host
			h.MACs, h.Hostname, h.Profile = []string{"52:54:00:00:00:09"}, "h1", c.profile.Name
			src := &fakeSource{hosts: map[string]*inventory.Host{h.ID(): &h}, profiles: map[string]*inventory.Profile{c.profile.Name: c.profile},
				layouts: map[string]*inventory.Layout{"big-root": custom}}
			out, err := r.Kickstart(context.Background(), src, Request{Host: h.ID(), Server: "http://192.0.2.1:8080"})
			if c.err != "" {
				if err == nil || !strings.Contains(err.Error(), c.err) {
					t.Fatalf("got %v, want an error containing %q", err, c.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			ks := string(out)
			l, err := FindLayout(context.Background(), src, c.layout)
			if err != nil {
				t.Fatal(err)
			}
			pre, err := layout.PreScript(l, c.opts)
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(ks, "\n"+pre) {
				t.Errorf("kickstart does not hold the layout's %%pre as PreScript writes it:\n%s", ks)
			}
			if !strings.Contains(ks, "\n%include "+layout.IncludeFile+"\n") || !strings.Contains(pre, "OUT='"+layout.IncludeFile+"'") {
				t.Errorf("the kickstart must %%include the file the %%pre writes (%s)", layout.IncludeFile)
			}
			if strings.Contains(ks, "clearpart") {
				t.Errorf("clearpart would destroy the partitions the %%pre made")
			}
			checkKickstart(t, ks, &h, c.profile)
		})
	}
}

func TestFallbackBoot(t *testing.T) {
	el6, _ := ParseOS("centos", "6.10")
	el7, _ := ParseOS("centos", "7.9")
	for _, tc := range []struct {
		name string
		fw   layout.Firmware
		os   OS
		want string
	}{
		{"UEFI gets an EFI system partition", layout.FirmwareUEFI, el6, "part /boot/efi --fstype=efi --size=200"},
		{"unknown firmware on 7: reqpart", layout.FirmwareAuto, el7, "reqpart"},
		{"unknown firmware on 6: no reqpart there", layout.FirmwareAuto, el6, ""},
		{"BIOS needs nothing", layout.FirmwareBIOS, el7, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := fallbackBoot(tc.fw, tc.os); got != tc.want {
				t.Fatalf("got %q want %q", got, tc.want)
			}
		})
	}
}
