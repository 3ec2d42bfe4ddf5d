package boot

import (
	"errors"
	"net/netip"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/netkick/netkick/internal/testenv"
	"github.com/netkick/netkick/inventory"
)

// TestGoldenGRUB renders the GRUB config of every demo host in and out of
// build mode, the dispatcher, and an EL7 profile with its own shim (linuxefi).
func TestGoldenGRUB(t *testing.T) {
	const server = "http://192.0.2.1:8080"
	for _, state := range []inventory.State{inventory.StateBuild, inventory.StateInstalled} {
		for _, h := range demoHosts(state) {
			in := ConfigInput{MAC: h.ID(), Host: h, Profile: demoProfiles()[h.Profile], BaseURL: server}
			if Installs(h) {
				in.Token = "token-of-" + h.Hostname
			}
			name := h.Hostname + "-" + string(state) + ".grub"
			t.Run(name, func(t *testing.T) {
				got, err := GRUBConfig(in)
				if err != nil {
					t.Fatal(err)
				}
				golden(t, name, got)
			})
		}
	}
	t.Run("unknown.grub", func(t *testing.T) {
		got, err := GRUBConfig(ConfigInput{MAC: "52:54:00:ff:ff:ff", BaseURL: server})
		if err != nil {
			t.Fatal(err)
		}
		golden(t, "unknown.grub", got)
	})
	t.Run("dispatch.grub", func(t *testing.T) { golden(t, "dispatch.grub", GRUBDispatch()) })
	t.Run("b02-build-own-shim-linuxefi.grub", func(t *testing.T) {
		h := demoHosts(inventory.StateBuild)[3]
		p := demoProfiles()[h.Profile]
		p.Shim, p.KernelArgs = "centos-7.9/shimx64.efi", "inst.text"
		h.Params = map[string]string{ParamConsole: "ttyS0,115200n8"}
		got, err := GRUBConfig(ConfigInput{MAC: h.ID(), Host: h, Profile: p, BaseURL: server, Token: "t0k+/="})
		if err != nil {
			t.Fatal(err)
		}
		golden(t, "b02-build-own-shim.grub", got)
	})
}

