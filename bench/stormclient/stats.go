package main

import (
	"fmt"
	"io"
	"math"
	"slices"
	"sort"
	"strings"
)

// stageResult is one stage of one machine's boot.
type stageResult struct {
	Name    string  `json:"name"`
	Seconds float64 `json:"s"`
	Retries int     `json:"retries"` // retransmits and repeated requests
	Bytes   int64   `json:"bytes,omitempty"`
	Err     string  `json:"err,omitempty"`
}

// machineResult is one machine's whole boot, one JSON line in -out.
type machineResult struct {
	MAC     string        `json:"mac"`
	Flavour string        `json:"flavour"`
	OK      bool          `json:"ok"`
	Start   float64       `json:"start"` // seconds after the storm's release
	End     float64       `json:"end"`
	Stages  []stageResult `json:"stages"`
}

// stageSummary aggregates one stage over all machines that reached it.
type stageSummary struct {
	Name     string  `json:"name"`
	Count    int     `json:"count"`
	P50      float64 `json:"p50"`
	P99      float64 `json:"p99"`
	Retries  int     `json:"retries"`
	Failures int     `json:"failures"`
}

// runSummary is one side's run: what storm.sh compares.
type runSummary struct {
	Side     string  `json:"side"`
	Machines int     `json:"machines"`
	Failed   int     `json:"failed"`
	Last     float64 `json:"last"` // release to the last machine's end, seconds
	// EndP50 and EndP99 are the machines' ends (release to done or
	// failed, seconds): how progressively the storm finishes.
	EndP50    float64        `json:"end_p50"`
	EndP99    float64        `json:"end_p99"`
	Stages    []stageSummary `json:"stages"`
	CPU       float64        `json:"cpu_s"`   // server user+system seconds
	RSSKiB    int64          `json:"rss_kib"` // server peak resident set
	FirstErrs []string       `json:"first_errors,omitempty"`
}

// percentile is the nearest-rank percentile of sorted values (p in 0..100).
func percentile(sorted []float64, p float64) float64 {
	if len(sorted) == 0 {
		return 0
	}
	r := int(math.Ceil(p / 100 * float64(len(sorted))))
	r = min(max(r, 1), len(sorted))
	return sorted[r-1]
}

// summarise aggregates machine results; stage order is that of first appearance.
func summarise(side string, ms []machineResult) runSummary {
	s := runSummary{Side: side, Machines: len(ms)}
	times := map[string][]float64{}
	idx := map[string]int{}
	var ends []float64
	for _, m := range ms {
		if !m.OK {
			s.Failed++
		}
		s.Last = max(s.Last, m.End)
		ends = append(ends, m.End)
		for _, st := range m.Stages {
			i, ok := idx[st.Name]
			if !ok {
				i = len(s.Stages)
				idx[st.Name] = i
				s.Stages = append(s.Stages, stageSummary{Name: st.Name})
			}
			s.Stages[i].Retries += st.Retries
			if st.Err != "" {
				s.Stages[i].Failures++
				if len(s.FirstErrs) < 5 {
					s.FirstErrs = append(s.FirstErrs, m.MAC+" "+st.Name+": "+st.Err)
				}
				continue
			}
			times[st.Name] = append(times[st.Name], st.Seconds)
		}
	}
	sort.Float64s(ends)
	s.EndP50, s.EndP99 = percentile(ends, 50), percentile(ends, 99)
	for i := range s.Stages {
		t := times[s.Stages[i].Name]
		sort.Float64s(t)
		s.Stages[i].Count = len(t)
		s.Stages[i].P50 = percentile(t, 50)
		s.Stages[i].P99 = percentile(t, 99)
	}
	return s
}

// median of the values (0 for none).
func median(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	v = slices.Clone(v)
	sort.Float64s(v)
	if len(v)%2 == 1 {
		return v[len(v)/2]
	}
	return (v[len(v)/2-1] + v[len(v)/2]) / 2
}

