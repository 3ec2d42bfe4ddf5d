package main

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/spf13/cobra"

	"github.com/netkick/netkick/boot"
)

// bootLoader is one first-stage file netkick serves, and where the machine's
// packages put it.
type bootLoader struct {
	name    string
	pkg     string   // Debian package that ships it
	sources []string // candidate paths, Debian first
	elPkg   string   // the EL package, where it differs
}

// elEFIDirs are where EL's shim-x64 and grub2-efi-x64 put their files.
var elEFIDirs = []string{"redhat", "centos", "rocky", "almalinux", "ol"}

func elEFI(name string) []string {
	var out []string
	for _, d := range elEFIDirs {
		out = append(out, "/boot/efi/EFI/"+d+"/"+name)
	}
	return out
}

func bootLoaders() []bootLoader {
	return []bootLoader{
		{"pxelinux.0", "pxelinux", []string{"/usr/lib/PXELINUX/pxelinux.0", "/usr/share/syslinux/pxelinux.0"}, ""},
		{"lpxelinux.0", "pxelinux", []string{"/usr/lib/PXELINUX/lpxelinux.0", "/usr/share/syslinux/lpxelinux.0"}, ""},
		{"ldlinux.c32", "syslinux-common", []string{"/usr/lib/syslinux/modules/bios/ldlinux.c32", "/usr/share/syslinux/ldlinux.c32"}, ""},
		{"undionly.kpxe", "ipxe", []string{"/usr/lib/ipxe/undionly.kpxe", "/usr/share/ipxe/undionly.kpxe"}, ""},
		{"ipxe.efi", "ipxe", []string{"/usr/lib/ipxe/ipxe.efi", "/usr/share/ipxe/ipxe-x86_64.efi", "/usr/share/ipxe/ipxe.efi"}, ""},
		{"snponly.efi", "ipxe", []string{"/usr/lib/ipxe/snponly.efi", "/usr/share/ipxe/ipxe-snponly-x86_64.efi", "/usr/share/ipxe/snponly.efi"}, ""},
		// Secure Boot (bootloader grub): shim signed by Microsoft's UEFI CA,
		// and beside it the GRUB its vendor signed. Debian's network GRUB
		// (grubnetx64) has its network and TFTP modules built in.
		{boot.FileShim, "shim-signed", append([]string{"/usr/lib/shim/shimx64.efi.signed"}, elEFI("shimx64.efi")...), "shim-x64"},
		{boot.FileGRUB, "grub-efi-amd64-signed", append([]string{"/usr/lib/grub/x86_64-efi-signed/grubnetx64.efi.signed"}, elEFI("grubx64.efi")...), "grub2-efi-x64"},
	}
}

// bootfilesCmd is `netkick bootfiles`: it copies the PXE loaders into the
// boot root and reports what it found and what is missing. It fails (exit 1)
// when anything is missing.
func bootfilesCmd(a *app) *cobra.Command {
	var root, from string
	c := &cobra.Command{
		Use:   "bootfiles [--boot-root DIR] [--from DIR]",
		Short: "copy the PXE loaders (pxelinux, iPXE, signed shim and GRUB) from the machine's packages into the boot root",
		RunE: func(c *cobra.Command, pos []string) error {
			if len(pos) != 0 {
				return usageError{"bootfiles takes no arguments"}
			}
			return a.bootfiles(root, from, dataNamed(c))
		},
	}
	c.Flags().StringVar(&root, "boot-root", "", "boot root to fill (default <data>/boot)")
	c.Flags().StringVar(&from, "from", "", "look in this directory first (files by their served name), then in the packages' paths")
	return c
}

func (a *app) bootfiles(root, from string, dataNamed bool) error {
	dir := root
	if dir == "" {
		if err := a.sf.needDataUnlessNamed(dataNamed); err != nil {
			return err
		}
		dir = filepath.Join(a.sf.data, "boot")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("create boot root %s: %w (choose another with --boot-root)", dir, err)
	}
	missingPkgs := map[string]bool{}
	var missing []string
	for _, l := range bootLoaders() {
		srcs := l.sources
		if from != "" {
			srcs = append([]string{filepath.Join(from, l.name)}, srcs...)
		}
		src := ""
		for _, s := range srcs {
			if st, err := os.Stat(s); err == nil && st.Mode().IsRegular() {
				src = s
				break
			}
		}
		if src == "" {
			missing = append(missing, l.name)
			missingPkgs[l.pkg] = true
			pkg := "Debian package " + l.pkg
			if l.elPkg != "" {
				pkg += ", EL " + l.elPkg
			}
			fmt.Fprintf(a.stdout, "missing %-14s (%s; looked in %s)\n", l.name, pkg, strings.Join(srcs, ", "))
			continue
		}
		n, err := copyAtomic(src, filepath.Join(dir, l.name))
		if err != nil {
			return err
		}
		fmt.Fprintf(a.stdout, "found   %-14s %s -> %s (%d bytes)\n", l.name, src, filepath.Join(dir, l.name), n)
	}
	if len(missing) > 0 {
		pkgs := make([]string, 0, len(missingPkgs))
		for p := range missingPkgs {
			pkgs = append(pkgs, p)
		}
		sort.Strings(pkgs)
		return fmt.Errorf("%d of %d boot files missing (%s): install them with `apt-get install %s` and run `netkick bootfiles` again",
			len(missing), len(bootLoaders()), strings.Join(missing, ", "), strings.Join(pkgs, " "))
	}
	fmt.Fprintf(a.stdout, "boot root %s has all %d PXE loaders (%s and %s for UEFI Secure Boot)\n", dir, len(bootLoaders()), boot.FileShim, boot.FileGRUB)
	return nil
}

// copyAtomic copies src to dst through a temporary file and a rename, so a
// running TFTP server never serves half a file.
func copyAtomic(src, dst string) (int64, error) {
	in, err := os.Open(src)
	if err != nil {
		return 0, fmt.Errorf("read %s: %w", src, err)
	}
	defer in.Close()
	tmp, err := os.CreateTemp(filepath.Dir(dst), "."+filepath.Base(dst)+".*")
	if err != nil {
		return 0, fmt.Errorf("write into boot root: %w", err)
	}
	n, err := io.Copy(tmp, in)
	if err == nil {
		err = tmp.Chmod(0o644)
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), dst)
	}
	if err != nil {
		os.Remove(tmp.Name())
		return 0, fmt.Errorf("copy %s to %s: %w", src, dst, err)
	}
	return n, nil
}
