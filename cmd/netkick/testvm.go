package main

import (
	"context"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/netkick/netkick/testvm"
)

const testvmUsage = `testvm run [--parallel N] [--timeout D] [--direct] [--keep] [--work DIR] [--cache DIR] [SCENARIO…]
       netkick testvm list`

// runTestvm boots the rig's virtual machines through netkick (needs root, QEMU).
func runTestvm(ctx context.Context, a *app, args []string) error {
	if len(args) == 0 || (args[0] != "run" && args[0] != "list") {
		return usageError{"want `testvm run [SCENARIO…]` or `testvm list`"}
	}
	if args[0] == "list" {
		for _, s := range testvm.Scenarios() {
			fmt.Fprintf(a.stdout, "%-16s %s\n", s.Name, s.Summary)
		}
		return nil
	}
	fs := a.newFlags("testvm", testvmUsage)
	opts := testvm.Options{Out: a.stdout}
	fs.IntVar(&opts.Parallel, "parallel", 2, "virtual machines booting at a time (QEMU TCG uses one core each)")
	fs.DurationVar(&opts.Timeout, "timeout", 6*time.Minute, "time limit per virtual machine")
	fs.BoolVar(&opts.Direct, "direct", false, "boot the mini installer with QEMU -kernel/-initrd instead of PXE")
	fs.BoolVar(&opts.KeepAll, "keep", false, "keep disk images and logs of passing scenarios too")
	fs.StringVar(&opts.WorkDir, "work", "", "work directory (default: a new temporary directory)")
	fs.StringVar(&opts.CacheDir, "cache", testvm.DefaultCacheDir(), "kernel and initramfs cache")
	names, err := parse(fs, args[1:])
	if err != nil {
		return err
	}
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
