package main

import (
	"context"
	"fmt"
	"sort"
	"text/tabwriter"

	"github.com/netkick/netkick/inventory"
)

const profileUsage = `profile add NAME --os centos --version 5.3 [--install-url URL] [--kernel PATH] [--initrd PATH] [--template NAME] [--layout L] [--timezone Z]
       netkick profile list
       netkick profile fetch NAME [--from URL|DIR] [--boot-root DIR] [--arch x86_64]`

func runProfile(ctx context.Context, a *app, args []string) error {
	if len(args) == 0 {
		return usageError{"missing subcommand; usage: netkick " + profileUsage}
	}
	sub, args := args[0], args[1:]
	var sf storeFlags
	fs := a.newFlags("profile "+sub, profileUsage)
	sf.register(fs)
	switch sub {
	case "add":
		var p inventory.Profile
		fs.StringVar(&p.OS, "os", "centos", "OS name: centos, rhel, rocky, alma, fedora")
		fs.StringVar(&p.Version, "version", "", "OS version, e.g. 5.3, 6.10, 7.9 (required)")
		fs.StringVar(&p.InstallURL, "install-url", "", "install tree URL (default: <server>/boot/<name>/os/)")
		fs.StringVar(&p.Kernel, "kernel", "", "installer kernel, relative to the boot root")
		fs.StringVar(&p.Initrd, "initrd", "", "installer initrd, relative to the boot root")
		fs.StringVar(&p.KernelArgs, "kernel-args", "", "extra kernel arguments for the installer")
		fs.StringVar(&p.Template, "template", "", "kickstart template name under ks/ (default: default)")
		fs.StringVar(&p.Layout, "layout", "", "default disk layout")
		fs.StringVar(&p.Timezone, "timezone", "", "default time zone")
		fs.StringVar(&p.BootLoader, "bootloader", "", "first stage: pxelinux (also for BIOS iPXE ROMs), ipxe (undionly.kpxe for BIOS PXE), snponly (UEFI) or grub (UEFI Secure Boot: shim, then signed GRUB); empty picks by firmware")
		fs.StringVar(&p.Shim, "shim", "", "bootloader grub: the profile's own signed shim under the boot root (grubx64.efi beside it); default shimx64.efi at the top (`netkick bootfiles`); `profile fetch` sets it")
		pos, err := parse(fs, args)
		if err != nil {
			return err
		}
		if len(pos) != 1 || p.Version == "" {
			return usageError{"want NAME and --version; usage: netkick " + profileUsage}
		}
		p.Name = pos[0]
		b, err := sf.open()
		if err != nil {
			return err
		}
		defer b.Close()
		if err := b.PutProfile(ctx, &p); err != nil {
			return err
		}
		fmt.Fprintf(a.stdout, "saved profile %s (%s %s)\n", p.Name, p.OS, p.Version)
		return nil
	case "list":
		_, b, err := sf.parseOpen(fs, args)
		if err != nil {
			return err
		}
		defer b.Close()
		ps, err := b.ListProfiles(ctx)
		if err != nil {
			return err
		}
		tw := tabwriter.NewWriter(a.stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "NAME\tOS\tVERSION\tTEMPLATE\tLAYOUT\tINSTALL URL")
		for _, p := range ps {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", p.Name, p.OS, p.Version, dash(p.Template), dash(p.Layout), dash(p.InstallURL))
		}
		return tw.Flush()
	case "fetch":
		return runProfileFetch(ctx, a, fs, &sf, args)
	default:
		return usageError{fmt.Sprintf("unknown subcommand %q; usage: netkick %s", sub, profileUsage)}
	}
}

func sortStrings(s []string) { sort.Strings(s) }
