// Command netkick is the PXE and kickstart provisioning server and its CLI:
// `netkick serve` runs the servers; the other subcommands manage the inventory
// (locally with --data, or through a running server with --server) and show
// exactly what a host will be served.
//
// The command tree is built with spf13/cobra: main.go holds the root command
// and the global flags, each other file one command group (host.go: `netkick
// host …`). Adding a group is a new file with a `func xxxCmd(a *app)
// *cobra.Command` and one line in commands().
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/spf13/cobra"
)

// app carries what every subcommand needs.
type app struct {
	stdout io.Writer
	stderr io.Writer
	// sf holds the global flags (--data, --server, --token-file, …), shared
	// by every command that reads the inventory.
	sf storeFlags
}

// usageError makes main print the error and exit 2.
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

// commands are the top-level command groups, one file each.
func commands(a *app) []*cobra.Command {
	return []*cobra.Command{
		serveCmd(a),
		hostCmd(a),
		discoveredCmd(a),
		discoveryCmd(a),
		tokenCmd(a),
		storeCmd(a),
		profileCmd(a),
		layoutCmd(a),
		renderCmd(a),
		bootfilesCmd(a),
		lvsCmd(a),
		lintCmd(a),
		rpmCmd(a),
		importCmd(a),
		exportCmd(a),
		testvmCmd(a),
		checkCmd(a),
		versionCmd(a),
	}
}

func main() {
	reexecAwake()
	a := &app{stdout: os.Stdout, stderr: os.Stderr}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := a.main(ctx, os.Args[1:])
	stop()
	os.Exit(code)
}

// rootCmd builds the whole command tree.
func (a *app) rootCmd() *cobra.Command {
	root := &cobra.Command{
		Use:   "netkick",
		Short: "PXE and kickstart provisioning server",
		Long: "netkick: PXE and kickstart provisioning server.\n\n" +
			"Start with `netkick serve --demo`. Commands that read the inventory work on a\n" +
			"local data directory (--data) or a running server (--server URL).",
		Version:       build().String(),
		Args:          cobra.ArbitraryArgs,
		SilenceUsage:  true,
		SilenceErrors: true,
		RunE: func(c *cobra.Command, args []string) error {
			if len(args) == 0 {
				c.SetOut(a.stderr)
				_ = c.Help()
				return usageError{"missing command"}
			}
			msg := fmt.Sprintf("unknown command %q", args[0])
			if s := c.SuggestionsFor(args[0]); len(s) > 0 {
				msg += "; did you mean " + strings.Join(s, " or ") + "?"
			}
			return usageError{msg + " (netkick --help lists the commands)"}
		},
	}
	root.SuggestionsMinimumDistance = 2
	root.SetOut(a.stdout)
	root.SetErr(a.stderr)
	root.SetVersionTemplate("netkick {{.Version}}\n")
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		return usageError{err.Error()}
	})
	a.sf.register(root.PersistentFlags())
	root.AddCommand(commands(a)...)
	a.completeInventoryFlags(root)
	return root
}

// main runs one command line and returns the exit code: 0 ok, 1 failure, 2 usage.
func (a *app) main(ctx context.Context, args []string) int {
	root := a.rootCmd()
	root.SetArgs(args)
	c, err := root.ExecuteContextC(ctx)
	if err == nil {
		return 0
	}
	name := "netkick"
	if c != nil {
		name = c.CommandPath()
	}
	var ue usageError
	if errors.As(err, &ue) {
		hint := ""
		if c != nil && c != root {
			hint = fmt.Sprintf(" (see %s --help)", name)
		}
		fmt.Fprintf(a.stderr, "%s: %s%s\n", name, ue.msg, hint)
		return 2
	}
	if strings.HasPrefix(err.Error(), "unknown command") || strings.HasPrefix(err.Error(), "unknown flag") {
		fmt.Fprintf(a.stderr, "%s: %v\n", name, err)
		return 2
	}
	fmt.Fprintf(a.stderr, "%s: %v\n", name, err)
	return 1
}

// group makes a command that only holds subcommands: run without one (or
// with an unknown one) it is a usage error that names the choices.
func group(use, short string, subs ...*cobra.Command) *cobra.Command {
	c := &cobra.Command{
		Use:   use,
		Short: short,
		Args:  cobra.ArbitraryArgs,
		RunE: func(c *cobra.Command, args []string) error {
			var names []string
			for _, s := range c.Commands() {
				if s.IsAvailableCommand() {
					names = append(names, s.Name())
				}
			}
			want := strings.Join(names, ", ")
			if len(args) == 0 {
				return usageError{"missing subcommand: want one of " + want}
			}
			return usageError{fmt.Sprintf("unknown subcommand %q: want one of %s", args[0], want)}
		},
	}
	c.AddCommand(subs...)
	return c
}
