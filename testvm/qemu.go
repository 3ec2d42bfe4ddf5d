package testvm

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// Firmware files from Debian packages (ipxe-qemu, ovmf).
const (
	ROMDir       = "/usr/lib/ipxe/qemu"
	BIOSROM      = ROMDir + "/pxe-e1000.rom"
	UEFIROM      = ROMDir + "/efi-e1000.rom"
	OVMFCode     = "/usr/share/OVMF/OVMF_CODE_4M.fd"
	OVMFVarsTmpl = "/usr/share/OVMF/OVMF_VARS_4M.fd"
	// OVMF built with Secure Boot (SMM required), and a variable store with
	// Microsoft's keys enrolled and Secure Boot on.
	OVMFCodeSecure     = "/usr/share/OVMF/OVMF_CODE_4M.ms.fd"
	OVMFVarsSecureTmpl = "/usr/share/OVMF/OVMF_VARS_4M.ms.fd"
)

// VM is one virtual machine of a scenario.
type VM struct {
	Name   string
	MAC    string
	RAMMiB int
	UEFI   bool
	Disks  []string // raw sparse image paths
	Tap    string
	Serial string // serial console log file
	// Direct boot (no PXE): kernel, initrd and command line given to QEMU.
	Kernel, Initrd, Append string
	// DiskOnly leaves the NIC out of the boot order (direct mode's second boot).
	DiskOnly bool
	// FirmwarePXE gives the VM a virtio NIC without an option ROM, so the
	// firmware's own PXE client (OVMF) boots it: DHCP, then TFTP of the iPXE
	// binary netkick names. Otherwise an e1000 carries iPXE in its ROM.
	FirmwarePXE bool
	// SecureBoot (UEFI) boots OVMF's Secure Boot build with Microsoft's keys
	// enrolled: q35 with SMM, the flash marked secure.
	SecureBoot bool
	// Files made by Prepare: the OVMF variable store and the SeaBIOS serial-console switch.
	VarsFile, SerconFile string
	// SMBIOSSerial, when set, is the SMBIOS system serial (type 1);
	// DiskSerials are the disks' serial numbers (QEMU's defaults otherwise).
	SMBIOSSerial string
	DiskSerials  []string
}

// ParseSize reads a disk or RAM size such as 200G, 1T, 512M (binary units).
func ParseSize(s string) (int64, error) {
	s = strings.TrimSpace(strings.ToUpper(s))
	s = strings.TrimSuffix(s, "B")
	s = strings.TrimSuffix(s, "I")
	mult := int64(1)
	switch {
	case strings.HasSuffix(s, "T"):
		mult = 1 << 40
	case strings.HasSuffix(s, "G"):
		mult = 1 << 30
	case strings.HasSuffix(s, "M"):
		mult = 1 << 20
	case strings.HasSuffix(s, "K"):
		mult = 1 << 10
	}
	num := strings.TrimRight(s, "TGMK")
	v, err := strconv.ParseInt(num, 10, 64)
	if err != nil || v <= 0 {
		return 0, fmt.Errorf("size %q: want a positive number with K, M, G or T (e.g. 500G)", s)
	}
	return v * mult, nil
}

