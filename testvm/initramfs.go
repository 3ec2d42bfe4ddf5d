package testvm

import (
	"context"
	"embed"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"strings"

	"github.com/netkick/netkick/internal/initramfs"
)

//go:embed installer
var installerFS embed.FS

// DefaultModules are the kernel modules the mini installer loads: the e1000
// and virtio NICs, the IDE (i440fx) and AHCI (q35) disk stacks (with sd_mod's integrity/CRC helpers and their
// crypto providers), IPVS with its schedulers (crc32c_generic first: BusyBox
// modprobe ignores libcrc32c's soft dependency), and VFAT with the kernel's
// default code page and character set (the EFI system partition).
var DefaultModules = []string{
	"e1000", "virtio_pci", "virtio_net", "ata_piix", "ahci", "sd_mod", "crct10dif_generic", "crc64_rocksoft_generic",
	"crc32c_generic", "ip_vs", "ip_vs_lc", "ip_vs_rr", "ip_vs_wlc", "ip_vs_wrr",
	"vfat", "nls_cp437", "nls_ascii",
}

// UEFIModules are modules the mini installer loads only on UEFI machines
// (they refuse to load elsewhere): efivarfs, to read the firmware's
// SecureBoot variable under /sys/firmware/efi/efivars.
var UEFIModules = []string{"efivarfs"}

// LocalBootBanner is what the boot sector the mini installer writes prints on
// the serial console when the machine later boots from its disk.
const LocalBootBanner = "NETKICK-TESTVM: booted from local disk"

// UEFIStartupScript is the startup.nsh the mini installer leaves on a UEFI
// machine's EFI system partition: OVMF's UEFI shell runs it when nothing else
// on the disk boots, and it prints banner on the console (serial included).
func UEFIStartupScript(banner string) string {
	return "echo -off\r\necho " + banner + "\r\n"
}

// LocalBootMarker is the part of LocalBootBanner the rig looks for (the
// firmware's serial console may not flush the banner's last characters).
const LocalBootMarker = "NETKICK-TESTVM: booted from local"

// InitramfsSpec says what goes into a mini-installer initramfs.
type InitramfsSpec struct {
	Kernel  *Kernel
	Modules []string          // nil means DefaultModules
	Extra   map[string]string // image path → host file (e.g. /usr/sbin/netkick)
}

// mbrBootCode is a tiny real-mode boot sector body (it fits in the 446 bytes
// before the partition table): it prints msg through the BIOS (which the rig
// redirects to the serial port) and halts.
func mbrBootCode(msg string) []byte {
	code := []byte{
		0xFA,       // cli
		0x31, 0xC0, // xor ax,ax
		0x8E, 0xD8, // mov ds,ax
		0xBE, 0x19, 0x7C, // mov si,0x7c19 (the message)
		0xAC,       // lodsb
		0x84, 0xC0, // test al,al
		0x74, 0x09, // jz halt
		0xB4, 0x0E, // mov ah,0x0e
		0xBB, 0x07, 0x00, // mov bx,7
		0xCD, 0x10, // int 0x10
		0xEB, 0xF2, // jmp lodsb
		0xF4,       // halt: hlt
		0xEB, 0xFD, // jmp halt
	}
	b := append(code, []byte("\r\n"+msg+"\r\n")...)
	return append(b, 0)
}

// installerTree lays out the mini installer: BusyBox, parted and its
// libraries, the kernel modules, the /init script and its helpers.
func installerTree(spec InitramfsSpec) (initramfs.Tree, error) {
	t := initramfs.Tree{}
	for _, d := range []string{"/dev", "/proc", "/sys", "/tmp", "/run", "/bin", "/sbin", "/usr/bin", "/usr/sbin", "/etc", "/mnt", "/root"} {
		t.Dir(d)
	}
	t.CharDev("/dev/console", 0o600, 5, 1)
	bb, err := exec.LookPath("busybox")
	if err != nil {
		return nil, fmt.Errorf("busybox not found: install busybox-static (scripts/deps.sh)")
	}
	if libs, err := initramfs.SharedLibs(bb); err != nil || len(libs) > 0 {
		return nil, fmt.Errorf("%s is not statically linked: install busybox-static", bb)
	}
	t.File("/bin/busybox", 0o755, bb)
	t.Symlink("/bin/sh", "busybox")
	parted, err := exec.LookPath("parted")
	if err != nil {
		if _, e := os.Stat("/sbin/parted"); e != nil {
			return nil, fmt.Errorf("parted not found: install parted (scripts/deps.sh)")
		}
		parted = "/sbin/parted"
	}
	if _, err := t.Program("/usr/sbin/parted", parted); err != nil {
		return nil, err
	}
	err = fs.WalkDir(installerFS, "installer", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := installerFS.ReadFile(p)
		if err != nil {
			return err
		}
		dst := map[string]string{
			"installer/init":            "/init",
			"installer/udhcpc.script":   "/etc/udhcpc.script",
			"installer/list-harddrives": "/usr/bin/list-harddrives",
			"installer/curl":            "/usr/lib/netkick-testvm/curl",
			"installer/udevadm":         "/usr/bin/udevadm",
		}[p]
		if dst == "" {
			dst = "/usr/lib/netkick-testvm/" + path.Base(p)
		}
		t.Bytes(dst, 0o755, b)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("embedded installer files: %w", err)
	}
	t.Bytes("/usr/lib/netkick-testvm/mbr.bin", 0o644, mbrBootCode(LocalBootBanner))
	t.Bytes("/usr/lib/netkick-testvm/startup.nsh", 0o644, []byte(UEFIStartupScript(LocalBootBanner)))
	if spec.Kernel == nil {
		return nil, fmt.Errorf("initramfs needs a kernel (FetchKernel)")
	}
	mods := spec.Modules
	if mods == nil {
		mods = DefaultModules
	}
	ms := initramfs.ModuleSet{Dir: spec.Kernel.ModulesDir, Version: spec.Kernel.Version, Want: append(append([]string(nil), mods...), UEFIModules...)}
	if _, _, err := initramfs.AddModules(t, ms); err != nil {
		return nil, err
	}
	t.Bytes("/etc/netkick-testvm-modules", 0o644, []byte(strings.Join(mods, " ")+"\n"))
	for dst, src := range spec.Extra {
		t.File(dst, 0o755, src)
	}
	return t, nil
}

func fileExists(p string) bool { _, err := os.Stat(p); return err == nil }

// BuildInitramfs builds (or reuses from cacheDir/initramfs) the mini
// installer initramfs for spec and returns its path.
func BuildInitramfs(ctx context.Context, cacheDir string, spec InitramfsSpec, log io.Writer) (string, error) {
	t, err := installerTree(spec)
	if err != nil {
		return "", err
	}
	return cachedImage(cacheDir, "installer-"+spec.Kernel.Version, t, log)
}

// cachedImage writes t as cacheDir/initramfs/NAME-KEY.cpio.gz unless an
// image of the same content is there, and returns its path.
func cachedImage(cacheDir, name string, t initramfs.Tree, log io.Writer) (string, error) {
	key, err := t.Key()
	if err != nil {
		return "", err
	}
	out := filepath.Join(cacheDir, "initramfs", name+"-"+key+".cpio.gz")
	if fileExists(out) {
		return out, nil
	}
	fmt.Fprintf(log, "testvm: building initramfs %s (%d members)\n", filepath.Base(out), len(t))
	if err := t.WriteFile(out); err != nil {
		return "", err
	}
	return out, nil
}
