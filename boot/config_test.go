package boot

import (
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/netkick/netkick/inventory"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden from the current output")

// demoProfiles and demoHosts mirror cmd/netkick/demo.yaml (`netkick serve
// --demo`): two LVS directors (a01 primary, a02 backup) and two real servers
// (b01, b02), each on its profile.
func demoProfiles() map[string]*inventory.Profile {
	m := map[string]*inventory.Profile{}
	for _, v := range []struct{ os, ver string }{{"centos", "5.3"}, {"centos", "6.10"}, {"centos", "7.9"}, {"rocky", "8.10"}, {"rocky", "9.4"}} {
		n := v.os + "-" + v.ver
		m[n] = &inventory.Profile{Name: n, OS: v.os, Version: v.ver, Kernel: n + "/vmlinuz", Initrd: n + "/initrd.img"}
	}
	return m
}

// demoProfile is the directors' profile with installer arguments set, for
// the tests of argument handling.
func demoProfile() *inventory.Profile {
	p := demoProfiles()["centos-5.3"]
	p.KernelArgs = "ksdevice=bootif text"
	return p
}

func demoHost(name, mac, profile string, state inventory.State, params map[string]string) *inventory.Host {
	return &inventory.Host{MACs: []string{mac}, Hostname: name, Profile: profile, State: state, Params: params}
}

func demoHosts(state inventory.State) []*inventory.Host {
	return []*inventory.Host{
		demoHost("a01", "52:54:00:4e:4b:01", "centos-5.3", state, nil),
		demoHost("a02", "52:54:00:4e:4b:02", "centos-5.3", state, nil),
		demoHost("b01", "52:54:00:4e:4b:03", "rocky-9.4", state, nil),
		demoHost("b02", "52:54:00:4e:4b:04", "centos-7.9", state, nil),
	}
}

