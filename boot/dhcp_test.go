package boot

import (
	"reflect"
	"testing"

	"github.com/netkick/netkick/inventory"
)

func TestDecideDHCP(t *testing.T) {
	srv := DHCPServer{IP: "192.0.2.1", HTTPPort: 8080}
	mac := "52:54:00:12:34:56"
	pxelinux := &inventory.Profile{Name: "c7", BootLoader: "pxelinux"}
	ipxe := &inventory.Profile{Name: "c7i", BootLoader: "ipxe"}
	snp := &inventory.Profile{Name: "c7s", BootLoader: "snponly"}
	pxeOpt := []byte{6, 1, 8, 255}
	installed := &inventory.Host{MACs: []string{mac}, Hostname: "a01", Profile: "c7", State: inventory.StateInstalled}
	building := &inventory.Host{MACs: []string{mac}, Hostname: "a01", Profile: "c7", State: inventory.StateBuild}
	tests := []struct {
		name string
		req  DHCPRequest
		host *inventory.Host
		prof *inventory.Profile
		want DHCPBoot
	}{
		{
			name: "plain DHCP client gets no boot file",
			req:  DHCPRequest{MAC: mac, VendorClass: "udhcp 1.35.0"},
			want: DHCPBoot{},
		},
		{
			name: "BIOS without profile gets pxelinux",
			req:  DHCPRequest{MAC: mac, Arch: []uint16{0}, VendorClass: "PXEClient:Arch:00000:UNDI:002001"},
			want: DHCPBoot{NetBoot: true, Firmware: "bios", File: "pxelinux.0", NextServer: "192.0.2.1", VendorClass: "PXEClient", PXEVendor: pxeOpt},
		},
		{
			name: "BIOS with pxelinux profile gets pxelinux",
			req:  DHCPRequest{MAC: mac, Arch: []uint16{0}, VendorClass: "PXEClient:Arch:00000:UNDI:002001"},
			prof: pxelinux,
			want: DHCPBoot{NetBoot: true, Firmware: "bios", File: "pxelinux.0", NextServer: "192.0.2.1", VendorClass: "PXEClient", PXEVendor: pxeOpt},
		},
		{
			name: "BIOS with ipxe profile gets undionly",
			req:  DHCPRequest{MAC: mac, Arch: []uint16{0}, VendorClass: "PXEClient:Arch:00000:UNDI:002001"},
			prof: ipxe,
			want: DHCPBoot{NetBoot: true, Firmware: "bios", File: "undionly.kpxe", NextServer: "192.0.2.1", VendorClass: "PXEClient", PXEVendor: pxeOpt},
		},
		{
			name: "BIOS iPXE ROM with pxelinux profile gets pxelinux over TFTP",
			req:  DHCPRequest{MAC: mac, Arch: []uint16{0}, VendorClass: "PXEClient:Arch:00000:UNDI:002001", UserClass: []string{"iPXE"}},
			prof: pxelinux,
			want: DHCPBoot{NetBoot: true, Firmware: "bios", File: "pxelinux.0", NextServer: "192.0.2.1", VendorClass: "PXEClient", PXEVendor: pxeOpt},
		},
		{
			name: "BIOS iPXE ROM with host bootloader pxelinux gets pxelinux over TFTP",
			req:  DHCPRequest{MAC: mac, Arch: []uint16{0}, VendorClass: "PXEClient:Arch:00000:UNDI:002001", UserClass: []string{"iPXE"}},
			host: &inventory.Host{MACs: []string{mac}, Hostname: "a01", State: inventory.StateBuild, Params: map[string]string{"bootloader": "pxelinux"}},
			want: DHCPBoot{NetBoot: true, Firmware: "bios", File: "pxelinux.0", NextServer: "192.0.2.1", VendorClass: "PXEClient", PXEVendor: pxeOpt},
		},
		{
			name: "BIOS iPXE ROM with no bootloader named gets its script",
			req:  DHCPRequest{MAC: mac, Arch: []uint16{0}, VendorClass: "PXEClient:Arch:00000:UNDI:002001", UserClass: []string{"iPXE"}},
			want: DHCPBoot{NetBoot: true, Firmware: "bios", IPXE: true, File: "http://192.0.2.1:8080/boot.ipxe?mac=52-54-00-12-34-56&platform=pcbios", VendorClass: "PXEClient"},
		},
		{
			name: "UEFI iPXE with pxelinux profile still gets its script (pxelinux.0 is BIOS only)",
			req:  DHCPRequest{MAC: mac, Arch: []uint16{7}, VendorClass: "PXEClient:Arch:00007:UNDI:003016", UserClass: []string{"iPXE"}},
			prof: pxelinux,
			want: DHCPBoot{NetBoot: true, Firmware: "efi-x86_64", IPXE: true, File: "http://192.0.2.1:8080/boot.ipxe?mac=52-54-00-12-34-56&platform=efi", VendorClass: "PXEClient"},
		},
		{
			name: "PXEClient without option 93 is BIOS",
			req:  DHCPRequest{MAC: mac, VendorClass: "PXEClient"},
			want: DHCPBoot{NetBoot: true, Firmware: "bios", File: "pxelinux.0", NextServer: "192.0.2.1", VendorClass: "PXEClient", PXEVendor: pxeOpt},
		},
		{
			name: "UEFI x86-64 gets ipxe.efi",
			req:  DHCPRequest{MAC: mac, Arch: []uint16{7}, VendorClass: "PXEClient:Arch:00007:UNDI:003016"},
			prof: pxelinux,
			want: DHCPBoot{NetBoot: true, Firmware: "efi-x86_64", File: "ipxe.efi", NextServer: "192.0.2.1", VendorClass: "PXEClient", PXEVendor: pxeOpt},
		},
		{
			name: "EFI BC is x86-64",
			req:  DHCPRequest{MAC: mac, Arch: []uint16{9}, VendorClass: "PXEClient:Arch:00009:UNDI:003016"},
			want: DHCPBoot{NetBoot: true, Firmware: "efi-x86_64", File: "ipxe.efi", NextServer: "192.0.2.1", VendorClass: "PXEClient", PXEVendor: pxeOpt},
		},
		{
			name: "UEFI x86-64 with snponly profile gets snponly.efi",
			req:  DHCPRequest{MAC: mac, Arch: []uint16{7}, VendorClass: "PXEClient:Arch:00007:UNDI:003016"},
			prof: snp,
			want: DHCPBoot{NetBoot: true, Firmware: "efi-x86_64", File: "snponly.efi", NextServer: "192.0.2.1", VendorClass: "PXEClient", PXEVendor: pxeOpt},
		},
		{
			name: "host param overrides the profile loader",
			req:  DHCPRequest{MAC: mac, Arch: []uint16{7}, VendorClass: "PXEClient:Arch:00007:UNDI:003016"},
			host: &inventory.Host{MACs: []string{mac}, Hostname: "b01", State: inventory.StateBuild, Params: map[string]string{"bootloader": "snponly"}},
			prof: pxelinux,
			want: DHCPBoot{NetBoot: true, Firmware: "efi-x86_64", File: "snponly.efi", NextServer: "192.0.2.1", VendorClass: "PXEClient", PXEVendor: pxeOpt},
		},
		{
			name: "UEFI IA32 gets the 32-bit iPXE",
			req:  DHCPRequest{MAC: mac, Arch: []uint16{6}, VendorClass: "PXEClient:Arch:00006:UNDI:003016"},
			want: DHCPBoot{NetBoot: true, Firmware: "efi-ia32", File: "ipxe-ia32.efi", NextServer: "192.0.2.1", VendorClass: "PXEClient", PXEVendor: pxeOpt},
		},
		{
			name: "ARM64 gets its EFI binary",
			req:  DHCPRequest{MAC: mac, Arch: []uint16{11}, VendorClass: "PXEClient:Arch:00011:UNDI:003000"},
			want: DHCPBoot{NetBoot: true, Firmware: "efi-arm64", File: "ipxe-arm64.efi", NextServer: "192.0.2.1", VendorClass: "PXEClient", PXEVendor: pxeOpt},
		},
		{
			name: "ARM64 with snponly profile",
			req:  DHCPRequest{MAC: mac, Arch: []uint16{11}, VendorClass: "PXEClient:Arch:00011:UNDI:003000"},
			prof: snp,
			want: DHCPBoot{NetBoot: true, Firmware: "efi-arm64", File: "snponly-arm64.efi", NextServer: "192.0.2.1", VendorClass: "PXEClient", PXEVendor: pxeOpt},
		},
		{
			name: "UEFI HTTP boot x86-64 gets a URL and HTTPClient",
			req:  DHCPRequest{MAC: mac, Arch: []uint16{16}, VendorClass: "HTTPClient:Arch:00016:UNDI:003001"},
			want: DHCPBoot{NetBoot: true, Firmware: "efi-x86_64-http", File: "http://192.0.2.1:8080/boot/ipxe.efi", VendorClass: "HTTPClient"},
		},
		{
			name: "UEFI HTTP boot ARM64 gets the ARM64 URL",
			req:  DHCPRequest{MAC: mac, Arch: []uint16{19}, VendorClass: "HTTPClient:Arch:00019:UNDI:003001"},
			want: DHCPBoot{NetBoot: true, Firmware: "efi-arm64-http", File: "http://192.0.2.1:8080/boot/ipxe-arm64.efi", VendorClass: "HTTPClient"},
		},
		{
			name: "HTTPClient without option 93 is x86-64 HTTP boot",
			req:  DHCPRequest{MAC: mac, VendorClass: "HTTPClient"},
			want: DHCPBoot{NetBoot: true, Firmware: "efi-x86_64-http", File: "http://192.0.2.1:8080/boot/ipxe.efi", VendorClass: "HTTPClient"},
		},
		{
			name: "iPXE user class gets the script URL, not iPXE again",
			req:  DHCPRequest{MAC: mac, Arch: []uint16{7}, VendorClass: "PXEClient:Arch:00007:UNDI:003016", UserClass: []string{"iPXE"}},
			prof: ipxe,
			want: DHCPBoot{NetBoot: true, Firmware: "efi-x86_64", File: "http://192.0.2.1:8080/boot.ipxe?mac=52-54-00-12-34-56&platform=efi", VendorClass: "PXEClient", IPXE: true},
		},
		{
			name: "iPXE on BIOS gets the script URL",
			req:  DHCPRequest{MAC: mac, Arch: []uint16{0}, VendorClass: "PXEClient:Arch:00000:UNDI:002001", UserClass: []string{"iPXE"}},
			want: DHCPBoot{NetBoot: true, Firmware: "bios", File: "http://192.0.2.1:8080/boot.ipxe?mac=52-54-00-12-34-56&platform=pcbios", VendorClass: "PXEClient", IPXE: true},
		},
		{
			name: "iPXE user class alone is enough",
			req:  DHCPRequest{MAC: mac, UserClass: []string{"iPXE"}},
			want: DHCPBoot{NetBoot: true, File: "http://192.0.2.1:8080/boot.ipxe?mac=52-54-00-12-34-56", VendorClass: "PXEClient", IPXE: true},
		},
		{
			name: "installed host asking by UEFI HTTP boot gets the refused local-boot URL",
			req:  DHCPRequest{MAC: mac, Arch: []uint16{16}, VendorClass: "HTTPClient:Arch:00016:UNDI:003001"},
			host: installed,
			prof: pxelinux,
			want: DHCPBoot{NetBoot: true, Firmware: "efi-x86_64-http", File: "http://192.0.2.1:8080/boot/netkick-local-boot", VendorClass: "HTTPClient", LocalBoot: true},
		},
		{
			name: "host in build mode asking by UEFI HTTP boot gets iPXE",
			req:  DHCPRequest{MAC: mac, Arch: []uint16{16}, VendorClass: "HTTPClient:Arch:00016:UNDI:003001"},
			host: building,
			prof: pxelinux,
			want: DHCPBoot{NetBoot: true, Firmware: "efi-x86_64-http", File: "http://192.0.2.1:8080/boot/ipxe.efi", VendorClass: "HTTPClient"},
		},
		{
			name: "installed host asking by UEFI firmware PXE gets the refused local-boot file",
			req:  DHCPRequest{MAC: mac, Arch: []uint16{7}, VendorClass: "PXEClient:Arch:00007:UNDI:003016"},
			host: installed,
			prof: pxelinux,
			want: DHCPBoot{NetBoot: true, Firmware: "efi-x86_64", File: "netkick-local-boot", NextServer: "192.0.2.1", VendorClass: "PXEClient", PXEVendor: pxeOpt, LocalBoot: true},
		},
		{
			name: "installed host asking by BIOS PXE still gets pxelinux (LOCALBOOT)",
			req:  DHCPRequest{MAC: mac, Arch: []uint16{0}, VendorClass: "PXEClient:Arch:00000:UNDI:002001"},
			host: installed,
			prof: pxelinux,
			want: DHCPBoot{NetBoot: true, Firmware: "bios", File: "pxelinux.0", NextServer: "192.0.2.1", VendorClass: "PXEClient", PXEVendor: pxeOpt},
		},
		{
			name: "host in build mode asking by UEFI firmware PXE gets ipxe.efi",
			req:  DHCPRequest{MAC: mac, Arch: []uint16{7}, VendorClass: "PXEClient:Arch:00007:UNDI:003016"},
			host: building,
			prof: pxelinux,
			want: DHCPBoot{NetBoot: true, Firmware: "efi-x86_64", File: "ipxe.efi", NextServer: "192.0.2.1", VendorClass: "PXEClient", PXEVendor: pxeOpt},
		},
		{
			name: "installed host's iPXE on UEFI is told platform efi",
			req:  DHCPRequest{MAC: mac, Arch: []uint16{7}, VendorClass: "PXEClient:Arch:00007:UNDI:003010", UserClass: []string{"iPXE"}},
			host: installed,
			prof: pxelinux,
			want: DHCPBoot{NetBoot: true, Firmware: "efi-x86_64", File: "http://192.0.2.1:8080/boot.ipxe?mac=52-54-00-12-34-56&platform=efi", VendorClass: "PXEClient", IPXE: true},
		},
		{
			name: "unknown arch with PXEClient falls back to BIOS",
			req:  DHCPRequest{MAC: mac, Arch: []uint16{42}, VendorClass: "PXEClient"},
			want: DHCPBoot{NetBoot: true, Firmware: "bios", File: "pxelinux.0", NextServer: "192.0.2.1", VendorClass: "PXEClient", PXEVendor: pxeOpt},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := DecideDHCP(tc.req, tc.host, tc.prof, srv)
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("DecideDHCP:\n got  %+v\n want %+v", got, tc.want)
			}
		})
	}
}

