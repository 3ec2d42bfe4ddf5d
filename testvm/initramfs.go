package testvm

import (
	"compress/gzip"
	"context"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"sort"
	"strings"
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

// imageTree is the initramfs content before it is archived: path → member.
type imageTree map[string]member

type member struct {
	mode uint32 // type bits + permissions
	data []byte
	src  string // host file to read at archive time (instead of data)
	dev  [2]uint32
}

func (t imageTree) addDirs(p string) {
	for d := path.Dir(p); d != "/" && d != "."; d = path.Dir(d) {
		if _, ok := t[d]; !ok {
			t[d] = member{mode: 0o040755}
		}
	}
}

func (t imageTree) file(p string, perm uint32, src string) {
	t.addDirs(p)
	t[p] = member{mode: 0o100000 | perm, src: src}
}

func (t imageTree) bytes(p string, perm uint32, b []byte) {
	t.addDirs(p)
	t[p] = member{mode: 0o100000 | perm, data: b}
}

func (t imageTree) symlink(p, target string) {
	t.addDirs(p)
	t[p] = member{mode: 0o120777, data: []byte(target)}
}

func (t imageTree) dir(p string) {
	t.addDirs(p + "/x")
}

// key hashes everything that decides the archive's bytes.
func (t imageTree) key() (string, error) {
	h := sha256.New()
	for _, p := range t.sorted() {
		m := t[p]
		fmt.Fprintf(h, "%s %o %d %d %x\n", p, m.mode, m.dev[0], m.dev[1], sha256.Sum256(m.data))
		if m.src != "" {
			st, err := os.Stat(m.src)
			if err != nil {
				return "", fmt.Errorf("initramfs member %s: %w", p, err)
			}
			fmt.Fprintf(h, " %s %d %d\n", m.src, st.Size(), st.ModTime().UnixNano())
		}
	}
	return hex.EncodeToString(h.Sum(nil))[:16], nil
}

func (t imageTree) sorted() []string {
	ps := make([]string, 0, len(t))
	for p := range t {
		ps = append(ps, p)
	}
	sort.Strings(ps)
	return ps
}

// write archives the tree as a gzip-compressed newc cpio.
func (t imageTree) write(w io.Writer) error {
	zw, err := gzip.NewWriterLevel(w, gzip.BestSpeed)
	if err != nil {
		return err
	}
	c := &cpioWriter{w: zw}
	for _, p := range t.sorted() {
		m := t[p]
		data := m.data
		if m.src != "" {
			if data, err = os.ReadFile(m.src); err != nil {
				return fmt.Errorf("initramfs member %s: %w", p, err)
			}
		}
		c.entry(strings.TrimPrefix(p, "/"), m.mode, data, m.dev[0], m.dev[1])
	}
	if err := c.trailer(); err != nil {
		return fmt.Errorf("writing initramfs: %w", err)
	}
	return zw.Close()
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
func installerTree(spec InitramfsSpec) (imageTree, error) {
	t := imageTree{}
	for _, d := range []string{"/dev", "/proc", "/sys", "/tmp", "/run", "/bin", "/sbin", "/usr/bin", "/usr/sbin", "/etc", "/mnt", "/root"} {
		t.dir(d)
	}
	t["/dev/console"] = member{mode: 0o020600, dev: [2]uint32{5, 1}}
	bb, err := exec.LookPath("busybox")
	if err != nil {
		return nil, fmt.Errorf("busybox not found: install busybox-static (scripts/deps.sh)")
	}
	if libs, err := sharedLibs(bb); err != nil || len(libs) > 0 {
		return nil, fmt.Errorf("%s is not statically linked: install busybox-static", bb)
	}
	t.file("/bin/busybox", 0o755, bb)
	t.symlink("/bin/sh", "busybox")
	parted, err := exec.LookPath("parted")
	if err != nil {
		if _, e := os.Stat("/sbin/parted"); e != nil {
			return nil, fmt.Errorf("parted not found: install parted (scripts/deps.sh)")
		}
		parted = "/sbin/parted"
	}
	t.file("/usr/sbin/parted", 0o755, parted)
	libs, err := sharedLibs(parted)
	if err != nil {
		return nil, err
	}
	for _, l := range libs {
		t.file(l, 0o755, l)
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
		t.bytes(dst, 0o755, b)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("embedded installer files: %w", err)
	}
	t.bytes("/usr/lib/netkick-testvm/mbr.bin", 0o644, mbrBootCode(LocalBootBanner))
	t.bytes("/usr/lib/netkick-testvm/startup.nsh", 0o644, []byte(UEFIStartupScript(LocalBootBanner)))
	if spec.Kernel == nil {
		return nil, fmt.Errorf("initramfs needs a kernel (FetchKernel)")
	}
	mods := spec.Modules
	if mods == nil {
		mods = DefaultModules
	}
	idx, err := ModuleIndex(spec.Kernel.ModulesDir)
	if err != nil {
		return nil, err
	}
	need, err := ModuleClosure(append(append([]string(nil), mods...), UEFIModules...), moduleInfoFunc(idx))
	if err != nil {
		return nil, err
	}
	base := "/lib/modules/" + spec.Kernel.Version
	for _, n := range need {
		rel, err := filepath.Rel(spec.Kernel.ModulesDir, idx[n])
		if err != nil {
			return nil, err
		}
		t.file(base+"/"+filepath.ToSlash(rel), 0o644, idx[n])
	}
	for _, f := range []string{"modules.builtin", "modules.builtin.modinfo", "modules.order"} {
		if p := filepath.Join(spec.Kernel.ModulesDir, f); fileExists(p) {
			t.file(base+"/"+f, 0o644, p)
		}
	}
	t.bytes("/etc/netkick-testvm-modules", 0o644, []byte(strings.Join(mods, " ")+"\n"))
	for dst, src := range spec.Extra {
		t.file(dst, 0o755, src)
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
	key, err := t.key()
	if err != nil {
		return "", err
	}
	dir := filepath.Join(cacheDir, "initramfs")
	out := filepath.Join(dir, "installer-"+spec.Kernel.Version+"-"+key+".cpio.gz")
	if fileExists(out) {
		return out, nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("initramfs cache %s: %w", dir, err)
	}
	fmt.Fprintf(log, "testvm: building initramfs %s (%d members)\n", filepath.Base(out), len(t))
	f, err := os.CreateTemp(dir, ".build-*")
	if err != nil {
		return "", err
	}
	defer os.Remove(f.Name())
	if err := t.write(f); err != nil {
		f.Close()
		return "", err
	}
	if err := f.Close(); err != nil {
		return "", err
	}
	if err := os.Chmod(f.Name(), 0o644); err != nil {
		return "", err
	}
	if err := os.Rename(f.Name(), out); err != nil {
		return "", err
	}
	return out, nil
}
