package testvm

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/netkick/netkick/discovery"
	"github.com/netkick/netkick/internal/initramfs"
	"github.com/netkick/netkick/inventory"
)

// DiscoverSerial is the SMBIOS system serial the discover scenario's machine
// gets (-smbios type=1,serial=…); its facts must report it.
const DiscoverSerial = "NK-TESTVM-DISC-0001"

// Where the rig puts the discovery environment under the boot root (the
// serve config's discovery.kernel and discovery.initrd).
const (
	discoveryKernel = "discovery/vmlinuz"
	discoveryInitrd = "discovery/initrd.img"
)

// discoveryConfigYAML is the rig server's discovery settings: every unknown
// machine on the rig's bridge is discovered and boots the environment.
func discoveryConfigYAML() string {
	return `discovery:
  kernel: ` + discoveryKernel + `
  initrd: ` + discoveryInitrd + `
  kernel_args: console=ttyS0
  after: wait
`
}

// rigDiscoveryModules are the drivers of the rig's VMs the discovery image
// must have (the e1000 NIC, the IDE and AHCI disk stacks); the site
// defaults (discovery.DefaultModules) come along where the kernel has them.
func rigDiscoveryModules() []string {
	return []string{"e1000", "ata_piix", "ahci", "sd_mod", "crct10dif_generic", "crc64_rocksoft_generic"}
}

// placeDiscovery builds netkick's discovery initramfs as `netkick discovery
// initramfs` does (discovery.Image) from the rig's BusyBox and kernel, and
// puts it and the kernel under the boot root. The modules come from a copy
// of the kernel's tree whose modules are compressed as distributions ship
// them (compressedModules): the image must carry them decompressed, and the
// machine's disks and NIC in its facts prove BusyBox loaded them.
func (r *rig) placeDiscovery(ctx context.Context) error {
	bb, err := exec.LookPath("busybox")
	if err != nil {
		return fmt.Errorf("discovery initramfs: busybox not found: install busybox-static (scripts/deps.sh)")
	}
	mods, err := compressedModules(ctx, r.kernel, append(rigDiscoveryModules(), discovery.DefaultModules()...), r.kernel.Root+"-compressed-modules")
	if err != nil {
		return fmt.Errorf("discovery initramfs: %w", err)
	}
	t, _, err := discovery.Image(discovery.ImageSpec{BusyBox: bb, Modules: initramfs.ModuleSet{
		Dir: mods, Version: r.kernel.Version, Want: rigDiscoveryModules(), Optional: discovery.DefaultModules()}})
	if err != nil {
		return fmt.Errorf("discovery initramfs: %w", err)
	}
	counts, err := moduleSources(t, mods, r.kernel.Version)
	if err != nil {
		return fmt.Errorf("discovery initramfs: %w", err)
	}
	if counts[initramfs.XZ] == 0 || counts[initramfs.Zstd] == 0 || counts[initramfs.Gzip] == 0 || counts[initramfs.Uncompressed] != 0 {
		return fmt.Errorf("discovery initramfs: the image's modules come from %v files; want some of each of xz, zstd and gzip, no plain one", counts)
	}
	r.printf("testvm: discovery image from compressed modules: %d xz, %d zstd, %d gzip, decompressed into plain .ko\n",
		counts[initramfs.XZ], counts[initramfs.Zstd], counts[initramfs.Gzip])
	img, err := cachedImage(r.opts.CacheDir, "discovery-"+r.kernel.Version, t, r.opts.Out)
	if err != nil {
		return fmt.Errorf("discovery initramfs: %w", err)
	}
	boot := filepath.Join(r.data, "boot")
	if err := os.MkdirAll(filepath.Join(boot, "discovery"), 0o755); err != nil {
		return err
	}
	for src, dst := range map[string]string{r.kernel.Vmlinuz: discoveryKernel, img: discoveryInitrd} {
		if err := copyFile(src, filepath.Join(boot, dst)); err != nil {
			return err
		}
	}
	return nil
}

