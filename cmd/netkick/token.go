package main

import (
	"context"
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
)

// tokenCmd is `netkick token …`: named API tokens, so timelines and logs
// name the admin or script behind each change.
func tokenCmd(a *app) *cobra.Command {
	add := &cobra.Command{
		Use:   "add NAME",
		Short: "make a named API token and print its secret (shown once; stored hashed)",
		RunE: func(c *cobra.Command, pos []string) error {
			if len(pos) != 1 {
				return usageError{"want exactly one NAME, e.g. token add ci-deploy"}
			}
			b, err := a.sf.open()
			if err != nil {
				return err
			}
			defer b.Close()
			secret, err := b.AddToken(c.Context(), pos[0])
			if err != nil {
				return err
			}
			fmt.Fprintln(a.stdout, secret)
			fmt.Fprintf(a.stderr, "token %s made: send it as `Authorization: Bearer <token>` (or NETKICK_TOKEN); it is not shown again\n", pos[0])
			return nil
		},
	}
	var output string
	list := &cobra.Command{
		Use:   "list [-o json|yaml]",
		Short: "list the named API tokens (names and dates, never secrets)",
		RunE: a.listRunE("token list", &output, func(ctx context.Context, b backend) error {
			l, err := b.ListTokens(ctx)
			if err != nil {
				return err
			}
			return a.emit(output, l, func() error {
				tw := tabwriter.NewWriter(a.stdout, 0, 4, 2, ' ', 0)
				fmt.Fprintln(tw, "NAME\tCREATED")
				for _, t := range l {
					fmt.Fprintf(tw, "%s\t%s\n", t.Name, t.Created.Local().Format(time.DateTime))
				}
				return tw.Flush()
			})
		}),
	}
	addOutputFlag(list, &output, outTable)
	revoke := &cobra.Command{
		Use:   "revoke NAME",
		Short: "revoke a named API token: requests with it are refused from now on",
		RunE: func(c *cobra.Command, pos []string) error {
			if len(pos) != 1 {
				return usageError{"want exactly one NAME"}
			}
			b, err := a.sf.open()
			if err != nil {
				return err
			}
			defer b.Close()
			if err := b.RevokeToken(c.Context(), pos[0]); err != nil {
				return err
			}
			fmt.Fprintf(a.stdout, "revoked token %s\n", pos[0])
			return nil
		},
	}
	return group("token", "named API tokens: add, list, revoke (the bootstrap admin token stays)", add, list, revoke)
}
