package discovery

import (
	"fmt"
	"os"
	"strings"

	"github.com/netkick/netkick/internal/initramfs"
)

// DefaultModules are the drivers a discovery image carries unless told
// otherwise: common server NICs and disk controllers (and virtual ones),
// each only where the kernel has it as a module (a built-in or absent
// driver is skipped), with sd_mod's CRC helpers.
func DefaultModules() []string {
	return []string{
		// NICs
		"e1000", "e1000e", "igb", "igc", "ixgbe", "i40e", "ice", "bnxt_en", "tg3", "bnx2", "bnx2x",
		"be2net", "mlx4_en", "mlx5_core", "qede", "r8169", "virtio_pci", "virtio_net", "vmxnet3",
		// disks
		"ata_piix", "ahci", "sd_mod", "crct10dif_generic", "crc64_rocksoft_generic", "nvme",
		"megaraid_sas", "mpt3sas", "hpsa", "smartpqi", "aacraid", "virtio_blk", "virtio_scsi", "vmw_pvscsi",
	}
}

// ImageSpec says what goes into a discovery initramfs.
type ImageSpec struct {
	// BusyBox is the BusyBox binary: static (busybox-static) is best; a
	// dynamically linked one brings the libraries it loads.
	BusyBox string
	// Modules are the kernel's modules directory and the drivers to load
	// (Want must be there; Optional, e.g. DefaultModules, where present).
	Modules initramfs.ModuleSet
}

// ImageInfo is what an image was given, for the one who built it.
type ImageInfo struct {
	Libraries []string // BusyBox's shared libraries (none when static)
	Load      []string // modules /init loads, in order
	Skipped   []string // optional modules the kernel does not have as modules
}

// Image lays out netkick's discovery initramfs: BusyBox (/bin/busybox, /bin/sh),
// the environment's files at the paths Files names, the kernel's modules
// for spec.Modules with their dependencies, and their list in ModulesFile.
func Image(spec ImageSpec) (initramfs.Tree, ImageInfo, error) {
	var info ImageInfo
	fi, err := os.Stat(spec.BusyBox)
	if err != nil {
		return nil, info, fmt.Errorf("busybox %s: %w (install busybox-static, or name the binary with --busybox)", spec.BusyBox, err)
	}
	if !fi.Mode().IsRegular() || fi.Mode().Perm()&0o111 == 0 {
		return nil, info, fmt.Errorf("busybox %s is not an executable file (install busybox-static, or name the binary with --busybox)", spec.BusyBox)
	}
	t := initramfs.Tree{}
	for _, d := range []string{"/dev", "/proc", "/sys", "/tmp", "/run", "/bin", "/sbin", "/usr/bin", "/usr/sbin", "/etc/netkick", "/root"} {
		t.Dir(d)
	}
	t.CharDev("/dev/console", 0o600, 5, 1)
	if info.Libraries, err = t.Program("/bin/busybox", spec.BusyBox); err != nil {
		return nil, info, fmt.Errorf("busybox %s: %w", spec.BusyBox, err)
	}
	t.Symlink("/bin/sh", "busybox")
	for name, dst := range Files {
		t.Bytes(dst, 0o755, File(name))
	}
	if info.Load, info.Skipped, err = initramfs.AddModules(t, spec.Modules); err != nil {
		return nil, info, err
	}
	t.Bytes(ModulesFile, 0o644, []byte(strings.Join(info.Load, "\n")+"\n"))
	return t, info, nil
}