// moduleSources counts the image's modules by how their file in the
// modules tree dir is compressed; a compressed one must be in the image
// decompressed (its content in the tree, as a plain .ko).
func moduleSources(t initramfs.Tree, dir, version string) (map[initramfs.Compression]int, error) {
	counts := map[initramfs.Compression]int{}
	base := "/lib/modules/" + version + "/"
	for p, m := range t {
		rel, ok := strings.CutPrefix(p, base)
		if !ok || m.Mode&initramfs.TypeMask != initramfs.TypeReg || !strings.HasSuffix(rel, ".ko") {
			continue
		}
		found := false
		for _, c := range []initramfs.Compression{initramfs.Uncompressed, initramfs.XZ, initramfs.Zstd, initramfs.Gzip} {
			if fileExists(filepath.Join(dir, filepath.FromSlash(rel)+c.Suffix())) {
				if c != initramfs.Uncompressed && m.Src != "" {
					return nil, fmt.Errorf("module %s is in the image as the file %s, not decompressed", p, m.Src)
				}
				counts[c]++
				found = true
				break
			}
		}
		if !found {
			return nil, fmt.Errorf("image member %s: no such module under %s", p, dir)
		}
	}
	return counts, nil
}

// moduleCompressor is how compressedModules compresses a module, by where
// it lies in the tree: the real tools with the options the kernel's
// modules_install uses. NIC drivers get xz (as Debian and RHEL ship
// modules), ATA drivers gzip, everything else zstd (as Ubuntu and Fedora).
func moduleCompressor(rel string) []string {
	switch {
	case strings.HasPrefix(rel, "kernel/drivers/net/"):
		return []string{"xz", "-f", "--check=crc32", "--lzma2=dict=1MiB"}
	case strings.HasPrefix(rel, "kernel/drivers/ata/"):
		return []string{"gzip", "-f", "-n"}
	}
	return []string{"zstd", "-f", "-q", "--rm"}
}

// compressedModules returns a copy of k's modules tree under root (made
// once, then reused) in which the modules want needs, with their
// dependencies, are compressed by xz, zstd and gzip (moduleCompressor) and
// every other file is a hard link to the package's.
func compressedModules(ctx context.Context, k *Kernel, want []string, root string) (string, error) {
	dir := filepath.Join(root, "lib", "modules", k.Version)
	done := filepath.Join(root, ".done")
	if fileExists(done) {
		return dir, nil
	}
	if err := os.RemoveAll(root); err != nil {
		return "", err
	}
	idx, err := initramfs.ModuleIndex(k.ModulesDir)
	if err != nil {
		return "", err
	}
	var found []string
	for _, m := range want {
		if _, ok := idx[initramfs.ModuleName(m)]; ok {
			found = append(found, m)
		}
	}
	need, err := initramfs.ModuleClosure(found, initramfs.InfoFunc(idx))
	if err != nil {
		return "", err
	}
	err = filepath.WalkDir(k.ModulesDir, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(k.ModulesDir, p)
		if d.IsDir() {
			return os.MkdirAll(filepath.Join(dir, rel), 0o755)
		}
		return os.Link(p, filepath.Join(dir, rel))
	})
	if err != nil {
		return "", fmt.Errorf("linking a copy of %s: %w", k.ModulesDir, err)
	}
	for _, n := range need {
		rel, _ := filepath.Rel(k.ModulesDir, idx[n])
		argv := moduleCompressor(filepath.ToSlash(rel))
		prog, err := exec.LookPath(argv[0])
		if err != nil {
			return "", fmt.Errorf("%s not found: install xz-utils, zstd and gzip (scripts/deps.sh)", argv[0])
		}
		if out, err := exec.CommandContext(ctx, prog, append(argv[1:], filepath.Join(dir, rel))...).CombinedOutput(); err != nil {
			return "", fmt.Errorf("%s %s: %w: %s", strings.Join(argv, " "), rel, err, out)
		}
	}
	if err := os.WriteFile(done, []byte(k.Package+"\n"), 0o644); err != nil {
		return "", err
	}
	return dir, nil
}

