package testvm

import (
	"context"
	"crypto/sha256"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/netkick/netkick/inventory"
)

// This file sets up what the server serves: the inventory, the boot root
// with its loaders, the installer as an install tree.

// LVS service of the rig's cluster: the VIP the director balances.
const (
	RigVIP  = "192.0.2.40"
	RigPort = 80
)

// inventoryFor builds the rig's inventory (as YAML-ready maps): the testvm
// profile (the mini installer as kernel and initrd), one host per scenario
// in build mode, and the LVS cluster with its network and virtual service.
func inventoryFor(scenarios []Scenario) map[string]any {
	profile := map[string]any{
		"name": "testvm", "os": "centos", "version": "7.9",
		"kernel": "testvm/vmlinuz", "initrd": "testvm/initrd.img",
		"install_url": "http://" + ServerIP + ":8080/boot/testvm/os/",
		"kernel_args": "console=ttyS0 testvm.report=http://" + ServerIP + ":" + ReportPort + "/report",
	}
	var hosts []map[string]any
	clusters := map[string]map[string]any{}
	var order []string
	for _, s := range scenarios {
		if s.Discover {
			continue // unknown until discovered and adopted
		}
		h := map[string]any{"macs": []string{s.MAC}, "hostname": s.Hostname,
			"profile": "testvm", "state": string(inventory.StateBuild), "timezone": "Europe/Paris"}
		if s.IP != "" {
			h["ip"] = s.IP
		}
		if len(s.Roles) > 0 {
			h["roles"] = s.Roles
		}
		if s.Layout != "" {
			h["layout"] = s.Layout
		}
		if s.Cluster != "" {
			h["cluster"] = s.Cluster
			if _, ok := clusters[s.Cluster]; !ok {
				clusters[s.Cluster] = map[string]any{"name": s.Cluster}
				order = append(order, s.Cluster)
			}
			if contains(s.Roles, "lvs-director") {
				c := clusters[s.Cluster]
				if _, ok := c["primary"]; !ok {
					c["primary"] = s.Hostname
				}
			}
		}
		params := map[string]string{}
		for k, v := range s.Params {
			params[k] = v
		}
		if s.IPVS {
			// The mini installer applies this cluster to the guest's kernel.
			params["kernel_args"] = "testvm.lvs=" + s.Cluster
		}
		if len(params) > 0 {
			h["params"] = params
		}
		hosts = append(hosts, h)
		if t := s.Simulated; t != nil {
			tw := map[string]any{}
			for k, v := range h {
				tw[k] = v
			}
			tw["macs"], tw["hostname"], tw["ip"] = []string{t.MAC()}, s.Hostname+"-sim", t.IP
			hosts = append(hosts, tw)
		}
	}
	var cl []map[string]any
	for _, n := range order {
		c := clusters[n]
		c["network"] = "direct"
		c["subnet"] = "192.0.2.0/24"
		c["services"] = []map[string]any{{"name": "WWW", "vip": RigVIP, "port": RigPort,
			"protocol": "tcp", "scheduler": "lc", "interface": "eth0:1"}}
		cl = append(cl, c)
	}
	d := map[string]any{"profiles": []any{profile}, "hosts": hosts}
	if len(cl) > 0 {
		d["clusters"] = cl
	}
	return d
}

func contains(xs []string, x string) bool {
	for _, y := range xs {
		if y == x {
			return true
		}
	}
	return false
}

// serveConfigYAML is the server config for PXE mode: full DHCP on the
// bridge, or proxyDHCP beside the site's server.
func serveConfigYAML(bridge string, proxy bool) string {
	if proxy {
		return `dhcp:
  interface: ` + bridge + `
  mode: proxy
  unknown: ignore
`
	}
	return `dhcp:
  interface: ` + bridge + `
  mode: full
  unknown: discover
  discover:
    subnets: [192.0.2.0/24]
  subnets:
    - cidr: 192.0.2.0/24
      pools: ["192.0.2.100-192.0.2.200"]
      router: ` + ServerIP + `
      dns: [` + ServerIP + `]
      lease: 1h
` + discoveryConfigYAML()
}