func TestIPXEScriptURLPort80(t *testing.T) {
	got := IPXEScriptURL(DHCPServer{IP: "192.0.2.1", HTTPPort: 80}, "aa:bb:cc:dd:ee:ff")
	if want := "http://192.0.2.1/boot.ipxe?mac=aa-bb-cc-dd-ee-ff"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}

func TestDHCPURLsFromPublicURL(t *testing.T) {
	srv := DHCPServer{IP: "192.0.2.1", HTTPPort: 8080, PublicURL: "https://netkick.example.net"}
	for _, tc := range []struct{ name, got, want string }{
		{"iPXE script", IPXEScriptURLFor(srv, "aa:bb:cc:dd:ee:ff", FirmwareEFIX8664), "https://netkick.example.net/boot.ipxe?mac=aa-bb-cc-dd-ee-ff&platform=efi"},
		{"HTTP boot file", DecideDHCP(DHCPRequest{MAC: "aa:bb:cc:dd:ee:ff", Arch: []uint16{ArchEFIX8664HTTP}, VendorClass: "HTTPClient:Arch:00016:UNDI:003016"}, nil, nil, srv).File, "https://netkick.example.net/boot/ipxe.efi"},
	} {
		if tc.got != tc.want {
			t.Errorf("%s: got %q, want %q", tc.name, tc.got, tc.want)
		}
	}
}

func TestPlatformOf(t *testing.T) {
	for _, tc := range []struct{ name, firmware, want string }{
		{"BIOS is pcbios", FirmwareBIOS, "pcbios"},
		{"UEFI x86-64 is efi", FirmwareEFIX8664, "efi"},
		{"UEFI HTTP boot is efi", FirmwareEFIX8664HTTP, "efi"},
		{"UEFI ARM64 is efi", FirmwareEFIARM64, "efi"},
		{"unknown firmware is left to iPXE", "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := PlatformOf(tc.firmware); got != tc.want {
				t.Errorf("PlatformOf(%q) = %q, want %q", tc.firmware, got, tc.want)
			}
		})
	}
}
