package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"

	"github.com/netkick/netkick/kickstart/lint"

	"github.com/spf13/cobra"
)

// lintCmd is `netkick lint FILE.ks` or `netkick lint --host HOST`.
func lintCmd(a *app) *cobra.Command {
	var host string
	c := &cobra.Command{
		Use:   "lint FILE.ks | --host HOST",
		Short: "check a kickstart file (- reads stdin), or what HOST would be served",
		RunE: func(c *cobra.Command, pos []string) error {
			return a.lint(c.Context(), host, pos)
		},
	}
	c.Flags().StringVar(&host, "host", "", "lint the kickstart this host would be served")
	_ = c.RegisterFlagCompletionFunc("host", func(c *cobra.Command, _ []string, toComplete string) ([]string, cobra.ShellCompDirective) {
		return a.hostNames(c.Context(), toComplete), cobra.ShellCompDirectiveNoFileComp
	})
	return c
}

func (a *app) lint(ctx context.Context, host string, pos []string) error {
	var err error
	var in []byte
	name := ""
	switch {
	case host != "" && len(pos) == 0:
		b, err := a.sf.open()
		if err != nil {
			return err
		}
		defer b.Close()
		if in, err = b.Render(ctx, "kickstart", host); err != nil {
			return err
		}
		name = "kickstart of " + host
	case host == "" && len(pos) == 1:
		name = pos[0]
		if pos[0] == "-" {
			in, err = io.ReadAll(os.Stdin)
		} else {
			in, err = os.ReadFile(pos[0])
		}
		if err != nil {
			return fmt.Errorf("read %s: %w", pos[0], err)
		}
	default:
		return usageError{"want FILE.ks or --host HOST"}
	}
	findings, err := lint.Check(bytes.NewReader(in))
	if err != nil {
		return err
	}
	for _, f := range findings {
		fmt.Fprintf(a.stdout, "%s: %s\n", name, f)
	}
	if n := lint.Errors(findings); n > 0 {
		return fmt.Errorf("%s: %d error(s)", name, n)
	}
	fmt.Fprintf(a.stdout, "%s: ok (%d warning(s))\n", name, len(findings))
	return nil
}
