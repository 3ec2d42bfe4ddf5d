package main

import (
	"github.com/spf13/cobra"
)

// renderCmd is `netkick render KIND HOST`: exactly what HOST would be served.
func renderCmd(a *app) *cobra.Command {
	return &cobra.Command{
		Use:               "render kickstart|pxelinux|ipxe|grub HOST",
		Short:             "print exactly what a host would be served (HOST: MAC or hostname)",
		ValidArgsFunction: a.completeKindHost("kickstart", "pxelinux", "ipxe", "grub"),
		RunE: func(c *cobra.Command, pos []string) error {
			if len(pos) != 2 {
				return usageError{"want KIND and HOST"}
			}
			b, err := a.sf.open()
			if err != nil {
				return err
			}
			defer b.Close()
			out, err := b.Render(c.Context(), pos[0], pos[1])
			if err != nil {
				return err
			}
			_, err = a.stdout.Write(out)
			return err
		},
	}
}
