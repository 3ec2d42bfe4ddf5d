package boot

import (
	"fmt"
	"strings"

	"github.com/netkick/netkick/inventory"
	"github.com/netkick/netkick/provision/urls"
)

// Client architecture types of DHCP option 93 (RFC 4578 and the IANA
// "Processor Architecture Types" registry) that netkick tells apart.
const (
	ArchBIOS         uint16 = 0  // Intel x86PC, legacy BIOS PXE
	ArchEFIIA32      uint16 = 6  // EFI IA32
	ArchEFIX8664     uint16 = 7  // EFI x86-64
	ArchEFIBC        uint16 = 9  // EFI byte code (in practice x86-64 firmware)
	ArchEFIARM64     uint16 = 11 // EFI ARM64
	ArchEFIX86HTTP   uint16 = 15 // EFI x86 HTTP boot
	ArchEFIX8664HTTP uint16 = 16 // EFI x86-64 HTTP boot
	ArchEFIARM64HTTP uint16 = 19 // EFI ARM64 HTTP boot
)

// Firmware names, as stored in inventory.Host.Arch.
const (
	FirmwareBIOS         = "bios"
	FirmwareEFIIA32      = "efi-ia32"
	FirmwareEFIX8664     = "efi-x86_64"
	FirmwareEFIARM64     = "efi-arm64"
	FirmwareEFIX8664HTTP = "efi-x86_64-http"
	FirmwareEFIARM64HTTP = "efi-arm64-http"
)

// Boot file names netkick serves from its boot root (TFTP and /boot/ over HTTP).
const (
	FilePxelinux     = "pxelinux.0"
	FileUndionly     = "undionly.kpxe"
	FileIPXEEFI      = "ipxe.efi"
	FileSnponlyEFI   = "snponly.efi"
	FileIPXEIA32     = "ipxe-ia32.efi"
	FileIPXEARM64    = "ipxe-arm64.efi"
	FileSnponlyARM64 = "snponly-arm64.efi"
	// FileLocalBoot is the boot file named to the UEFI firmware of a host not
	// in build mode (LocalBootByFirmware). TFTP and HTTP always refuse it
	// (file not found): the firmware's boot entry fails at once and its
	// boot manager goes on to the disk.
	FileLocalBoot = "netkick-local-boot"
)

// Vendor classes (option 60) of network boot clients.
const (
	ClassPXE  = "PXEClient"
	ClassHTTP = "HTTPClient"
)

// DHCPRequest is what the DHCP server read from a client's packet.
type DHCPRequest struct {
	// MAC is the client hardware address, canonical (aa:bb:cc:dd:ee:ff).
	MAC string
	// Arch holds the option 93 values in the client's order; empty when absent.
	Arch []uint16
	// VendorClass is option 60, e.g. "PXEClient:Arch:00007:UNDI:003016".
	VendorClass string
	// UserClass holds option 77 entries, e.g. ["iPXE"].
	UserClass []string
}

// DHCPServer is how the client reaches netkick.
type DHCPServer struct {
	// IP is netkick's address on the client's network (next-server, option 54/66).
	IP string
	// HTTPPort is the port of netkick's HTTP server (80 is left out of URLs).
	HTTPPort int
	// PublicURL, when set, is the base of the HTTP URLs (iPXE script, HTTP
	// boot files) instead of http://IP:HTTPPort: the one base every URL a
	// machine is given comes from.
	PublicURL string
}

// DHCPBoot is the boot part of a DHCP reply.
type DHCPBoot struct {
	// NetBoot is false for clients that are not booting from the network
	// (no option 60 PXEClient/HTTPClient, no option 93, no iPXE user class):
	// they get an address and no boot file.
	NetBoot bool
	// Firmware names the client firmware (FirmwareBIOS, …), "" when not booting.
	Firmware string
	// File goes in option 67 and the BOOTP file field: a TFTP path or an HTTP URL.
	File string
	// NextServer goes in siaddr and option 66 (empty for HTTP URLs: the URL names the server).
	NextServer string
	// VendorClass is the option 60 to send back ("PXEClient", "HTTPClient" or "").
	VendorClass string
	// IPXE is true when the client is iPXE itself and gets its script URL.
	IPXE bool
	// PXEVendor is option 43 for a PXEClient reply to a firmware PXE client
	// (not iPXE): PXE discovery control "boot the file named in this offer"
	// (no boot server discovery, no menu, no multicast). EDK II's PXE client
	// takes a full offer carrying PXEClient but no option 43 for a BINL offer
	// and asks port 4011 for the boot file, which nothing answers (PXE-E16
	// No valid offer received).
	PXEVendor []byte
	// LocalBoot is true when the UEFI firmware of a known host that is not
	// being installed asked (see LocalBootByFirmware): File is then
	// FileLocalBoot, which TFTP and HTTP refuse.
	LocalBoot bool
}

