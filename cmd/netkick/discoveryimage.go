package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/netkick/netkick/discovery"
	"github.com/netkick/netkick/internal/initramfs"
	"github.com/netkick/netkick/inventory"
)

// Where serve finds the discovery environment when the config names none
// (docs/discovery.md): under the boot root.
const (
	defaultDiscoveryKernel = "discovery/vmlinuz"
	defaultDiscoveryInitrd = "discovery/initrd.img"
)

func discoveryCmd(a *app) *cobra.Command {
	return group("discovery", "the discovery environment machines DHCP discovered boot: build its initramfs",
		discoveryInitramfsCmd(a))
}

// discoveryImageFlags are the flags of `netkick discovery initramfs`.
type discoveryImageFlags struct {
	out, busybox, modulesFrom, kernelVersion, kernel string
	modules                                          []string
	noDefaults                                       bool
}

func discoveryInitramfsCmd(a *app) *cobra.Command {
	var configPath string
	var o discoveryImageFlags
	c := &cobra.Command{
		Use:   "initramfs [-o FILE] [--modules-from DIR | --kernel-version V] [--kernel VMLINUZ] [--busybox PATH] [--module M]… [--config F]",
		Short: "build netkick's discovery initramfs (BusyBox, the facts script, the kernel's NIC and disk drivers) into the boot root",
		Long: "Build the BusyBox initramfs machines discovered under dhcp.unknown: discover boot, for the\n" +
			"kernel whose modules are in --modules-from (default /lib/modules/<--kernel-version>, default\n" +
			"the running kernel's). It is written where serve serves discovery.initrd from (default\n" +
			"<boot root>/" + defaultDiscoveryInitrd + "); the kernel (--kernel, else the vmlinuz beside the modules\n" +
			"tree) is copied to discovery.kernel. Modules may be plain or compressed (.ko.xz, .ko.zst,\n" +
			".ko.gz, as the kernel package installs them); the image carries them decompressed.\n" +
			"See docs/discovery.md.",
		RunE: func(c *cobra.Command, pos []string) error {
			if len(pos) != 0 {
				return usageError{"discovery initramfs takes no arguments"}
			}
			if o.modulesFrom != "" && o.kernelVersion != "" {
				return usageError{"give --modules-from DIR or --kernel-version V, not both"}
			}
			cfg, err := resolveServeConfig(c.Flags(), configPath)
			if err != nil {
				return err
			}
			root := cfg.BootRoot
			if root == "" {
				root = filepath.Join(cfg.Data, "boot")
			}
			kernelDst, initrdDst := cfg.Discovery.Kernel, cfg.Discovery.Initrd
			if kernelDst == "" {
				kernelDst = defaultDiscoveryKernel
			}
			if initrdDst == "" {
				initrdDst = defaultDiscoveryInitrd
			}
			if o.out == "" {
				o.out = filepath.Join(root, initrdDst)
			}
			return a.discoveryInitramfs(o, filepath.Join(root, kernelDst), kernelDst, initrdDst)
		},
	}
	f := c.Flags()
	f.StringVarP(&o.out, "output", "o", "", "write the initramfs to FILE (default <boot root>/discovery.initrd)")
	f.StringVar(&o.busybox, "busybox", "", "the BusyBox binary (default busybox on PATH; static, from busybox-static, is best)")
	f.StringVar(&o.modulesFrom, "modules-from", "", "the kernel's modules directory, /lib/modules/VERSION or the same in an unpacked kernel package")
	f.StringVar(&o.kernelVersion, "kernel-version", "", "take the modules from /lib/modules/V (default: the running kernel)")
	f.StringVar(&o.kernel, "kernel", "", "the kernel image to copy to discovery.kernel (default: boot/vmlinuz-VERSION beside the modules tree, if there)")
	f.StringSliceVar(&o.modules, "module", nil, "a driver the machines need (NIC, disk controller); must be a module of the kernel; repeatable")
	f.BoolVar(&o.noDefaults, "no-default-modules", false, "carry only the --module drivers, not the common server NIC and disk drivers")
	f.StringVar(&configPath, "config", os.Getenv("NETKICK_CONFIG"), "the YAML config file netkick serve runs with: its data dir, boot_root and discovery.kernel/initrd (env NETKICK_CONFIG)")
	registerServeFlags(f) // data, boot_root, discovery.* read as serve reads them
	completeConfigFlags(c)
	return c
}