func golden(t *testing.T, name, got string) {
	t.Helper()
	p := filepath.Join("testdata", name+".golden")
	if *update {
		if err := os.WriteFile(p, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(p)
	if err != nil {
		t.Fatalf("reading %s: %v (run `go test ./boot -run Golden -update` to create it)", p, err)
	}
	if string(want) != got {
		t.Fatalf("%s differs from the generated text (rerun with -update if the change is intended):\n--- want\n%s--- got\n%s", p, want, got)
	}
}

// TestGoldenConfigs renders pxelinux and iPXE configs for every demo host in
// and out of build mode, and for an unknown machine.
func TestGoldenConfigs(t *testing.T) {
	const server = "http://192.0.2.1:8080"
	for _, state := range []inventory.State{inventory.StateBuild, inventory.StateInstalled} {
		for _, h := range demoHosts(state) {
			in := ConfigInput{MAC: h.ID(), Host: h, Profile: demoProfiles()[h.Profile], BaseURL: server}
			if Installs(h) {
				in.Token = "token-of-" + h.Hostname // the build token `netkick host build` mints
			}
			t.Run(h.Hostname+"-"+string(state)+"-pxelinux", func(t *testing.T) {
				got, err := PXELinuxConfig(in)
				if err != nil {
					t.Fatal(err)
				}
				golden(t, h.Hostname+"-"+string(state)+".pxelinux", got)
			})
			t.Run(h.Hostname+"-"+string(state)+"-ipxe", func(t *testing.T) {
				in := in
				in.FileBase = server + "/boot/"
				in.Platform = "pcbios"
				got, err := IPXEScript(in)
				if err != nil {
					t.Fatal(err)
				}
				golden(t, h.Hostname+"-"+string(state)+".ipxe", got)
			})
		}
	}
	t.Run("unknown-pxelinux", func(t *testing.T) {
		got, err := PXELinuxConfig(ConfigInput{MAC: "52:54:00:ff:ff:ff", BaseURL: server})
		if err != nil {
			t.Fatal(err)
		}
		golden(t, "unknown.pxelinux", got)
	})
	t.Run("unknown-ipxe-efi", func(t *testing.T) {
		got, err := IPXEScript(ConfigInput{MAC: "52:54:00:ff:ff:ff", BaseURL: server, Platform: "efi"})
		if err != nil {
			t.Fatal(err)
		}
		golden(t, "unknown-efi.ipxe", got)
	})
	t.Run("default-pxelinux", func(t *testing.T) {
		golden(t, "default.pxelinux", PXELinuxDefault())
	})
	t.Run("a01-build-lpxelinux-http-with-token-and-args", func(t *testing.T) {
		h := demoHosts(inventory.StateInstalling)[0]
		h.Params = map[string]string{ParamConsole: "ttyS0,115200n8", ParamKernelArgs: "nomodeset"}
		got, err := PXELinuxConfig(ConfigInput{MAC: h.ID(), Host: h, Profile: demoProfile(), BaseURL: server,
			FileBase: server + "/boot/", Token: "t0k+/="})
		if err != nil {
			t.Fatal(err)
		}
		golden(t, "a01-installing-http-token.pxelinux", got)
	})
	t.Run("a01-build-ipxe-efi-with-args", func(t *testing.T) {
		h := demoHosts(inventory.StateBuild)[0]
		h.Params = map[string]string{ParamConsole: "ttyS0,115200n8", ParamKernelArgs: "nomodeset"}
		got, err := IPXEScript(ConfigInput{MAC: h.ID(), Host: h, Profile: demoProfile(), BaseURL: server,
			FileBase: server + "/boot/", Platform: "efi"})
		if err != nil {
			t.Fatal(err)
		}
		golden(t, "a01-build-efi-args.ipxe", got)
	})
}

func TestConfigDecisions(t *testing.T) {
	build := func(mut func(h *inventory.Host, p *inventory.Profile)) ConfigInput {
		h := demoHost("a01", "52:54:00:00:a0:01", "centos-5.3", inventory.StateBuild, map[string]string{})
		p := demoProfile()
		mut(h, p)
		return ConfigInput{MAC: h.ID(), Host: h, Profile: p, BaseURL: "http://192.0.2.1:8080"}
	}
	on := func(platform string, in ConfigInput) ConfigInput {
		in.Platform = platform
		return in
	}
	tests := []struct {
		name        string
		in          ConfigInput
		wantPXE     []string // substrings of the pxelinux config
		wantIPXE    []string // substrings of the iPXE script
		wantRefused bool
	}{
		{"build gets install entry", build(func(*inventory.Host, *inventory.Profile) {}),
			[]string{"KERNEL centos-5.3/vmlinuz", "initrd=centos-5.3/initrd.img", "ks=http://192.0.2.1:8080/ks/52:54:00:00:a0:01 "},
			[]string{"kernel centos-5.3/vmlinuz initrd=initrd.img ks=", "BOOTIF=01-52-54-00-00-a0-01", "\nboot\n"}, false},
		{"installing still gets install entry", build(func(h *inventory.Host, _ *inventory.Profile) { h.State = inventory.StateInstalling }),
			[]string{"LABEL install"}, []string{"\nboot\n"}, false},
		{"installed boots locally", build(func(h *inventory.Host, _ *inventory.Profile) { h.State = inventory.StateInstalled }),
			[]string{"LOCALBOOT 0"}, []string{"sanboot --no-describe --drive 0x80 || exit"}, false},
		{"installed on UEFI exits to the firmware", on("efi", build(func(h *inventory.Host, _ *inventory.Profile) { h.State = inventory.StateInstalled })),
			[]string{"LOCALBOOT 0"}, []string{"\nexit\n"}, false},
		{"installed on unknown platform asks iPXE for it", build(func(h *inventory.Host, _ *inventory.Profile) { h.State = inventory.StateInstalled }),
			[]string{"LOCALBOOT 0"}, []string{"iseq ${platform} efi && exit ||\nsanboot --no-describe --drive 0x80 || exit\n"}, false},
		{"ready boots locally", build(func(h *inventory.Host, _ *inventory.Profile) { h.State = inventory.StateReady }),
			[]string{"LOCALBOOT 0"}, []string{"sanboot"}, false},
		{"failed boots locally", build(func(h *inventory.Host, _ *inventory.Profile) { h.State = inventory.StateFailed }),
			[]string{"LOCALBOOT 0"}, []string{"sanboot"}, false},
		{"unknown boots locally", ConfigInput{MAC: "52:54:00:ff:ff:ff"},
			[]string{"LOCALBOOT 0", "unknown host 52:54:00:ff:ff:ff"}, []string{"sanboot"}, false},
		{"console param", build(func(h *inventory.Host, _ *inventory.Profile) { h.Params[ParamConsole] = "ttyS1,9600" }),
			[]string{"console=ttyS1,9600"}, []string{"console=ttyS1,9600"}, false},
		{"host kernel args after profile args", build(func(h *inventory.Host, _ *inventory.Profile) { h.Params[ParamKernelArgs] = "nomodeset" }),
			[]string{"ksdevice=bootif text nomodeset"}, []string{"text nomodeset"}, false},
		{"kernel given as URL is kept", build(func(_ *inventory.Host, p *inventory.Profile) { p.Kernel = "http://192.0.2.9/os/vmlinuz" }),
			[]string{"KERNEL http://192.0.2.9/os/vmlinuz"}, []string{"kernel http://192.0.2.9/os/vmlinuz "}, false},
		{"no profile refused", build(func(h *inventory.Host, _ *inventory.Profile) { h.Profile = "" }), nil, nil, true},
		{"profile without kernel refused", build(func(_ *inventory.Host, p *inventory.Profile) { p.Kernel = "" }), nil, nil, true},
		{"kernel outside root refused", build(func(_ *inventory.Host, p *inventory.Profile) { p.Kernel = "../../etc/shadow" }), nil, nil, true},
		{"initrd absolute refused", build(func(_ *inventory.Host, p *inventory.Profile) { p.Initrd = "/boot/initrd.img" }), nil, nil, true},
		{"iPXE expansion in args refused", build(func(h *inventory.Host, _ *inventory.Profile) { h.Params[ParamKernelArgs] = "x=${net0/ip}" }), nil, nil, true},
		{"command chaining refused", build(func(_ *inventory.Host, p *inventory.Profile) { p.KernelArgs = "a || shell" }), nil, nil, true},
		{"newline in args refused", build(func(h *inventory.Host, _ *inventory.Profile) { h.Params[ParamConsole] = "tty0\nLABEL evil" }), nil, nil, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if tc.name == "no profile refused" {
				tc.in.Profile = nil
			}
			pxe, perr := PXELinuxConfig(tc.in)
			ipxe, ierr := IPXEScript(tc.in)
			if tc.wantRefused {
				if !errors.Is(perr, ErrNoInstall) || !errors.Is(ierr, ErrNoInstall) {
					t.Fatalf("want ErrNoInstall from both, got %v / %v\n%s\n%s", perr, ierr, pxe, ipxe)
				}
				return
			}
			if perr != nil || ierr != nil {
				t.Fatalf("unexpected errors: %v / %v", perr, ierr)
			}
			for _, s := range tc.wantPXE {
				if !strings.Contains(pxe, s) {
					t.Errorf("pxelinux config lacks %q:\n%s", s, pxe)
				}
			}
			for _, s := range tc.wantIPXE {
				if !strings.Contains(ipxe, s) {
					t.Errorf("iPXE script lacks %q:\n%s", s, ipxe)
				}
			}
			if !strings.HasPrefix(ipxe, "#!ipxe\n") {
				t.Errorf("iPXE script must start with #!ipxe:\n%s", ipxe)
			}
		})
	}
}

func TestKickstartURL(t *testing.T) {
	tests := []struct{ name, server, mac, token, want string }{
		{"no token", "http://192.0.2.1:8080", "52:54:00:00:a0:01", "", "http://192.0.2.1:8080/ks/52:54:00:00:a0:01"},
		{"token escaped", "http://192.0.2.1/", "52:54:00:00:a0:01", "a b+/&", "http://192.0.2.1/ks/52:54:00:00:a0:01?token=a+b%2B%2F%26"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := KickstartURL(tc.server, tc.mac, tc.token); got != tc.want {
				t.Fatalf("got %q want %q", got, tc.want)
			}
		})
	}
}

