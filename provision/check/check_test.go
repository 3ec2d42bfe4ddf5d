package check

import (
	"net/netip"
	"strings"
	"testing"

	"github.com/netkick/netkick/inventory"
)

func host(name, mac, profile string) inventory.Host {
	return inventory.Host{Hostname: name, MACs: []string{mac}, Profile: profile, State: inventory.StateReady}
}

// good is an installation with nothing wrong: one BIOS host, one UEFI host.
func good() Facts {
	uefi := host("b01", "52:54:00:00:00:02", "c7")
	uefi.Arch = "efi-x86_64"
	uefi.IP = "192.0.2.21"
	f := Facts{
		BootRoot: "/srv/boot",
		Hosts:    []inventory.Host{host("a01", "52:54:00:00:00:01", "c7"), uefi},
		Profiles: []inventory.Profile{{Name: "c7", OS: "centos", Version: "7.9", Kernel: "c7/vmlinuz", Initrd: "c7/initrd.img"}},
		Files: map[string]File{
			"c7/vmlinuz": {Exists: true, Size: 10}, "c7/initrd.img": {Exists: true, Size: 10},
			"pxelinux.0": {Exists: true, Size: 10}, "ldlinux.c32": {Exists: true, Size: 10}, "ipxe.efi": {Exists: true, Size: 10},
		},
		Renders: []Render{{Host: "a01", Kind: "kickstart", Text: []byte(validKS)}, {Host: "b01", Kind: "kickstart", Text: []byte(validKS)}},
		DHCP: DHCP{Mode: "full", Interface: "eth1", InterfaceExists: true,
			InterfaceAddrs: []netip.Prefix{netip.MustParsePrefix("192.0.2.1/24")},
			Subnets:        []Subnet{{CIDR: netip.MustParsePrefix("192.0.2.0/24")}}},
		Ports: []Port{{Name: "http", Addr: ":8080", Bindable: true}, {Name: "tftp", Addr: ":69", HeldBySelf: true, Holder: "pid 1 (netkick)"}},
		Token: &TokenFile{Path: "/srv/admin.token", Exists: true, Mode: 0o600},
		Store: &Store{Path: "/srv/inventory.db", Integrity: []string{"ok"}},
	}
	return f
}

const validKS = `install
url --url=http://netkick.invalid/boot/c7/os/
lang en_US.UTF-8
keyboard us
rootpw --iscrypted $6$x$y
timezone America/Toronto
bootloader --location=mbr
autopart
reboot
%pre
echo
%end
%post
echo
%end
`

func TestNeeded(t *testing.T) {
	f := good()
	got := strings.Join(Needed(f.Hosts, f.Profiles), " ")
	if want := "c7/initrd.img c7/vmlinuz ipxe.efi ldlinux.c32 pxelinux.0"; got != want {
		t.Fatalf("Needed = %q, want %q", got, want)
	}
}

