package testvm

import (
	"fmt"
	"strings"
)

// Scenario is one machine the rig installs: a host in the rig's inventory,
// the virtual hardware it gets, and what must be true afterwards.
type Scenario struct {
	Name     string
	Summary  string
	Hostname string
	MAC      string
	IP       string
	Disks    []string // sizes, e.g. "500G", "1T"
	RAM      string   // e.g. "384M"
	UEFI     bool
	// FirmwarePXE boots through the firmware's own PXE client and TFTP
	// (virtio NIC, no iPXE ROM) instead of the NIC's iPXE ROM.
	FirmwarePXE bool
	// SecureBoot turns UEFI Secure Boot on (OVMF with Microsoft's keys): the
	// guest must report it enabled in its efivars.
	SecureBoot bool
	// ExpectHint is a Secure Boot refusal: the firmware refuses the loader,
	// nothing installs, and netkick's timeline must show this hint.
	ExpectHint string
	Roles      []string
	Layout     string
	Cluster    string
	// ExpectFail names the stage that must fail (e.g. a layout that does not
	// fit stops the install in %pre) and ExpectError a text its message holds.
	ExpectFail  string
	ExpectError string
	// Files are paths the %post sections must have written, each with lines
	// (substrings) the file must contain.
	Files map[string][]string
	// IPVS asks for the director check: the guest's IPVS table after
	// `netkick lvs apply` must hold the cluster's service and real servers.
	IPVS bool
	// Params are the host's params in the rig's inventory (e.g. bootloader).
	Params map[string]string
	// TFTPFiles are files (names under the boot root) the host's timeline must
	// show netkick sending over TFTP during the install.
	TFTPFiles []string
	// Proxy boots the machine beside a site DHCP server (dnsmasq handing out
	// addresses, no boot options) with netkick in proxy mode. Its host has
	// no address in the inventory: netkick must learn the one the site's
	// server gave, and the kickstart must come from that address.
	Proxy bool
	// Reinstall gives the machine a BMC (OpenIPMI's ipmi_sim starting its
	// QEMU): it installs, boots its disk, and `netkick host reinstall`
	// power-cycles it into a second install. Its kernel_args param asks the
	// mini installer for a disk marker (testvm.marker): each install leaves
	// one named after its build token on a fresh filesystem.
	Reinstall bool
	// Discover boots a machine netkick does not know: it is discovered,
	// reports its facts, is adopted and built, then installs (discover.go).
	Discover bool
	// Simulated is a second host (MAC and address in the inventory) with the
	// scenario's profile and params that bench/stormclient plays, in its
	// Flavour, once the machine has installed: both hosts' timelines in
	// netkick must show the same events (simulated.go).
	Simulated *SimulatedTwin
}

// SimulatedTwin is the host the simulated PXE client plays beside a
// scenario's machine. Its MAC is stormclient's for machine Index
// (52:54:00 and the index in 24 bits).
type SimulatedTwin struct {
	Index   int
	IP      string
	Flavour string // stormclient's -flavour: bios (pxelinux) or uefi (iPXE)
}

// RigCluster is the LVS cluster of the rig's inventory.
const RigCluster = "rig"