// PXEVendorBootFile is the option 43 payload netkick sends PXE clients: PXE
// discovery control (tag 6, length 1) with bit 3 set (use the boot file of
// this offer: no boot server discovery, no menu), then the end tag.
func PXEVendorBootFile() []byte {
	return []byte{6, 1, 8, 255}
}

// FirmwareOf maps option 93 and option 60 to a firmware name. A client that
// sends no option 93 is taken for legacy BIOS when its vendor class says
// PXEClient, and for x86-64 HTTP boot when it says HTTPClient.
func FirmwareOf(arch []uint16, vendorClass string) string {
	if len(arch) == 0 {
		switch {
		case strings.HasPrefix(vendorClass, ClassHTTP):
			return FirmwareEFIX8664HTTP
		case strings.HasPrefix(vendorClass, ClassPXE):
			return FirmwareBIOS
		}
		return ""
	}
	switch arch[0] {
	case ArchBIOS:
		return FirmwareBIOS
	case ArchEFIIA32:
		return FirmwareEFIIA32
	case ArchEFIX8664, ArchEFIBC:
		return FirmwareEFIX8664
	case ArchEFIARM64:
		return FirmwareEFIARM64
	case ArchEFIX86HTTP, ArchEFIX8664HTTP:
		return FirmwareEFIX8664HTTP
	case ArchEFIARM64HTTP:
		return FirmwareEFIARM64HTTP
	}
	// An unknown architecture that still says HTTPClient gets HTTP boot.
	if strings.HasPrefix(vendorClass, ClassHTTP) {
		return FirmwareEFIX8664HTTP
	}
	return ""
}

// LocalBootByFirmware decides that a DHCP request is answered with
// FileLocalBoot, a boot file TFTP and HTTP refuse: the UEFI firmware itself
// (PXE or HTTP boot, not iPXE) of a known host that is not in build mode.
// iPXE would only answer such a host with "exit", which hands control back to
// the firmware; the firmware then tries its next network entry (PXE over its
// own stack, HTTP boot), fetches iPXE again and comes back, one network entry
// after the other, before it reaches the disk. A refused boot file fails each
// UEFI network entry at once and the boot manager goes on to the disk, as
// UEFI has it do after a failed Boot####. (An offer with no boot file at all
// does the same but slower: EDK II finds no valid offer and repeats its
// DISCOVER for about a minute per network entry.)
//
// This is not the silence the design forbids: the host gets its address and
// an answer naming what happens (its timeline shows the dhcp-ack), iPXE still
// gets its local-boot script, BIOS PXE still gets pxelinux and LOCALBOOT, and
// hosts in build mode and unknown machines are answered as before.
func LocalBootByFirmware(firmware string, ipxe bool, host *inventory.Host) bool {
	return !ipxe && host != nil && !Installs(host) && strings.HasPrefix(firmware, "efi-")
}

// IsIPXE reports whether option 77 names iPXE (its script URL ends the chain).
func IsIPXE(userClass []string) bool {
	for _, u := range userClass {
		if u == "iPXE" {
			return true
		}
	}
	return false
}

// IsNetBootClass reports whether option 60 is that of a PXE or HTTP boot client.
func IsNetBootClass(vendorClass string) bool {
	return strings.HasPrefix(vendorClass, ClassPXE) || strings.HasPrefix(vendorClass, ClassHTTP)
}

// IPXEScriptURL is where iPXE fetches its script for a MAC. The MAC is spelt
// with dashes: some firmware mangles colons in URLs.
func IPXEScriptURL(s DHCPServer, mac string) string {
	return urls.Base(httpBase(s)).IPXEScript(strings.ReplaceAll(mac, ":", "-"), "")
}

// PlatformOf is iPXE's ${platform} for a firmware name: "efi" for every UEFI
// firmware, "pcbios" for BIOS, "" when unknown. The local-boot script
// depends on it: sanboot of BIOS drive 0x80 means nothing under UEFI.
func PlatformOf(firmware string) string {
	switch {
	case firmware == FirmwareBIOS:
		return "pcbios"
	case strings.HasPrefix(firmware, "efi-"):
		return "efi"
	}
	return ""
}

// IPXEScriptURLFor is IPXEScriptURL with &platform= added when the firmware
// is known, so /boot.ipxe can choose UEFI's or BIOS's way to boot the disk.
func IPXEScriptURLFor(s DHCPServer, mac, firmware string) string {
	return urls.Base(httpBase(s)).IPXEScript(strings.ReplaceAll(mac, ":", "-"), PlatformOf(firmware))
}

func httpBase(s DHCPServer) string {
	if s.PublicURL != "" {
		return s.PublicURL
	}
	if s.HTTPPort == 0 || s.HTTPPort == 80 {
		return "http://" + s.IP
	}
	return fmt.Sprintf("http://%s:%d", s.IP, s.HTTPPort)
}

