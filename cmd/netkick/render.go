package main

import (
	"context"
	"fmt"

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
			if _, err = a.stdout.Write(out); err != nil {
				return err
			}
			if pos[0] == "kickstart" {
				a.reportFindings(c.Context(), b, pos[1], out)
			}
			return nil
		},
	}
}

// reportFindings lints a rendered kickstart for the host's release (and
// with ksvalidator when it is on PATH) and prints what it finds on stderr:
// a template, a user's own above all, that the installer would reject is
// reported, not printed silently. The kickstart itself stays on stdout.
func (a *app) reportFindings(ctx context.Context, b backend, host string, ks []byte) {
	o, err := hostRelease(ctx, b, host)
	if err != nil {
		fmt.Fprintf(a.stderr, "netkick: kickstart of %s not linted: %v\n", host, err)
		return
	}
	fs, _, err := lintKickstart(ctx, ks, o)
	if err != nil {
		fmt.Fprintf(a.stderr, "netkick: kickstart of %s not linted: %v\n", host, err)
		return
	}
	for _, f := range fs {
		fmt.Fprintf(a.stderr, "netkick: kickstart of %s (%s): %s\n", host, o.Validator, f)
	}
}