func TestGeneratedName(t *testing.T) {
	tests := []struct {
		name, in string
		kind     Generated
		mac      string
	}{
		{"per-MAC file", "pxelinux.cfg/01-52-54-00-00-a0-01", PXELinuxHost, "52:54:00:00:a0:01"},
		{"upper-case MAC", "pxelinux.cfg/01-52-54-00-00-A0-01", PXELinuxHost, "52:54:00:00:a0:01"},
		{"default", "pxelinux.cfg/default", PXELinuxFallback, ""},
		{"UUID file is not generated", "pxelinux.cfg/564d0a2b-0000-0000-0000-000000000000", NotGenerated, ""},
		{"hex IP file is not generated", "pxelinux.cfg/C000020A", NotGenerated, ""},
		{"bad MAC is not generated", "pxelinux.cfg/01-zz-54-00-00-a0-01", NotGenerated, ""},
		{"other hardware type", "pxelinux.cfg/06-52-54-00-00-a0-01", NotGenerated, ""},
		{"other directory", "x/pxelinux.cfg/default", NotGenerated, ""},
		{"plain file", "pxelinux.0", NotGenerated, ""},
		{"UEFI local-boot file", "netkick-local-boot", LocalBootFile, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			k, mac := GeneratedName(tc.in)
			if k != tc.kind || mac != tc.mac {
				t.Fatalf("GeneratedName(%q) = %v, %q; want %v, %q", tc.in, k, mac, tc.kind, tc.mac)
			}
		})
	}
}

func TestKickstartArg(t *testing.T) {
	for _, c := range []struct {
		name, os, version, want string
	}{
		{"CentOS 5 reads ks=", "centos", "5.3", "ks="},
		{"CentOS 6 reads ks=", "centos", "6.10", "ks="},
		{"CentOS 7 reads inst.ks=", "centos", "7.9", "inst.ks="},
		{"Rocky 8 reads inst.ks=", "rocky", "8.10", "inst.ks="},
		{"RHEL 9 needs the inst. prefix", "rhel", "9.4", "inst.ks="},
		{"Fedora 40 reads inst.ks=", "fedora", "40", "inst.ks="},
		{"Fedora 14 reads ks=", "fedora", "14", "ks="},
		{"unparsable version keeps ks=", "centos", "stream", "ks="},
		{"other systems keep ks=", "debian", "12", "ks="},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := KickstartArg(c.os, c.version); got != c.want {
				t.Fatalf("KickstartArg(%q, %q) = %q, want %q", c.os, c.version, got, c.want)
			}
		})
	}
}
