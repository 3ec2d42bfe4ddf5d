package main

import (
	"context"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/netkick/netkick/testvm"

	"github.com/spf13/cobra"
)

// testvmCmd is `netkick testvm …`: boot QEMU machines through netkick and
// check what they became (needs root, QEMU).
func testvmCmd(a *app) *cobra.Command {
	return group("testvm", "boot QEMU machines through netkick and check what they became: testvm run [SCENARIO…]",
		testvmRunCmd(a), testvmListCmd(a))
}

func testvmListCmd(a *app) *cobra.Command {
	return &cobra.Command{
		Use:   "list",
		Short: "list the scenarios",
		RunE: func(c *cobra.Command, pos []string) error {
			for _, s := range testvm.Scenarios() {
				fmt.Fprintf(a.stdout, "%-16s %s\n", s.Name, s.Summary)
			}
			return nil
		},
	}
}

func testvmRunCmd(a *app) *cobra.Command {
	opts := testvm.Options{Out: a.stdout}
	c := &cobra.Command{
		Use:   "run [--parallel N] [--timeout D] [--direct] [--keep] [--work DIR] [--cache DIR] [--stormclient BIN] [SCENARIO…]",
		Short: "run scenarios (all without names)",
		RunE: func(c *cobra.Command, names []string) error {
			return a.testvmRun(c.Context(), opts, names)
		},
	}
	f := c.Flags()
	f.IntVar(&opts.Parallel, "parallel", 2, "virtual machines booting at a time (QEMU TCG uses one core each)")
	f.DurationVar(&opts.Timeout, "timeout", 6*time.Minute, "time limit per virtual machine")
	f.BoolVar(&opts.Direct, "direct", false, "boot the mini installer with QEMU -kernel/-initrd instead of PXE")
	f.BoolVar(&opts.KeepAll, "keep", false, "keep disk images and logs of passing scenarios too")
	f.StringVar(&opts.WorkDir, "work", "", "work directory (default: a new temporary directory)")
	f.StringVar(&opts.Stormclient, "stormclient", "", "a bench/stormclient binary: plays the simulated twin of bios-pxelinux and compares the timelines (none: not played)")
	f.StringVar(&opts.CacheDir, "cache", testvm.DefaultCacheDir(), "kernel and initramfs cache")
	return c
}

func (a *app) testvmRun(ctx context.Context, opts testvm.Options, names []string) error {
	scs, err := testvm.SelectScenarios(testvm.Scenarios(), names)
	if err != nil {
		return usageError{err.Error()}
	}
	if opts.Netkick, err = os.Executable(); err != nil {
		return fmt.Errorf("finding the netkick binary to serve from: %w", err)
	}
	results, err := testvm.Run(ctx, opts, scs)
	if err != nil {
		return err
	}
	var failed []string
	fmt.Fprintf(a.stdout, "\n%-16s %-6s %8s  %s\n", "scenario", "result", "time", "failed stage / problem")
	for _, r := range results {
		verdict, why := "PASS", ""
		if !r.Pass {
			verdict, why = "FAIL", r.Failed
			if len(r.Problems) > 0 {
				why += ": " + r.Problems[0]
			}
			failed = append(failed, r.Scenario.Name)
		}
		fmt.Fprintf(a.stdout, "%-16s %-6s %7.1fs  %s\n", r.Scenario.Name, verdict, r.Elapsed.Seconds(), why)
	}
	if len(failed) > 0 {
		return fmt.Errorf("testvm: %d of %d scenarios failed: %s", len(failed), len(results), strings.Join(failed, ", "))
	}
	return nil
}