// BootLoaders maps boot-root names to the Debian files the PXE chain needs
// (pxelinux, syslinux-common, syslinux-efi, ipxe).
var BootLoaders = map[string]string{
	"pxelinux.0":    "/usr/lib/PXELINUX/pxelinux.0",
	"lpxelinux.0":   "/usr/lib/PXELINUX/lpxelinux.0",
	"ldlinux.c32":   "/usr/lib/syslinux/modules/bios/ldlinux.c32",
	"syslinux.efi":  "/usr/lib/SYSLINUX.EFI/efi64/syslinux.efi",
	"ldlinux.e64":   "/usr/lib/syslinux/modules/efi64/ldlinux.e64",
	"undionly.kpxe": "/usr/lib/ipxe/undionly.kpxe",
	"ipxe.efi":      "/usr/lib/ipxe/ipxe.efi",
	"snponly.efi":   "/usr/lib/ipxe/snponly.efi",
}

// installLoaders copies the PXE boot loaders into the boot root.
func installLoaders(root string) error {
	for name, src := range BootLoaders {
		dst := filepath.Join(root, name)
		if fileExists(dst) {
			continue
		}
		if !fileExists(src) {
			return fmt.Errorf("boot loader %s is missing (install pxelinux, syslinux-common, syslinux-efi and ipxe)", src)
		}
		if err := copyFile(src, dst); err != nil {
			return fmt.Errorf("boot root: %w", err)
		}
	}
	return nil
}

// bootfiles fills the boot root with `netkick bootfiles` (the machine's
// pxelinux, iPXE, and signed shim and GRUB). Scenarios without Secure Boot
// can do without it: installLoaders copies what they need.
func (r *rig) bootfiles(ctx context.Context, scenarios []Scenario) error {
	err := r.nk.Bootfiles(ctx)
	if err == nil {
		return nil
	}
	for _, s := range scenarios {
		if s.SecureBoot {
			return fmt.Errorf("scenario %s needs signed shim and GRUB (install shim-signed and grub-efi-amd64-signed): %w", s.Name, err)
		}
	}
	return nil
}

// placeInstaller puts the mini installer into the boot root the way a user
// puts a distribution's: as an install tree (images/pxeboot/ and a .treeinfo
// with checksums) that `netkick profile fetch` copies and checks.
func (r *rig) placeInstaller(ctx context.Context) error {
	tree := filepath.Join(r.opts.WorkDir, "tree")
	if err := os.MkdirAll(filepath.Join(tree, "images", "pxeboot"), 0o755); err != nil {
		return err
	}
	var sums strings.Builder
	for src, name := range map[string]string{r.kernel.Vmlinuz: "images/pxeboot/vmlinuz", r.initrd: "images/pxeboot/initrd.img"} {
		b, err := os.ReadFile(src)
		if err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(tree, name), b, 0o644); err != nil {
			return err
		}
		fmt.Fprintf(&sums, "%s = sha256:%x\n", name, sha256.Sum256(b))
	}
	ti := "[general]\nfamily = netkick testvm\n[images-x86_64]\nkernel = images/pxeboot/vmlinuz\ninitrd = images/pxeboot/initrd.img\n[checksums]\n" + sums.String()
	if err := os.WriteFile(filepath.Join(tree, ".treeinfo"), []byte(ti), 0o644); err != nil {
		return err
	}
	out, err := r.nk.ProfileFetch(ctx, "testvm", tree)
	switch {
	case err != nil:
		return err
	case strings.Count(out, "sha256 ok (.treeinfo)") != 2:
		return fmt.Errorf("netkick profile fetch testvm did not check both files against .treeinfo:\n%s", out)
	}
	r.printf("testvm: installer placed with `netkick profile fetch` (kernel and initrd checked against .treeinfo)\n")
	return nil
}

func copyFile(src, dst string) error {
	b, err := os.ReadFile(src)
	if err != nil {
		return err
	}
	return os.WriteFile(dst, b, 0o644)
}