func TestGRUBConfigDecisions(t *testing.T) {
	build := func(mut func(h *inventory.Host, p *inventory.Profile)) ConfigInput {
		h := demoHost("a01", "52:54:00:00:a0:01", "centos-5.3", inventory.StateBuild, map[string]string{})
		p := demoProfile()
		mut(h, p)
		return ConfigInput{MAC: h.ID(), Host: h, Profile: p, BaseURL: "http://192.0.2.1:8080", Token: "tok"}
	}
	tests := []struct {
		name        string
		in          ConfigInput
		want        []string
		wantNot     []string
		wantRefused bool
	}{
		{"build gets linux and initrd from the TFTP root", build(func(*inventory.Host, *inventory.Profile) {}),
			[]string{"  linux '/centos-5.3/vmlinuz' 'ks=http://192.0.2.1:8080/ks/52:54:00:00:a0:01?token=tok' 'ksdevice=bootif' 'text' 'BOOTIF=01-52-54-00-00-a0-01'\n", "  initrd '/centos-5.3/initrd.img'\n", "set timeout=0"},
			[]string{"linuxefi", "exit"}, false},
		{"installing still installs", build(func(h *inventory.Host, _ *inventory.Profile) { h.State = inventory.StateInstalling }),
			[]string{"menuentry 'netkick: install centos-5.3'"}, nil, false},
		{"installed boots the disk's shim or exits", build(func(h *inventory.Host, _ *inventory.Profile) { h.State = inventory.StateInstalled }),
			[]string{"chainloader ($esp)/EFI/BOOT/BOOTX64.EFI", "\nexit 1\n"}, []string{"linux", "ks="}, false},
		{"failed boots locally", build(func(h *inventory.Host, _ *inventory.Profile) { h.State = inventory.StateFailed }),
			[]string{"exit 1"}, []string{"ks="}, false},
		{"unknown boots locally", ConfigInput{MAC: "52:54:00:ff:ff:ff"},
			[]string{"unknown host 52:54:00:ff:ff:ff", "exit 1"}, []string{"ks="}, false},
		{"EL7 with its own shim uses linuxefi", build(func(_ *inventory.Host, p *inventory.Profile) { p.Version, p.Shim = "7.9", "c7/shimx64.efi" }),
			[]string{"  linuxefi '/centos-5.3/vmlinuz'", "  initrdefi '/centos-5.3/initrd.img'"}, nil, false},
		{"EL8 with its own shim uses linuxefi", build(func(_ *inventory.Host, p *inventory.Profile) {
			p.OS, p.Version, p.Shim = "rocky", "8.10", "r8/shimx64.efi"
		}),
			[]string{"  linuxefi "}, nil, false},
		{"EL9 with its own shim uses linux", build(func(_ *inventory.Host, p *inventory.Profile) {
			p.OS, p.Version, p.Shim = "rocky", "9.4", "r9/shimx64.efi"
		}),
			[]string{"  linux "}, []string{"linuxefi"}, false},
		{"EL7 through the machine's (Debian) GRUB uses linux", build(func(_ *inventory.Host, p *inventory.Profile) { p.Version = "7.9" }),
			[]string{"  linux "}, []string{"linuxefi"}, false},
		{"console and host args quoted one word each", build(func(h *inventory.Host, _ *inventory.Profile) {
			h.Params[ParamConsole] = "ttyS0,115200n8"
			h.Params[ParamKernelArgs] = "nomodeset a=b"
		}), []string{"'text' 'console=ttyS0,115200n8' 'nomodeset' 'a=b'"}, nil, false},
		{"HTTP kernel becomes GRUB's http device", build(func(_ *inventory.Host, p *inventory.Profile) { p.Kernel = "http://mirror.example/os/vmlinuz" }),
			[]string{"linux '(http,mirror.example)/os/vmlinuz'"}, nil, false},
		{"HTTP kernel on another port refused", build(func(_ *inventory.Host, p *inventory.Profile) { p.Kernel = "http://mirror.example:8080/os/vmlinuz" }), nil, nil, true},
		{"HTTPS kernel refused", build(func(_ *inventory.Host, p *inventory.Profile) { p.Initrd = "https://mirror.example/os/initrd.img" }), nil, nil, true},
		{"quote in a file name refused", build(func(_ *inventory.Host, p *inventory.Profile) { p.Kernel = "c/it's" }), nil, nil, true},
		{"dollar in a file name refused", build(func(_ *inventory.Host, p *inventory.Profile) { p.Initrd = "c/$root" }), nil, nil, true},
		{"GRUB expansion in args refused", build(func(h *inventory.Host, _ *inventory.Profile) { h.Params[ParamKernelArgs] = "x=$prefix" }), nil, nil, true},
		{"quote in args refused", build(func(h *inventory.Host, _ *inventory.Profile) { h.Params[ParamKernelArgs] = "a' ; reboot '" }), nil, nil, true},
		{"kernel outside the root refused", build(func(_ *inventory.Host, p *inventory.Profile) { p.Kernel = "../vmlinuz" }), nil, nil, true},
		{"no profile refused", build(func(h *inventory.Host, _ *inventory.Profile) { h.Profile = "" }), nil, nil, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if tc.name == "no profile refused" {
				tc.in.Profile = nil
			}
			got, err := GRUBConfig(tc.in)
			if tc.wantRefused {
				if !errors.Is(err, ErrNoInstall) {
					t.Fatalf("want ErrNoInstall, got %v:\n%s", err, got)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			for _, s := range tc.want {
				if !strings.Contains(got, s) {
					t.Errorf("config lacks %q:\n%s", s, got)
				}
			}
			for _, s := range tc.wantNot {
				if strings.Contains(got, s) {
					t.Errorf("config has %q:\n%s", s, got)
				}
			}
		})
	}
}

func TestGRUBConfigNames(t *testing.T) {
	tests := []struct {
		name, in string
		kind     Generated
		key      string
	}{
		{"EL grub2 per MAC", "grub.cfg-01-52-54-00-00-a0-01", GRUBHost, "52:54:00:00:a0:01"},
		{"EL grub2 per MAC in its directory", "centos-7.9/grub.cfg-01-52-54-00-00-A0-01", GRUBHost, "52:54:00:00:a0:01"},
		{"upstream per MAC without 01-", "grub.cfg-52-54-00-00-a0-01", GRUBHost, "52:54:00:00:a0:01"},
		{"$net_default_mac dispatch with colons", "grub/grub.cfg-52:54:00:00:a0:01", GRUBHost, "52:54:00:00:a0:01"},
		{"full hex address", "grub.cfg-C000020A", GRUBAddress, "192.0.2.10"},
		{"lower-case hex address", "EFI/BOOT/grub.cfg-c000020a", GRUBAddress, "192.0.2.10"},
		{"shortened hex address identifies nobody", "grub.cfg-C000020", NotGenerated, ""},
		{"shortest hex", "grub.cfg-C", NotGenerated, ""},
		{"Debian grubnetx64's config", "grub/grub.cfg", GRUBAddress, ""},
		{"EL's last try", "grub.cfg", GRUBAddress, ""},
		{"bad MAC", "grub.cfg-01-zz-54-00-00-a0-01", NotGenerated, ""},
		{"other hardware type", "grub.cfg-06-52-54-00-00-a0-01", NotGenerated, ""},
		{"module list is a disk file", "grub/x86_64-efi/command.lst", NotGenerated, ""},
		{"similar name", "grub/grub.cfg.bak", NotGenerated, ""},
		{"shim", "shimx64.efi", NotGenerated, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			k, key := GeneratedName(tc.in)
			if k != tc.kind || key != tc.key {
				t.Fatalf("GeneratedName(%q) = %v, %q; want %v, %q", tc.in, k, key, tc.kind, tc.key)
			}
		})
	}
}