func TestRun(t *testing.T) {
	tests := []struct {
		name  string
		spoil func(*Facts)
		want  []string // substrings of the one-line forms, one per problem, in order
	}{
		{"nothing wrong", func(*Facts) {}, nil},
		{"kernel missing", func(f *Facts) { f.Files["c7/vmlinuz"] = File{} },
			[]string{"profile-files profile c7: kernel /srv/boot/c7/vmlinuz is missing from the boot root; fix: run `netkick profile fetch c7`"}},
		{"initrd empty", func(f *Facts) { f.Files["c7/initrd.img"] = File{Exists: true} },
			[]string{"profile-files profile c7: initrd /srv/boot/c7/initrd.img is empty"}},
		{"profile without kernel", func(f *Facts) { f.Profiles[0].Kernel = "" },
			[]string{"profile-files profile c7: no kernel set", "render host a01: pxelinux config:", "render host b01: pxelinux config:"}},
		{"GRUB config does not render", func(f *Facts) {
			f.Profiles[0].BootLoader, f.Profiles[0].Kernel = "grub", "https://mirror.example/c7/vmlinuz"
			f.Files["shimx64.efi"], f.Files["grubx64.efi"] = File{Exists: true, Size: 1}, File{Exists: true, Size: 1}
		}, []string{"render host a01: GRUB config: ", "render host b01: GRUB config: "}},
		{"kickstart does not render", func(f *Facts) { f.Renders[0] = Render{Host: "a01", Kind: "kickstart", Err: "template: no such key"} },
			[]string{"render host a01: kickstart: template: no such key; fix:"}},
		{"kickstart fails lint", func(f *Facts) { f.Renders[1].Text = []byte(validKS + "bogus-command\n") },
			[]string{`lint host b01: kickstart: line 16: error: unknown command "bogus-command"`}},
		{"BIOS loader missing", func(f *Facts) { f.Files["pxelinux.0"] = File{} },
			[]string{"loader pxelinux.0: /srv/boot/pxelinux.0 is missing; firmware bios of a01 asks for it; fix: run `netkick bootfiles`"}},
		{"UEFI loader empty", func(f *Facts) { f.Files["ipxe.efi"] = File{Exists: true} },
			[]string{"loader ipxe.efi: /srv/boot/ipxe.efi is empty; firmware efi-x86_64 of b01"}},
		{"dhcp interface missing", func(f *Facts) { f.DHCP.InterfaceExists, f.DHCP.InterfaceAddrs = false, nil },
			[]string{"dhcp interface eth1: does not exist; fix: name an existing interface"}},
		{"dhcp interface not in subnet", func(f *Facts) { f.DHCP.InterfaceAddrs = []netip.Prefix{netip.MustParsePrefix("198.51.100.1/24")} },
			[]string{"dhcp subnet 192.0.2.0/24: interface eth1 holds no address in it"}},
		{"relayed subnet needs no address", func(f *Facts) {
			f.DHCP.Subnets = append(f.DHCP.Subnets, Subnet{CIDR: netip.MustParsePrefix("198.51.100.0/24"), Relayed: true})
		}, nil},
		{"dhcp config refused", func(f *Facts) {
			f.DHCP.ConfigErrors = []string{`dhcp.subnets[0]: pool "192.0.3.1-192.0.3.9": must lie inside 192.0.2.0/24`}
		}, []string{`dhcp config: dhcp.subnets[0]: pool "192.0.3.1-192.0.3.9": must lie inside`}},
		{"reservation outside subnets", func(f *Facts) { f.Hosts[1].IP = "198.51.100.7" },
			[]string{"dhcp host b01: reserved address 198.51.100.7 is in no served subnet (192.0.2.0/24); fix: `netkick host set b01 --ip ADDR`"}},
		{"dhcp off checks nothing", func(f *Facts) { f.DHCP = DHCP{Mode: "off", Interface: "nosuch"} }, nil},
		{"port taken", func(f *Facts) {
			f.Ports[0] = Port{Name: "http", Addr: ":8080", Err: "address already in use", Holder: "pid 9 (nginx)"}
		},
			[]string{"port http :8080: cannot be bound: address already in use (held by pid 9 (nginx)); fix: stop what holds it or choose another address with --http"}},
		{"port needs privileges", func(f *Facts) { f.Ports[1] = Port{Name: "tftp", Addr: ":69", Err: "permission denied"} },
			[]string{"port tftp :69: cannot be bound: permission denied; fix: run netkick serve as root or with CAP_NET_BIND_SERVICE"}},
		{"token readable by others", func(f *Facts) { f.Token.Mode = 0o644 },
			[]string{"token-file /srv/admin.token: mode 0644 lets others read the admin token; fix: chmod 600 /srv/admin.token"}},
		{"token not made yet", func(f *Facts) { f.Token = &TokenFile{Path: "/srv/admin.token"} }, nil},
		{"store corrupt", func(f *Facts) {
			f.Store.Integrity = []string{"row 3 missing from index x", "wrong # of entries in index x"}
		},
			[]string{"store /srv/inventory.db: integrity check: row 3 missing from index x", "store /srv/inventory.db: integrity check: wrong # of entries"}},
		{"store does not open", func(f *Facts) { f.Store = &Store{Path: "/srv/inventory.db", OpenErr: "file is not a database"} },
			[]string{"store /srv/inventory.db: file is not a database; fix: stop netkick, restore"}},
		{"Secure Boot loader and kernel of one vendor", func(f *Facts) {
			f.SecureBoot = []SecureBoot{{Profile: "c7", LoaderVendor: "CentOS", KernelVendor: "CentOS"}}
		}, nil},
		{"Secure Boot loader and kernel of different vendors", func(f *Facts) {
			f.SecureBoot = []SecureBoot{{Profile: "c7", LoaderVendor: "Debian", KernelVendor: "CentOS"}}
		}, []string{"secure-boot profile c7: Secure Boot loader (shim) is Debian's but the kernel is signed by CentOS: shim will refuse the kernel; fix: use the profile's own shim"}},
		{"Secure Boot vendor unknown is not judged", func(f *Facts) {
			f.SecureBoot = []SecureBoot{{Profile: "c7", LoaderVendor: "Debian"}}
		}, nil},
		{"discovery files present", func(f *Facts) {
			f.Discovery = &Discovery{Kernel: "discovery/vmlinuz", Initrd: "discovery/initrd.img"}
			f.Files["discovery/vmlinuz"], f.Files["discovery/initrd.img"] = File{Exists: true, Size: 1}, File{Exists: true, Size: 1}
		}, nil},
		{"discovery initrd missing, kernel empty", func(f *Facts) {
			f.Discovery = &Discovery{Kernel: "discovery/vmlinuz", Initrd: "discovery/initrd.img"}
			f.Files["discovery/vmlinuz"], f.Files["discovery/initrd.img"] = File{Exists: true}, File{}
		}, []string{"discovery discovery.kernel: /srv/boot/discovery/vmlinuz is empty; fix: run `netkick discovery initramfs",
			"discovery discovery.initrd: /srv/boot/discovery/initrd.img is missing from the boot root"}},
		{"extra check runs", func(f *Facts) {
			f.Extra = []func(Facts) []Problem{func(Facts) []Problem { return []Problem{{"extra", "x", "y", "z"}} }}
		}, []string{"extra x: y; fix: z"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := good()
			tc.spoil(&f)
			got := Run(f)
			if len(got) != len(tc.want) {
				t.Fatalf("got %d problems, want %d:\n%s", len(got), len(tc.want), lines(got))
			}
			for i, w := range tc.want {
				if !strings.Contains(got[i].String(), w) {
					t.Errorf("problem %d = %q, want it to contain %q", i, got[i], w)
				}
				if got[i].Fix == "" {
					t.Errorf("problem %d has no fix", i)
				}
			}
		})
	}
}

func lines(ps []Problem) string {
	var b strings.Builder
	for _, p := range ps {
		b.WriteString(p.String() + "\n")
	}
	return b.String()
}

func TestUsesGRUB(t *testing.T) {
	hs := []inventory.Host{host("a01", "52:54:00:00:00:01", "p1"), host("b01", "52:54:00:00:00:02", "p2")}
	hs[1].Params = map[string]string{"bootloader": "grub"}
	ps := []inventory.Profile{{Name: "p1"}, {Name: "p2"}, {Name: "p3", BootLoader: "grub"}}
	var got []string
	for _, p := range UsesGRUB(hs, ps) {
		got = append(got, p.Name)
	}
	if strings.Join(got, " ") != "p2 p3" {
		t.Fatalf("UsesGRUB = %v, want [p2 p3]", got)
	}
}

func TestProblemIsOneLine(t *testing.T) {
	p := Problem{"store", "/srv/inventory.db", "corrupt (*** in database main ***\nTree 2 page 2: bad\n", "restore it"}
	if got, want := p.String(), "store /srv/inventory.db: corrupt (*** in database main *** / Tree 2 page 2: bad; fix: restore it"; got != want {
		t.Fatalf("String() = %q, want %q", got, want)
	}
}