// QEMUArgs is the qemu-system-x86_64 command line for vm (a pure function).
// BIOS guests boot SeaBIOS with the iPXE e1000 ROM and a serial console
// (sercon); UEFI guests boot OVMF with iPXE's EFI driver. The NIC comes first
// in the boot order, the first disk second (local boot after the install).
func QEMUArgs(vm VM) []string {
	// UEFI guests use q35 (OVMF's usual machine; disks on its AHCI ports),
	// BIOS guests the i440fx PC with IDE.
	machine := "pc"
	if vm.UEFI {
		machine = "q35"
	}
	code := OVMFCode
	if vm.UEFI && vm.SecureBoot {
		machine, code = "q35,smm=on", OVMFCodeSecure
	}
	a := []string{
		"-nodefaults", "-no-user-config", "-machine", machine, "-accel", "tcg",
		"-m", strconv.Itoa(vm.RAMMiB), "-smp", "1",
		"-display", "none", "-vga", "none", "-monitor", "none",
		"-serial", "file:" + vm.Serial,
		"-name", vm.Name,
	}
	rom := BIOSROM
	if vm.UEFI {
		rom = UEFIROM
		if vm.SecureBoot {
			// Only SMM code may write the variable store: the guest OS
			// cannot turn Secure Boot off behind the firmware's back.
			a = append(a, "-global", "driver=cfi.pflash01,property=secure,value=on")
		}
		a = append(a,
			"-drive", "if=pflash,format=raw,unit=0,readonly=on,file="+code,
			"-drive", "if=pflash,format=raw,unit=1,file="+vm.VarsFile)
		// The rig's network is IPv4 only (netkick serves DHCPv4): OVMF's PXE
		// and HTTP boot over IPv6 would only wait out their DHCPv6
		// timeouts, minutes under TCG, before the next boot entry.
		a = append(a,
			"-fw_cfg", "name=opt/org.tianocore/IPv6PXESupport,string=no",
			"-fw_cfg", "name=opt/org.tianocore/IPv6Support,string=no")
	} else if vm.SerconFile != "" {
		a = append(a, "-fw_cfg", "name=etc/sercon-port,file="+vm.SerconFile)
	}
	nicBoot := ",bootindex=1"
	if vm.Kernel != "" {
		a = append(a, "-kernel", vm.Kernel, "-initrd", vm.Initrd, "-append", vm.Append)
	}
	if vm.Kernel != "" || vm.DiskOnly {
		nicBoot = ""
	}
	nic := "e1000,netdev=net0,mac=" + vm.MAC + ",romfile=" + rom + nicBoot
	if vm.FirmwarePXE {
		nic = "virtio-net-pci,netdev=net0,mac=" + vm.MAC + ",romfile=" + nicBoot
	}
	a = append(a,
		"-netdev", "tap,id=net0,ifname="+vm.Tap+",script=no,downscript=no",
		"-device", nic)
	if vm.SMBIOSSerial != "" {
		a = append(a, "-smbios", "type=1,serial="+vm.SMBIOSSerial)
	}
	for i, d := range vm.Disks {
		a = append(a, "-drive", fmt.Sprintf("file=%s,format=raw,if=none,id=disk%d,cache=unsafe", d, i))
		ser := ""
		if i < len(vm.DiskSerials) {
			ser = ",serial=" + vm.DiskSerials[i]
		}
		if vm.UEFI {
			a = append(a, "-device", fmt.Sprintf("ide-hd,drive=disk%d,bus=ide.%d,bootindex=%d%s", i, i, i+2, ser))
			continue
		}
		a = append(a, "-device", fmt.Sprintf("ide-hd,drive=disk%d,bus=ide.%d,unit=%d,bootindex=%d%s", i, i/2, i%2, i+2, ser))
	}
	return a
}

// Prepare creates the VM's files in dir: sparse disks of the given sizes, the
// OVMF variable store (UEFI) or the sercon switch (BIOS).
func (vm *VM) Prepare(dir string, diskSizes []int64) error {
	for i, size := range diskSizes {
		p := filepath.Join(dir, fmt.Sprintf("%s-disk%d.img", vm.Name, i))
		f, err := os.Create(p)
		if err != nil {
			return fmt.Errorf("disk image %s: %w", p, err)
		}
		if err := f.Truncate(size); err != nil {
			f.Close()
			return fmt.Errorf("sparse disk %s (%d bytes): %w", p, size, err)
		}
		f.Close()
		vm.Disks = append(vm.Disks, p)
	}
	vm.Serial = filepath.Join(dir, vm.Name+".serial.log")
	if vm.UEFI {
		tmpl := OVMFVarsTmpl
		if vm.SecureBoot {
			tmpl = OVMFVarsSecureTmpl
		}
		b, err := os.ReadFile(tmpl)
		if err != nil {
			return fmt.Errorf("OVMF variables %s: %w (install ovmf)", tmpl, err)
		}
		vm.VarsFile = filepath.Join(dir, vm.Name+".OVMF_VARS.fd")
		return os.WriteFile(vm.VarsFile, b, 0o644)
	}
	// SeaBIOS mirrors its console (and the option ROMs' and boot loaders'
	// BIOS output) on the serial port named by etc/sercon-port (0x3f8, LE16).
	vm.SerconFile = filepath.Join(dir, "sercon-port.bin")
	return os.WriteFile(vm.SerconFile, []byte{0xf8, 0x03}, 0o644)
}