func TestGRUBRequester(t *testing.T) {
	tests := []struct {
		name, named, client, want string
		ok                        bool
	}{
		{"plain grub.cfg is the requester's", "", "192.0.2.10", "192.0.2.10", true},
		{"own address in hex", "192.0.2.10", "192.0.2.10", "192.0.2.10", true},
		{"another machine's address refused", "192.0.2.11", "192.0.2.10", "", false},
		{"no client address", "", "", "", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := GRUBRequester(tc.named, tc.client)
			if got != tc.want || ok != tc.ok {
				t.Fatalf("GRUBRequester(%q, %q) = %q, %v; want %q, %v", tc.named, tc.client, got, ok, tc.want, tc.ok)
			}
		})
	}
}

func TestDecideDHCPGRUB(t *testing.T) {
	srv := DHCPServer{IP: "192.0.2.1", HTTPPort: 8080}
	mac := "52:54:00:12:34:56"
	pxeOpt := PXEVendorBootFile()
	grub := &inventory.Profile{Name: "deb", BootLoader: "grub"}
	own := &inventory.Profile{Name: "r9", BootLoader: "grub", Shim: "r9/shimx64.efi"}
	building := &inventory.Host{MACs: []string{mac}, Hostname: "a01", Profile: "deb", State: inventory.StateBuild}
	installed := &inventory.Host{MACs: []string{mac}, Hostname: "a01", Profile: "deb", State: inventory.StateInstalled}
	hostParam := &inventory.Host{MACs: []string{mac}, Hostname: "a01", State: inventory.StateBuild, Params: map[string]string{"bootloader": "grub"}}
	uefi := DHCPRequest{MAC: mac, Arch: []uint16{7}, VendorClass: "PXEClient:Arch:00007:UNDI:003000"}
	tests := []struct {
		name string
		req  DHCPRequest
		host *inventory.Host
		prof *inventory.Profile
		want DHCPBoot
	}{
		{"UEFI PXE with grub profile gets shim", uefi, building, grub,
			DHCPBoot{NetBoot: true, Firmware: "efi-x86_64", File: "shimx64.efi", NextServer: "192.0.2.1", VendorClass: "PXEClient", PXEVendor: pxeOpt}},
		{"host param grub without profile loader gets shim", uefi, hostParam, nil,
			DHCPBoot{NetBoot: true, Firmware: "efi-x86_64", File: "shimx64.efi", NextServer: "192.0.2.1", VendorClass: "PXEClient", PXEVendor: pxeOpt}},
		{"profile's own shim", uefi, building, own,
			DHCPBoot{NetBoot: true, Firmware: "efi-x86_64", File: "r9/shimx64.efi", NextServer: "192.0.2.1", VendorClass: "PXEClient", PXEVendor: pxeOpt}},
		{"UEFI HTTP boot gets shim by URL", DHCPRequest{MAC: mac, Arch: []uint16{16}, VendorClass: "HTTPClient:Arch:00016:UNDI:003001"}, building, grub,
			DHCPBoot{NetBoot: true, Firmware: "efi-x86_64-http", File: "http://192.0.2.1:8080/boot/shimx64.efi", VendorClass: "HTTPClient"}},
		{"installed host's firmware goes to its disk", uefi, installed, grub,
			DHCPBoot{NetBoot: true, Firmware: "efi-x86_64", File: FileLocalBoot, NextServer: "192.0.2.1", VendorClass: "PXEClient", PXEVendor: pxeOpt, LocalBoot: true}},
		{"BIOS with grub profile still gets pxelinux", DHCPRequest{MAC: mac, Arch: []uint16{0}, VendorClass: "PXEClient:Arch:00000:UNDI:002001"}, building, grub,
			DHCPBoot{NetBoot: true, Firmware: "bios", File: "pxelinux.0", NextServer: "192.0.2.1", VendorClass: "PXEClient", PXEVendor: pxeOpt}},
		{"iPXE already running keeps its script", DHCPRequest{MAC: mac, Arch: []uint16{7}, VendorClass: "PXEClient:Arch:00007:UNDI:003016", UserClass: []string{"iPXE"}}, building, grub,
			DHCPBoot{NetBoot: true, Firmware: "efi-x86_64", IPXE: true, File: "http://192.0.2.1:8080/boot.ipxe?mac=52-54-00-12-34-56&platform=efi", VendorClass: "PXEClient"}},
		{"ARM64 with grub profile gets iPXE (no arm64 shim served)", DHCPRequest{MAC: mac, Arch: []uint16{11}, VendorClass: "PXEClient:Arch:00011:UNDI:003000"}, building, grub,
			DHCPBoot{NetBoot: true, Firmware: "efi-arm64", File: "ipxe-arm64.efi", NextServer: "192.0.2.1", VendorClass: "PXEClient", PXEVendor: pxeOpt}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := DecideDHCP(tc.req, tc.host, tc.prof, srv); !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("got  %+v\nwant %+v", got, tc.want)
			}
		})
	}
}