// runDiscovery is the first half of the discover scenario: the machine,
// unknown to netkick, network-boots, is recorded as discovered, boots the
// discovery environment and reports its facts, which must match the
// virtual hardware; then `netkick host adopt` and `netkick host build` make
// it a host in build mode, and `layout plan --host` must plan its layout
// on the reported disks as the rig plans it on the images. The caller boots
// it again to install (the rest of the scenario is the usual one).
func (r *rig) runDiscovery(ctx context.Context, s Scenario, vm *VM, dir string, start time.Time, problem func(string, ...any)) bool {
	mac := s.hostMAC()
	if !r.pxe {
		problem("scenario %s network-boots an unknown machine: it needs a netkick with a DHCP server", s.Name)
		return false
	}
	if err := r.placeDiscovery(ctx); err != nil {
		problem("%v", err)
		return false
	}
	first := *vm
	first.Serial = filepath.Join(dir, s.Name+".discovery.serial.log")
	var d inventory.Discovered
	var last time.Time
	reported := func() bool {
		if d.Facts != nil {
			return true
		}
		if time.Since(last) < time.Second {
			return false
		}
		last = time.Now()
		return r.nk.api(ctx, "GET", "/api/v1/discovered/"+mac, nil, &d) == nil && d.Facts != nil
	}
	r.printf("[%s] discovery boot of unknown machine %s\n", s.Name, mac)
	if err := r.bootVM(ctx, s, first, NewTimeline(start), reported, r.opts.Timeout); err != nil {
		problem("discovery boot: %v", err)
	}
	if !reported() {
		if err := r.nk.api(ctx, "GET", "/api/v1/discovered/"+mac, nil, &d); err != nil {
			problem("the machine was not recorded as discovered: %v", err)
		} else {
			problem("discovered machine %s reported no facts (see %s)", mac, first.Serial)
		}
		return false
	}
	r.printf("[%s] %5.1fs discovered: arch %s, addresses %v, facts %d CPUs, %s, %d disks, DMI serial %q\n", s.Name, time.Since(start).Seconds(),
		d.Arch, d.Addresses, d.Facts.CPU.Count, inventory.HumanBytes(d.Facts.MemoryBytes), len(d.Facts.Disks), d.Facts.DMI.Serial)
	for _, p := range FactsProblems(d, mac, vm.RAMMiB, diskSizes(vm), vm.DiskSerials, vm.SMBIOSSerial) {
		problem("facts: %s", p)
	}
	netkick := func(args ...string) (string, error) { return r.nk.remoteText(ctx, args...) }
	if out, err := netkick("host", "adopt", mac, "--hostname", s.Hostname, "--profile", "testvm", "--layout", s.Layout); err != nil {
		problem("netkick host adopt: %v: %s", err, out)
		return false
	} else {
		r.printf("[%s] %5.1fs %s\n", s.Name, time.Since(start).Seconds(), out)
	}
	plan, err := netkick("layout", "plan", s.Layout, "--host", s.Hostname)
	if err != nil {
		problem("netkick layout plan %s --host %s: %v: %s", s.Layout, s.Hostname, err, plan)
	} else {
		args := []string{"layout", "plan", s.Layout, "--ram", fmt.Sprintf("%dM", d.Facts.MemoryBytes>>20)}
		// The disks in the order the machine named them (its facts'
		// order): the plan --host must equal the plan for those sizes.
		for _, dk := range d.Facts.Disks {
			args = append(args, "--disk", fmt.Sprintf("%dM", dk.SizeBytes>>20))
		}
		want, err := netkick(args...)
		if err != nil || want != plan {
			problem("layout plan --host %s differs from the plan on the disks it reported (%v):\n%s\nwant (%s):\n%s", s.Hostname, err, plan, strings.Join(args, " "), want)
		}
	}
	if out, err := netkick("host", "build", mac); err != nil {
		problem("netkick host build: %v: %s", err, out)
		return false
	}
	tap, err := r.newTap(ctx)
	if err != nil {
		problem("tap: %v", err)
		return false
	}
	vm.Tap = tap
	return true
}