// runningKernel is the running kernel's release (uname -r).
func runningKernel() (string, error) {
	b, err := os.ReadFile("/proc/sys/kernel/osrelease")
	if err != nil {
		return "", fmt.Errorf("the running kernel's release: %w (name the kernel with --modules-from or --kernel-version)", err)
	}
	return strings.TrimSpace(string(b)), nil
}

// discoveryInitramfs builds the image, copies the kernel and says what to do next.
func (a *app) discoveryInitramfs(o discoveryImageFlags, kernelPath, kernelCfg, initrdCfg string) error {
	bb := o.busybox
	if bb == "" {
		p, err := exec.LookPath("busybox")
		if err != nil {
			return fmt.Errorf("busybox not found on PATH: install busybox-static (apt-get install busybox-static), or name the binary with --busybox")
		}
		bb = p
	}
	dir, ver := o.modulesFrom, o.kernelVersion
	if dir == "" {
		if ver == "" {
			v, err := runningKernel()
			if err != nil {
				return err
			}
			ver = v
		}
		dir = filepath.Join("/lib/modules", ver)
	}
	dir = filepath.Clean(dir)
	if ver == "" {
		ver = filepath.Base(dir)
	}
	if fi, err := os.Stat(dir); err != nil || !fi.IsDir() {
		return fmt.Errorf("kernel modules directory %s not found: install the kernel package the machines boot (e.g. apt-get install linux-image-amd64, or unpack it with dpkg -x), then name it with --modules-from DIR or --kernel-version V", dir)
	}
	ms := initramfs.ModuleSet{Dir: dir, Version: ver, Want: o.modules}
	if !o.noDefaults {
		ms.Optional = discovery.DefaultModules()
	}
	t, info, err := discovery.Image(discovery.ImageSpec{BusyBox: bb, Modules: ms})
	if err != nil {
		return err
	}
	if err := t.WriteFile(o.out); err != nil {
		return err
	}
	fi, err := os.Stat(o.out)
	if err != nil {
		return err
	}
	fmt.Fprintf(a.stdout, "wrote %s: %d members, %s; kernel %s, %d modules to load", o.out, len(t), inventory.HumanBytes(fi.Size()), ver, len(info.Load))
	if len(info.Libraries) > 0 {
		fmt.Fprintf(a.stdout, "; busybox is dynamic, %d libraries added", len(info.Libraries))
	}
	fmt.Fprintln(a.stdout)
	if len(info.Load) == 0 {
		fmt.Fprintf(a.stdout, "warning: no NIC or disk driver is a module of kernel %s: they must be built in, or name them with --module\n", ver)
	}
	if len(info.Skipped) > 0 {
		fmt.Fprintf(a.stdout, "not modules of this kernel (built in or absent), skipped: %s\n", strings.Join(info.Skipped, " "))
	}
	kernel := o.kernel
	if kernel == "" {
		// An unpacked kernel package (dpkg -x): ROOT/lib/modules/V and ROOT/boot/vmlinuz-V.
		if k := filepath.Join(dir, "..", "..", "..", "boot", "vmlinuz-"+ver); fileExistsRegular(k) {
			kernel = filepath.Clean(k)
		}
	}
	if kernel != "" {
		if err := os.MkdirAll(filepath.Dir(kernelPath), 0o755); err != nil {
			return fmt.Errorf("create %s: %w", filepath.Dir(kernelPath), err)
		}
		n, err := copyAtomic(kernel, kernelPath)
		if err != nil {
			return err
		}
		fmt.Fprintf(a.stdout, "copied kernel %s -> %s (%s)\n", kernel, kernelPath, inventory.HumanBytes(n))
	} else {
		fmt.Fprintf(a.stdout, "no kernel copied: put the vmlinuz of kernel %s at %s (or pass --kernel FILE)\n", ver, kernelPath)
	}
	fmt.Fprintf(a.stdout, "next: in the serve config set\n  dhcp:\n    unknown: discover\n    discover:\n      subnets: [<the subnet to discover>]\n  discovery:\n    kernel: %s\n    initrd: %s\nthen restart netkick serve, PXE-boot a machine, and run `netkick discovered list`\n", kernelCfg, initrdCfg)
	return nil
}

func fileExistsRegular(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && fi.Mode().IsRegular()
}
