package main

import (
	"fmt"

	"github.com/netkick/netkick/internal/buildinfo"
	"github.com/spf13/cobra"
)

// Set at build time by scripts/package.sh:
//
//	-ldflags "-X main.version=1.2.0 -X main.commit=<sha> -X main.date=<RFC 3339>"
//
// Left empty, buildinfo falls back to what the Go toolchain recorded.
var (
	version = "dev"
	commit  = ""
	date    = ""
)

// build is this binary's version, commit and build date.
func build() buildinfo.Info { return buildinfo.Read(version, commit, date) }

// versionCmd is `netkick version`; `netkick --version` prints its first line.
func versionCmd(a *app) *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "print the version, commit and build date",
		RunE: func(c *cobra.Command, pos []string) error {
			if len(pos) != 0 {
				return usageError{"version takes no arguments"}
			}
			i := build()
			modified := ""
			if i.Modified {
				modified = " (uncommitted changes)"
			}
			fmt.Fprintf(a.stdout, "netkick %s\ncommit:  %s%s\nbuilt:   %s\ngo:      %s %s\n",
				i.Version, i.Commit, modified, i.Date, i.GoVersion, i.Platform)
			return nil
		},
	}
}
