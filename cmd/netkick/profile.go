package main

import (
	"context"
	"fmt"
	"sort"
	"text/tabwriter"

	"github.com/netkick/netkick/inventory"

	"github.com/spf13/cobra"
)

// profileCmd is `netkick profile …`: OS profiles.
func profileCmd(a *app) *cobra.Command {
	return group("profile", "manage OS profiles: add, list, fetch",
		profileAddCmd(a), profileListCmd(a), profileFetchCmd(a))
}

func profileAddCmd(a *app) *cobra.Command {
	var p inventory.Profile
	c := &cobra.Command{
		Use:   "add NAME --os centos --version 5.3 [--install-url URL] [--kernel PATH] [--initrd PATH] [--template NAME] [--layout L] [--timezone Z]",
		Short: "add or replace an OS profile",
		RunE: func(c *cobra.Command, pos []string) error {
			if len(pos) != 1 || p.Version == "" {
				return usageError{"want NAME and --version"}
			}
			p.Name = pos[0]
			b, err := a.sf.open()
			if err != nil {
				return err
			}
			defer b.Close()
			if err := b.PutProfile(c.Context(), &p); err != nil {
				return err
			}
			fmt.Fprintf(a.stdout, "saved profile %s (%s %s)\n", p.Name, p.OS, p.Version)
			return nil
		},
	}
	f := c.Flags()
	f.StringVar(&p.OS, "os", "centos", "OS name: centos, rhel, rocky, alma, fedora")
	f.StringVar(&p.Version, "version", "", "OS version, e.g. 5.3, 6.10, 7.9 (required)")
	f.StringVar(&p.InstallURL, "install-url", "", "install tree URL (default: <server>/boot/<name>/os/)")
	f.StringVar(&p.Kernel, "kernel", "", "installer kernel, relative to the boot root")
	f.StringVar(&p.Initrd, "initrd", "", "installer initrd, relative to the boot root")
	f.StringVar(&p.KernelArgs, "kernel-args", "", "extra kernel arguments for the installer")
	f.StringVar(&p.Template, "template", "", "kickstart template name under ks/ (default: default)")
	f.StringVar(&p.Layout, "layout", "", "default disk layout")
	f.StringVar(&p.Timezone, "timezone", "", "default time zone")
	f.StringVar(&p.BootLoader, "bootloader", "", "first stage: pxelinux (also for BIOS iPXE ROMs), ipxe (undionly.kpxe for BIOS PXE), snponly (UEFI) or grub (UEFI Secure Boot: shim, then signed GRUB); empty picks by firmware")
	f.StringVar(&p.Shim, "shim", "", "bootloader grub: the profile's own signed shim under the boot root (grubx64.efi beside it); default shimx64.efi at the top (netkick bootfiles); profile fetch sets it")
	return c
}

func profileListCmd(a *app) *cobra.Command {
	var output string
	c := &cobra.Command{
		Use:   "list [-o json|yaml]",
		Short: "list OS profiles",
		RunE: a.listRunE("profile list", &output, func(ctx context.Context, b backend) error {
			ps, err := b.ListProfiles(ctx)
			if err != nil {
				return err
			}
			return a.emit(output, ps, func() error {
				tw := tabwriter.NewWriter(a.stdout, 0, 4, 2, ' ', 0)
				fmt.Fprintln(tw, "NAME\tOS\tVERSION\tTEMPLATE\tLAYOUT\tINSTALL URL")
				for _, p := range ps {
					fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", p.Name, p.OS, p.Version, dash(p.Template), dash(p.Layout), dash(p.InstallURL))
				}
				return tw.Flush()
			})
		}),
	}
	addOutputFlag(c, &output, outTable)
	return c
}

func sortStrings(s []string) { sort.Strings(s) }