// DecideDHCP chooses the boot file of a DHCP reply. host and prof may be nil
// (unknown machine, or a host without a profile). PXE clients get the same
// first stage whatever the build mode: for a host not in build mode its
// config (pxelinux or iPXE text) then boots the local disk. The one exception
// is the UEFI firmware (PXE or HTTP boot, not iPXE) of a known host not in
// build mode: it is named FileLocalBoot, which is refused (see
// LocalBootByFirmware). A bootloader of "pxelinux" named on the host or its
// profile sends BIOS iPXE ROMs pxelinux.0 too; left empty, iPXE gets its script.
// A bootloader of "grub" sends UEFI x86-64 firmware shim (ShimFile) instead
// of iPXE, which Secure Boot refuses; iPXE itself still gets its script.
func DecideDHCP(req DHCPRequest, host *inventory.Host, prof *inventory.Profile, s DHCPServer) DHCPBoot {
	fw := FirmwareOf(req.Arch, req.VendorClass)
	ipxe := IsIPXE(req.UserClass)
	if fw == "" && !ipxe && !IsNetBootClass(req.VendorClass) {
		return DHCPBoot{}
	}
	loader := ""
	if prof != nil {
		loader = strings.ToLower(prof.BootLoader)
	}
	if host != nil && host.Params["bootloader"] != "" {
		loader = strings.ToLower(host.Params["bootloader"])
	}
	out := DHCPBoot{NetBoot: true, Firmware: fw, NextServer: s.IP, VendorClass: ClassPXE}
	switch {
	case ipxe && loader == "pxelinux" && (fw == FirmwareBIOS || fw == ""):
		// Asked for by name: BIOS machines get pxelinux.0 over TFTP even when
		// their PXE ROM is iPXE (it runs pxelinux as any PXE ROM would).
		// pxelinux does no DHCP of its own, so this cannot loop.
		out.Firmware = FirmwareBIOS
		out.File = FilePxelinux
	case ipxe:
		// iPXE already runs: hand it the script, never the iPXE binary again.
		out.IPXE = true
		out.File = IPXEScriptURLFor(s, req.MAC, fw)
		if strings.HasPrefix(req.VendorClass, ClassHTTP) {
			out.VendorClass = ClassHTTP
		}
	case loader == LoaderGRUB && (fw == FirmwareEFIX8664 || fw == FirmwareEFIX8664HTTP):
		// Secure Boot: shim (signed by Microsoft) first; it loads grubx64.efi
		// from its own directory.
		out.File = ShimFile(prof)
		if fw == FirmwareEFIX8664HTTP {
			out.File = urls.Base(httpBase(s)).BootFile(out.File)
			out.VendorClass = ClassHTTP
		}
	case fw == FirmwareEFIX8664HTTP:
		out.File = urls.Base(httpBase(s)).BootFile(FileIPXEEFI)
		if loader == "snponly" {
			out.File = urls.Base(httpBase(s)).BootFile(FileSnponlyEFI)
		}
		out.VendorClass = ClassHTTP
	case fw == FirmwareEFIARM64HTTP:
		out.File = urls.Base(httpBase(s)).BootFile(FileIPXEARM64)
		if loader == "snponly" {
			out.File = urls.Base(httpBase(s)).BootFile(FileSnponlyARM64)
		}
		out.VendorClass = ClassHTTP
	case fw == FirmwareEFIX8664:
		out.File = FileIPXEEFI
		if loader == "snponly" {
			out.File = FileSnponlyEFI
		}
	case fw == FirmwareEFIARM64:
		out.File = FileIPXEARM64
		if loader == "snponly" {
			out.File = FileSnponlyARM64
		}
	case fw == FirmwareEFIIA32:
		out.File = FileIPXEIA32
	default: // BIOS, or a PXE client with an unknown arch
		if fw == "" {
			out.Firmware = FirmwareBIOS
		}
		out.File = FilePxelinux
		if loader == "ipxe" || loader == "undionly" {
			out.File = FileUndionly
		}
	}
	if LocalBootByFirmware(fw, ipxe, host) {
		out.LocalBoot = true
		out.File = FileLocalBoot
		if out.VendorClass == ClassHTTP {
			out.File = urls.Base(httpBase(s)).BootFile(FileLocalBoot)
		}
	}
	if strings.HasPrefix(out.File, "http://") {
		out.NextServer = ""
	}
	if out.VendorClass == ClassPXE && !out.IPXE {
		// Firmware PXE clients only: iPXE does no boot server discovery and
		// is left exactly as it was served before.
		out.PXEVendor = PXEVendorBootFile()
	}
	return out
}

// ShimFile is the shim a profile boots through under the boot root: its own
// (Profile.Shim, from its install tree) or FileShim at the top.
func ShimFile(p *inventory.Profile) string {
	if p != nil && p.Shim != "" {
		return p.Shim
	}
	return FileShim
}