// Scenarios are the rig's built-in scenarios.
func Scenarios() []Scenario {
	return []Scenario{
		{Name: "single-200g", Summary: "one 200 GB disk", Hostname: "tv-s200", Layout: "home-opt", MAC: "52:54:00:4e:54:01", IP: "192.0.2.51", Disks: []string{"200G"}},
		{Name: "single-300g", Summary: "one 300 GB disk", Hostname: "tv-s300", Layout: "home-opt", MAC: "52:54:00:4e:54:02", IP: "192.0.2.52", Disks: []string{"300G"}},
		{Name: "single-600g", Summary: "one 600 GB disk", Hostname: "tv-s600", Layout: "home-opt", MAC: "52:54:00:4e:54:03", IP: "192.0.2.53", Disks: []string{"600G"}},
		{Name: "two-disks", Summary: "500 GB + 1 TB, /home on the second disk", Hostname: "tv-d2", Layout: "home-opt", MAC: "52:54:00:4e:54:04", IP: "192.0.2.54", Disks: []string{"500G", "1T"}},
		{Name: "uefi", Summary: "UEFI (OVMF), one 300 GB disk", Hostname: "tv-uefi", Layout: "home-opt", MAC: "52:54:00:4e:54:05", IP: "192.0.2.55", Disks: []string{"300G"}, UEFI: true},
		{Name: "uefi-tftp", Summary: "UEFI firmware PXE: TFTP of netkick's iPXE binary, then HTTP", Hostname: "tv-uefi-tftp", Layout: "home-opt", MAC: "52:54:00:4e:54:09", IP: "192.0.2.59", Disks: []string{"200G"}, UEFI: true, FirmwarePXE: true,
			TFTPFiles: []string{"ipxe.efi"}},
		{Name: "uefi-secureboot", Summary: "UEFI Secure Boot: firmware PXE, signed shim, signed GRUB with a generated grub.cfg, Debian's signed kernel", Hostname: "tv-sb", Layout: "simple", MAC: "52:54:00:4e:54:0b", IP: "192.0.2.61", Disks: []string{"200G"},
			UEFI: true, FirmwarePXE: true, SecureBoot: true, Params: map[string]string{"bootloader": "grub"},
			TFTPFiles: []string{"shimx64.efi", "grubx64.efi", "grub/grub.cfg", "testvm/vmlinuz", "testvm/initrd.img"}},
		{Name: "uefi-secureboot-ipxe", Summary: "UEFI Secure Boot with the iPXE loader: refused by the firmware, netkick's timeline says why", Hostname: "tv-sb-ipxe", MAC: "52:54:00:4e:54:0c", IP: "192.0.2.62", Disks: []string{"200G"},
			UEFI: true, FirmwarePXE: true, SecureBoot: true, ExpectHint: "loader fetched, nothing further: a Secure Boot refusal is the usual cause; use the grub loader",
			TFTPFiles: []string{"ipxe.efi"}},
		{Name: "bios-pxelinux", Summary: "BIOS through pxelinux: pxelinux.0, its config, kernel and initrd over TFTP; LOCALBOOT 0 after", Hostname: "tv-pxelinux", Layout: "simple", MAC: "52:54:00:4e:54:0a", IP: "192.0.2.60", Disks: []string{"200G"},
			Params:    map[string]string{"bootloader": "pxelinux"},
			TFTPFiles: []string{"pxelinux.0", "ldlinux.c32", "pxelinux.cfg/01-52-54-00-4e-54-0a", "testvm/vmlinuz", "testvm/initrd.img"},
			Simulated: &SimulatedTwin{Index: 0x4e5430, IP: "192.0.2.70", Flavour: "bios"}},
		{Name: "lvs-director", Summary: "LVS director: ip_vs in the guest, netkick lvs apply/status", Hostname: "tv-dir", Layout: "simple", MAC: "52:54:00:4e:54:06", IP: "192.0.2.56", Disks: []string{"200G"}, Roles: []string{"lvs-director"}, Cluster: RigCluster, IPVS: true},
		{Name: "lvs-real-server", Summary: "LVS real server: VIP on lo:0, ARP sysctls", Hostname: "tv-real", Layout: "simple", MAC: "52:54:00:4e:54:07", IP: "192.0.2.57", Disks: []string{"200G"}, Roles: []string{"lvs-real-server"}, Cluster: RigCluster,
			Files: map[string][]string{
				"/etc/sysconfig/network-scripts/ifcfg-lo:0": {"DEVICE=lo:0"},
				"/etc/sysctl.d/90-netkick-lvs.conf":         {"net.ipv4.conf.lo.arp_ignore = 1", "net.ipv4.conf.lo.arp_announce = 2"},
			}},
		{Name: "proxy-bios-ipxe", Summary: "beside a site DHCP server: iPXE ROM, netkick's iPXE script, proxyDHCP only", Hostname: "tv-proxy-ipxe", Layout: "simple", MAC: "52:54:00:4e:54:20", Disks: []string{"200G"}, Proxy: true},
		{Name: "proxy-bios-pxelinux", Summary: "beside a site DHCP server: pxelinux over TFTP, proxyDHCP only", Hostname: "tv-proxy-pxelinux", Layout: "simple", MAC: "52:54:00:4e:54:21", Disks: []string{"200G"}, Proxy: true,
			Params:    map[string]string{"bootloader": "pxelinux"},
			TFTPFiles: []string{"pxelinux.0", "ldlinux.c32", "pxelinux.cfg/01-52-54-00-4e-54-21", "testvm/vmlinuz", "testvm/initrd.img"}},
		{Name: "proxy-uefi", Summary: "beside a site DHCP server: OVMF's own PXE, ipxe.efi over TFTP, proxyDHCP only", Hostname: "tv-proxy-uefi", Layout: "simple", MAC: "52:54:00:4e:54:22", Disks: []string{"200G"}, UEFI: true, FirmwarePXE: true, Proxy: true,
			TFTPFiles: []string{"ipxe.efi"}},
		{Name: "reinstall", Summary: "a BMC (ipmi_sim) starts the machine: install, local boot, `netkick host reinstall` power-cycles it into a second install, whose disk marker replaces the first's", Hostname: "tv-reinstall", Layout: "simple", MAC: "52:54:00:4e:54:0d", IP: "192.0.2.63", Disks: []string{"200G"}, Reinstall: true,
			Params: map[string]string{"kernel_args": "testvm.marker"}},
		{Name: "discover", Summary: "an unknown machine (two disks, 8 GiB) is discovered, its facts match the VM, `host adopt` + `host build`, home-opt planned on its real disks", Hostname: "tv-disc", Layout: "home-opt", MAC: "52:54:00:4e:54:0e", Disks: []string{"200G", "100G"}, RAM: "8G", Discover: true},
		{Name: "no-fit", Summary: "a 4 GB disk the layout does not fit: the install stops in %pre", Hostname: "tv-nofit", Layout: "home-opt", ExpectError: "does not fit", MAC: "52:54:00:4e:54:08", IP: "192.0.2.58", Disks: []string{"4G"}, ExpectFail: StagePre},
	}
}

// SelectScenarios picks scenarios by name (all when names is empty).
func SelectScenarios(all []Scenario, names []string) ([]Scenario, error) {
	if len(names) == 0 {
		return all, nil
	}
	var out []Scenario
	for _, n := range names {
		found := false
		for _, s := range all {
			if s.Name == n {
				out, found = append(out, s), true
				break
			}
		}
		if !found {
			var known []string
			for _, s := range all {
				known = append(known, s.Name)
			}
			return nil, fmt.Errorf("unknown scenario %q; known: %s", n, strings.Join(known, ", "))
		}
	}
	return out, nil
}

// ram is the scenario's memory in MiB (default 384).
func (s Scenario) ram() (int, error) {
	if s.RAM == "" {
		return 384, nil
	}
	b, err := ParseSize(s.RAM)
	if err != nil {
		return 0, fmt.Errorf("scenario %s: RAM: %w", s.Name, err)
	}
	return int(b >> 20), nil
}