// remoteText runs `netkick ARGS…` against the server, inside the
// namespace, with the admin token, and returns what it printed.
func (c *client) remoteText(ctx context.Context, args ...string) (string, error) {
	args = append(args, "--server", c.baseURL(), "--token-file", filepath.Join(c.data, "admin.token"))
	out, err := c.net.Command(ctx, c.bin, args...).CombinedOutput()
	return strings.TrimSpace(string(out)), err
}

// diskSizes are the sizes of the VM's disk images.
func diskSizes(vm *VM) []int64 {
	var out []int64
	for _, p := range vm.Disks {
		fi, err := os.Stat(p)
		if err != nil {
			out = append(out, -1)
			continue
		}
		out = append(out, fi.Size())
	}
	return out
}

// FactsProblems compares a discovered machine's facts with the hardware
// QEMU was given: its MAC, RAM (MemTotal: what the kernel did not keep, so
// a little less), each disk's size and serial, and the SMBIOS serial.
func FactsProblems(d inventory.Discovered, mac string, ramMiB int, disks []int64, diskSerials []string, serial string) []string {
	var out []string
	f := d.Facts
	if d.MAC != mac {
		out = append(out, fmt.Sprintf("recorded MAC %s, the VM's is %s", d.MAC, mac))
	}
	found := false
	for _, n := range f.NICs {
		if n.MAC == mac {
			found = true
			if !n.Link {
				out = append(out, fmt.Sprintf("NIC %s (%s) reported without link", n.Name, mac))
			}
		}
	}
	if !found {
		out = append(out, fmt.Sprintf("no NIC with the VM's MAC %s among %+v", mac, f.NICs))
	}
	ram := int64(ramMiB) << 20
	if f.MemoryBytes > ram || f.MemoryBytes < ram-ram/8 {
		out = append(out, fmt.Sprintf("memory %d bytes, the VM has %d (MemTotal must lie within 1/8 below it)", f.MemoryBytes, ram))
	}
	if len(f.Disks) != len(disks) {
		out = append(out, fmt.Sprintf("%d disks reported, the VM has %d: %+v", len(f.Disks), len(disks), f.Disks))
	} else {
		for i, want := range disks {
			// The kernel binds disks asynchronously, so its names need not
			// follow QEMU's order: with serials, each image is the disk
			// that reports its serial; without, the i-th disk named.
			got, what := f.Disks[i], fmt.Sprintf("the VM's image %d", i)
			if i < len(diskSerials) {
				j := slices.IndexFunc(f.Disks, func(d inventory.DiskFact) bool { return d.Serial == diskSerials[i] })
				if j < 0 {
					out = append(out, fmt.Sprintf("no disk reports the serial %q of the VM's image %d: %+v", diskSerials[i], i, f.Disks))
					continue
				}
				got, what = f.Disks[j], fmt.Sprintf("the VM's image %d (serial %s)", i, diskSerials[i])
			}
			if got.SizeBytes != want {
				out = append(out, fmt.Sprintf("disk %s: %d bytes, %s is %d", got.Name, got.SizeBytes, what, want))
			}
		}
	}
	if f.DMI.Serial != serial {
		out = append(out, fmt.Sprintf("DMI serial %q, QEMU was given %q", f.DMI.Serial, serial))
	}
	if f.CPU.Count < 1 {
		out = append(out, fmt.Sprintf("cpu count %d", f.CPU.Count))
	}
	return out
}

// runDiscover is the discover scenario: the discovery half (runDiscovery),
// then the usual install of the adopted host and its checks.
func (r *rig) runDiscover(ctx context.Context, s Scenario, vm VM, dir string, start time.Time, tl *Timeline, res *Result) []string {
	var p problems
	vm.SMBIOSSerial, vm.DiskSerials = DiscoverSerial, []string{"NKDISC0", "NKDISC1"}
	if !r.runDiscovery(ctx, s, &vm, dir, start, p.add) {
		return p
	}
	return append(p, r.runInstall(ctx, s, vm, dir, start, tl, res)...)
}
