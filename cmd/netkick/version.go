package main

import (
	"fmt"

	"github.com/spf13/cobra"
)

// versionCmd is `netkick version` (the same as `netkick --version`).
func versionCmd(a *app) *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "print the version",
		RunE: func(c *cobra.Command, pos []string) error {
			if len(pos) != 0 {
				return usageError{"version takes no arguments"}
			}
			fmt.Fprintln(a.stdout, "netkick", version)
			return nil
		},
	}
}