// compare prints the runs of two sides: each run, then the median over a
// side's runs and the ratio a/b (below 1: side a is faster or smaller).
func compare(w io.Writer, runs []runSummary, a, b string) {
	by := map[string][]runSummary{}
	for _, r := range runs {
		by[r.Side] = append(by[r.Side], r)
	}
	fmt.Fprintf(w, "%-9s %4s %8s %7s %9s %9s\n", "side", "run", "machines", "failed", "last_s", "cpu_s")
	for _, side := range []string{a, b} {
		for i, r := range by[side] {
			fmt.Fprintf(w, "%-9s %4d %8d %7d %9.2f %9.2f  rss %d MiB\n", side, i+1, r.Machines, r.Failed, r.Last, r.CPU, r.RSSKiB>>10)
		}
	}
	med := func(side string, f func(runSummary) float64) float64 {
		var v []float64
		for _, r := range by[side] {
			v = append(v, f(r))
		}
		return median(v)
	}
	ratio := func(x, y float64) string {
		if y == 0 {
			return "-"
		}
		return fmt.Sprintf("%.2f", x/y)
	}
	fmt.Fprintf(w, "\nmedian of the runs          %10s %10s  ratio %s/%s\n", a, b, a, b)
	for _, row := range []struct {
		name string
		f    func(runSummary) float64
	}{
		{"time to last machine (s)", func(r runSummary) float64 { return r.Last }},
		{"machine finish p50 (s)", func(r runSummary) float64 { return r.EndP50 }},
		{"machine finish p99 (s)", func(r runSummary) float64 { return r.EndP99 }},
		{"failed machines", func(r runSummary) float64 { return float64(r.Failed) }},
		{"server CPU (s)", func(r runSummary) float64 { return r.CPU }},
		{"server peak RSS (MiB)", func(r runSummary) float64 { return float64(r.RSSKiB) / 1024 }},
	} {
		x, y := med(a, row.f), med(b, row.f)
		fmt.Fprintf(w, "%-27s %10.2f %10.2f  %s\n", row.name, x, y, ratio(x, y))
	}
	var names []string
	seen := map[string]bool{}
	for _, side := range []string{a, b} {
		for _, r := range by[side] {
			for _, st := range r.Stages {
				if !seen[st.Name] {
					seen[st.Name] = true
					names = append(names, st.Name)
				}
			}
		}
	}
	stage := func(side, name string, f func(stageSummary) float64) float64 {
		var v []float64
		for _, r := range by[side] {
			for _, st := range r.Stages {
				if st.Name == name {
					v = append(v, f(st))
				}
			}
		}
		return median(v)
	}
	fmt.Fprintf(w, "\n%-20s %9s %9s %9s %9s %7s %7s %9s %9s\n", "stage (ms)", a+" p50", b+" p50", a+" p99", b+" p99", "retr a", "retr b", "fail a", "fail b")
	for _, n := range names {
		p50 := func(s stageSummary) float64 { return s.P50 * 1000 }
		p99 := func(s stageSummary) float64 { return s.P99 * 1000 }
		re := func(s stageSummary) float64 { return float64(s.Retries) }
		fl := func(s stageSummary) float64 { return float64(s.Failures) }
		fmt.Fprintf(w, "%-20s %9.1f %9.1f %9.1f %9.1f %7.0f %7.0f %9.0f %9.0f\n", n,
			stage(a, n, p50), stage(b, n, p50), stage(a, n, p99), stage(b, n, p99),
			stage(a, n, re), stage(b, n, re), stage(a, n, fl), stage(b, n, fl))
	}
	for _, side := range []string{a, b} {
		for _, r := range by[side] {
			if len(r.FirstErrs) > 0 {
				fmt.Fprintf(w, "\n%s first errors:\n  %s\n", side, strings.Join(r.FirstErrs, "\n  "))
				break
			}
		}
	}
}
