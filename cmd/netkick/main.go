// Command netkick is the PXE and kickstart provisioning server and its CLI:
// `netkick serve` runs the servers; the other subcommands manage the inventory
// (locally with --data, or through a running server with --server) and show
// exactly what a host will be served.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sort"
	"syscall"
)

// command is one subcommand.
type command struct {
	name    string
	summary string
	run     func(ctx context.Context, a *app, args []string) error
}

// app carries what every subcommand needs.
type app struct {
	stdout io.Writer
	stderr io.Writer
}

// usageError makes main print the command's usage and exit 2.
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

func commands() []command {
	return []command{
		{"serve", "run the HTTP (and TFTP/DHCP) servers", runServe},
		{"host", "manage hosts: add, tag, untag, list, show, rm, build", runHost},
		{"profile", "manage OS profiles: add, list", runProfile},
		{"layout", "disk layouts: plan NAME --disk 500G, pre, show, list, put", runLayout},
		{"render", "print exactly what a host would be served: render kickstart|pxelinux|ipxe|grub HOST", runRender},
		{"bootfiles", "copy the PXE loaders (pxelinux, iPXE) from the machine's packages into the boot root", runBootfiles},
		{"lvs", "LVS clusters: put, list, render piranha|keepalived|ipvsadm, apply to the kernel, status", runLVS},
		{"lint", "check a kickstart file: lint FILE.ks (or a host: lint --host HOST)", runLint},
		{"rpm", "CPAN tarball -> site_perl RPM -> yum repository: rpm spec, rpm spec --fix, rpm build", runRpm},
		{"import", "load an inventory YAML file (hosts, profiles, layouts, clusters)", runImport},
		{"export", "print the inventory as YAML", runExport},
		{"testvm", "boot QEMU machines through netkick and check what they became: testvm run [SCENARIO…]", runTestvm},
		{"version", "print the version", func(ctx context.Context, a *app, args []string) error {
			fmt.Fprintln(a.stdout, "netkick", version)
			return nil
		}},
	}
}

// version is set at build time with -ldflags "-X main.version=…".
var version = "dev"

func main() {
	reexecAwake()
	a := &app{stdout: os.Stdout, stderr: os.Stderr}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := a.main(ctx, os.Args[1:])
	stop()
	os.Exit(code)
}

func (a *app) usage() {
	fmt.Fprintf(a.stderr, "netkick: PXE and kickstart provisioning server\n\nUsage: netkick COMMAND [flags]\n\nCommands:\n")
	cmds := commands()
	sort.Slice(cmds, func(i, j int) bool { return cmds[i].name < cmds[j].name })
	for _, c := range cmds {
		fmt.Fprintf(a.stderr, "  %-10s %s\n", c.name, c.summary)
	}
	fmt.Fprintf(a.stderr, "\nRun `netkick COMMAND -h` for a command's flags. Start with `netkick serve --demo`.\n")
}

// main runs one command line and returns the exit code: 0 ok, 1 failure, 2 usage.
func (a *app) main(ctx context.Context, args []string) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		a.usage()
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	for _, c := range commands() {
		if c.name != args[0] {
			continue
		}
		err := c.run(ctx, a, args[1:])
		var ue usageError
		switch {
		case err == nil:
			return 0
		case errors.Is(err, flag.ErrHelp):
			return 0
		case errors.As(err, &ue):
			fmt.Fprintf(a.stderr, "netkick %s: %s\n", c.name, ue.msg)
			return 2
		default:
			fmt.Fprintf(a.stderr, "netkick %s: %v\n", c.name, err)
			return 1
		}
	}
	fmt.Fprintf(a.stderr, "netkick: unknown command %q\n\n", args[0])
	a.usage()
	return 2
}

// newFlags makes a flag set that reports errors instead of exiting.
func (a *app) newFlags(name, usage string) *flag.FlagSet {
	fs := flag.NewFlagSet("netkick "+name, flag.ContinueOnError)
	fs.SetOutput(a.stderr)
	fs.Usage = func() {
		fmt.Fprintf(a.stderr, "Usage: netkick %s\n\nFlags:\n", usage)
		fs.PrintDefaults()
	}
	return fs
}

// parse parses flags allowing them after positional arguments too.
func parse(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, err
			}
			return nil, usageError{err.Error()}
		}
		args = fs.Args()
		if len(args) == 0 {
			return pos, nil
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
}

// stringList is a repeatable flag.
type stringList []string

func (s *stringList) String() string     { return fmt.Sprint(*s) }
func (s *stringList) Set(v string) error { *s = append(*s, v); return nil }