func TestLoaderStalled(t *testing.T) {
	t0 := time.Date(2026, 12, 1, 8, 0, 0, 0, time.UTC)
	ev := func(sec int, kind, detail string) inventory.Event {
		return inventory.Event{Time: t0.Add(time.Duration(sec) * time.Second), Kind: kind, Detail: detail}
	}
	ipxeSent := ev(2, "tftp", "sent ipxe.efi (1032192 bytes, 3.1s) to 192.0.2.59")
	ipxeHint := "loader fetched, nothing further: a Secure Boot refusal is the usual cause; use the grub loader"
	tests := []struct {
		name string
		evs  []inventory.Event
		now  int
		want string
	}{
		{"iPXE fetched, then only the firmware's DHCP", []inventory.Event{ev(0, "dhcp-ack", "192.0.2.59 efi-x86_64 ipxe.efi"), ipxeSent,
			ev(10, "dhcp-ack", "192.0.2.59 efi-x86_64-http http://192.0.2.1:8080/boot/ipxe.efi")}, 40, ipxeHint},
		{"too early to tell", []inventory.Event{ipxeSent}, 20, ""},
		{"iPXE ran: it asked DHCP for its script", []inventory.Event{ipxeSent,
			ev(8, "dhcp-ack", "192.0.2.59 efi-x86_64 http://192.0.2.1:8080/boot.ipxe?mac=52-54-00-4e-54-09&platform=efi")}, 60, ""},
		{"iPXE ran: its script was served", []inventory.Event{ipxeSent, ev(9, "ipxe", "served boot.ipxe (install entry) to 192.0.2.59")}, 60, ""},
		{"said once", []inventory.Event{ipxeSent, ev(40, EventKindHint, ipxeHint)}, 90, ""},
		{"fetched again after the hint: said again", []inventory.Event{ipxeSent, ev(40, EventKindHint, ipxeHint), ev(50, "tftp", "sent snponly.efi (1 bytes, 1s) to x")}, 90, ipxeHint},
		{"shim without GRUB", []inventory.Event{ev(1, "tftp", "sent r9/shimx64.efi (100 bytes, 1s) to 192.0.2.61")}, 40,
			"shim fetched, nothing further: the firmware refused shim (is Microsoft's UEFI CA in its db?) or grubx64.efi is missing beside it"},
		{"shim then GRUB: the chain runs", []inventory.Event{ev(1, "tftp", "sent shimx64.efi (100 bytes, 1s) to x"), ev(3, "tftp", "sent grubx64.efi (100 bytes, 1s) to x")}, 60, ""},
		{"pxelinux is not judged", []inventory.Event{ev(1, "tftp", "sent pxelinux.0 (100 bytes, 1s) to x")}, 60, ""},
		{"the same loader again over HTTP boot is not progress", []inventory.Event{ipxeSent,
			ev(12, "http-boot", "served ipxe.efi (850528 bytes) to 192.0.2.59")}, 50, ipxeHint},
		{"HTTP boot fetch of the loader, quiet long enough since", []inventory.Event{ipxeSent,
			ev(12, "http-boot", "served ipxe.efi (850528 bytes) to 192.0.2.59")}, 35, ""},
		{"failed transfer is not a fetch", []inventory.Event{ev(1, "tftp", "failed ipxe.efi to x after 0 bytes: timeout")}, 60, ""},
		{"empty timeline", nil, 60, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := LoaderStalled(tc.evs, t0.Add(time.Duration(tc.now)*time.Second), StallQuiet); got != tc.want {
				t.Fatalf("got %q\nwant %q", got, tc.want)
			}
		})
	}
}

