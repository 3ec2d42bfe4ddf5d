package main

import (
	"context"
	"strings"

	"github.com/spf13/cobra"

	"github.com/netkick/netkick/inventory"
)

// Shell completion: cobra's own `netkick completion bash|zsh|fish|powershell`
// prints the scripts; the functions here complete arguments from the
// inventory (--data or --server, as the command line being completed names).

// completeHosts completes the first n positional arguments (all when n < 0)
// with the inventory's hostnames. Errors complete nothing: a completion must
// never print one into the user's shell.
func (a *app) completeHosts(n int) cobra.CompletionFunc {
	return func(c *cobra.Command, args []string, toComplete string) ([]string, cobra.ShellCompDirective) {
		if n >= 0 && len(args) >= n {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		return a.hostNames(c.Context(), toComplete), cobra.ShellCompDirectiveNoFileComp
	}
}

// hostNames lists the hostnames that start with prefix.
func (a *app) hostNames(ctx context.Context, prefix string) []string {
	if ctx == nil {
		ctx = context.Background()
	}
	b, err := a.sf.open()
	if err != nil {
		return nil
	}
	defer b.Close()
	hosts, err := b.ListHosts(ctx, inventory.HostFilter{})
	if err != nil {
		return nil
	}
	var out []string
	for _, h := range hosts {
		if strings.HasPrefix(h.Hostname, prefix) {
			out = append(out, h.Hostname)
		}
	}
	return out
}

// completeKindHost completes the first argument from a fixed list, the second
// with hostnames (render KIND HOST).
func (a *app) completeKindHost(kinds ...string) cobra.CompletionFunc {
	return func(c *cobra.Command, args []string, toComplete string) ([]string, cobra.ShellCompDirective) {
		switch len(args) {
		case 0:
			return kinds, cobra.ShellCompDirectiveNoFileComp
		case 1:
			return a.hostNames(c.Context(), toComplete), cobra.ShellCompDirectiveNoFileComp
		}
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
}
