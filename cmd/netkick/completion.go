package main

import (
	"context"
	"strings"

	"github.com/spf13/cobra"

	"github.com/netkick/netkick/inventory"
	"github.com/netkick/netkick/kickstart/layout"
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

// inventoryNames lists names of one kind from the inventory the command
// line names: profiles, layouts (stored and built-in), clusters, hosts.
func (a *app) inventoryNames(ctx context.Context, kind, prefix string) []string {
	if ctx == nil {
		ctx = context.Background()
	}
	var names []string
	switch kind {
	case "host":
		return a.hostNames(ctx, prefix)
	case "layout":
		names = layout.BuiltinNames()
	}
	b, err := a.sf.open()
	if err == nil {
		defer b.Close()
		switch kind {
		case "profile":
			ps, _ := b.ListProfiles(ctx)
			for _, p := range ps {
				names = append(names, p.Name)
			}
		case "layout":
			ls, _ := b.ListLayouts(ctx)
			for _, l := range ls {
				names = append(names, l.Name)
			}
		}
	}
	if kind == "cluster" {
		if src, err := openClusters(&a.sf, ""); err == nil {
			cs, _ := src.ListClusters(ctx)
			src.Close()
			for _, c := range cs {
				names = append(names, c.Name)
			}
		}
	}
	var out []string
	seen := map[string]bool{}
	for _, n := range names {
		if strings.HasPrefix(n, prefix) && !seen[n] {
			seen[n] = true
			out = append(out, n)
		}
	}
	return out
}

// completeNamed completes the first positional argument with names of kind.
func (a *app) completeNamed(kind string) cobra.CompletionFunc {
	return func(c *cobra.Command, args []string, toComplete string) ([]string, cobra.ShellCompDirective) {
		if len(args) > 0 {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		return a.inventoryNames(c.Context(), kind, toComplete), cobra.ShellCompDirectiveNoFileComp
	}
}

// completeInventoryFlags gives every --profile, --layout, --cluster and
// --host flag in the tree, present and future, completion from the
// inventory (a flag that already has a completion keeps it).
func (a *app) completeInventoryFlags(c *cobra.Command) {
	for _, kind := range []string{"profile", "layout", "cluster", "host"} {
		if c.LocalFlags().Lookup(kind) == nil {
			continue
		}
		if _, ok := c.GetFlagCompletionFunc(kind); ok {
			continue
		}
		k := kind
		_ = c.RegisterFlagCompletionFunc(k, func(c *cobra.Command, _ []string, toComplete string) ([]string, cobra.ShellCompDirective) {
			return a.inventoryNames(c.Context(), k, toComplete), cobra.ShellCompDirectiveNoFileComp
		})
	}
	for _, s := range c.Commands() {
		a.completeInventoryFlags(s)
	}
}