func TestSecureBootMismatch(t *testing.T) {
	tests := []struct {
		name, loader, kernel string
		mismatch             bool
	}{
		{"Debian shim, Debian kernel", "Debian", "Debian", false},
		{"Debian shim, Red Hat kernel", "Debian", "Red Hat", true},
		{"Rocky shim, Red Hat kernel", "Rocky Linux", "Red Hat", true},
		{"unknown loader is not judged", "", "Red Hat", false},
		{"unknown kernel is not judged", "Debian", "", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := SecureBootMismatch("p", tc.loader, tc.kernel)
			if (got != "") != tc.mismatch {
				t.Fatalf("SecureBootMismatch(%q, %q) = %q; want mismatch %v", tc.loader, tc.kernel, got, tc.mismatch)
			}
			if tc.mismatch && !strings.Contains(got, "netkick profile fetch p") {
				t.Fatalf("no remedy in %q", got)
			}
		})
	}
}

// TestSecureBootVendorDebian reads the vendor out of the real signed files
// of Debian's shim-signed and grub-efi-amd64-signed.
func TestSecureBootVendorDebian(t *testing.T) {
	for _, f := range []struct{ pkg, path string }{
		{"shim-signed", "/usr/lib/shim/shimx64.efi.signed"},
		{"grub-efi-amd64-signed", "/usr/lib/grub/x86_64-efi-signed/grubnetx64.efi.signed"},
	} {
		t.Run(f.pkg, func(t *testing.T) {
			b, err := os.ReadFile(f.path)
			if err != nil {
				testenv.Missing(t, "Debian package "+f.pkg+" ("+f.path+")")
			}
			if got := SecureBootVendor(b); got != "Debian" {
				t.Fatalf("SecureBootVendor(%s) = %q, want Debian", f.path, got)
			}
		})
	}
	if got := SecureBootVendor([]byte("MZ plain unsigned image")); got != "" {
		t.Fatalf("unsigned image: %q", got)
	}
}

// FuzzGeneratedName: any cleaned name a TFTP or HTTP client can send is
// classified without panicking; a generated GRUB name's key is a canonical
// MAC or a dotted IPv4 address, and the same name classifies the same way.
func FuzzGeneratedName(f *testing.F) {
	for _, s := range []string{"grub/grub.cfg", "grub.cfg-01-52-54-00-00-a0-01", "grub.cfg-52:54:00:00:a0:01", "grub.cfg-C000020A", "grub.cfg-C0",
		"x/grub.cfg-", "pxelinux.cfg/01-52-54-00-00-a0-01", "grub.cfg-01-zz", "/grub/grub.cfg", "grub.cfg-ffffffff"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		clean, err := CleanPath(TFTPName(in))
		if err != nil {
			return
		}
		kind, key := GeneratedName(clean)
		switch kind {
		case GRUBHost, PXELinuxHost:
			if m, err := inventory.NormalizeMAC(key); err != nil || m != key {
				t.Fatalf("GeneratedName(%q) = %v with key %q: not a canonical MAC", clean, kind, key)
			}
		case GRUBAddress:
			if key != "" {
				if a, err := netip.ParseAddr(key); err != nil || !a.Is4() {
					t.Fatalf("GeneratedName(%q) = GRUBAddress with key %q: not an IPv4 address", clean, key)
				}
			}
		}
		if k2, key2 := GeneratedName(clean); k2 != kind || key2 != key {
			t.Fatalf("GeneratedName(%q) not stable", clean)
		}
	})
}
