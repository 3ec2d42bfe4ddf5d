package testvm

import (
	"bufio"
	"fmt"
	"io"
	"strings"
)

// printResult writes a scenario's table.
func printResult(w io.Writer, res Result) {
	s := res.Scenario
	verdict := "PASS"
	if !res.Pass {
		verdict = "FAIL at " + res.Failed
	}
	fw := "BIOS"
	if s.UEFI {
		fw = "UEFI"
	}
	fmt.Fprintf(w, "\n== %s: %s (%s, %s, disks %s) — %s in %.1fs\n", s.Name, s.Summary, s.MAC, fw, strings.Join(s.Disks, "+"), verdict, res.Elapsed.Seconds())
	fmt.Fprintf(w, "  %-16s %-8s %7s  %s\n", "stage", "status", "at", "detail")
	for _, st := range res.Stages {
		fmt.Fprintf(w, "  %s\n", st)
	}
	for i, d := range res.Disks {
		fmt.Fprintf(w, "  disk%d:%s", i, d)
	}
	if len(res.Events) > 0 {
		fmt.Fprintf(w, "  netkick timeline:\n")
		for _, e := range res.Events {
			fmt.Fprintf(w, "    %s\n", e)
		}
	}
	if res.Report != nil && len(res.Report.Files) > 0 {
		fmt.Fprintf(w, "  %%post wrote: %s\n", strings.Join(res.Report.FileNames(), ", "))
	}
	for _, p := range res.Problems {
		fmt.Fprintf(w, "  problem: %s\n", p)
	}
	if !res.Pass && res.Serial != "" {
		fmt.Fprintf(w, "  serial log (last lines):\n")
		sc := bufio.NewScanner(strings.NewReader(res.Serial))
		var lines []string
		for sc.Scan() {
			if l := CleanConsoleLine(sc.Text()); l != "" {
				lines = append(lines, l)
			}
		}
		if len(lines) > 15 {
			lines = lines[len(lines)-15:]
		}
		for _, l := range lines {
			fmt.Fprintf(w, "    | %s\n", l)
		}
	}
}
