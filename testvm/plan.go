package testvm

import (
	"bufio"
	"fmt"
	"strconv"
	"strings"
)

// PlannedDisk is one disk of `netkick layout plan` output.
type PlannedDisk struct {
	Name       string // sda
	Label      string // msdos, gpt
	Partitions []Partition
}

// ParsePlan reads the tables printed by `netkick layout plan`: a line
// "sda: N MiB, msdos label ..." per disk, a header "DEVICE MOUNT ...", then one
// row per partition with START, END and SIZE in MiB.
func ParsePlan(out string) (map[string]PlannedDisk, error) {
	disks := map[string]PlannedDisk{}
	var cur *PlannedDisk
	cols := map[string]int{}
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		f := strings.Fields(line)
		switch {
		case len(f) == 0:
			if cur != nil {
				disks[cur.Name] = *cur
				cur = nil
			}
		case strings.HasSuffix(f[0], ":") && strings.Contains(line, " label"):
			if cur != nil {
				disks[cur.Name] = *cur
			}
			cur = &PlannedDisk{Name: strings.TrimSuffix(f[0], ":")}
			for i, w := range f {
				if strings.HasPrefix(w, "label") && i > 0 {
					cur.Label = f[i-1]
				}
			}
		case cur != nil && f[0] == "DEVICE":
			cols = map[string]int{}
			for i, w := range f {
				if w != "MiB" {
					cols[w] = i
				}
			}
			// "START MiB" and friends are two words: recount by word position.
			idx := 0
			for _, w := range f {
				if w == "MiB" {
					continue
				}
				cols[w] = idx
				idx++
			}
		case cur != nil && strings.HasPrefix(f[0], cur.Name):
			num, err := strconv.Atoi(strings.TrimPrefix(f[0], cur.Name))
			if err != nil || num < 1 {
				return nil, fmt.Errorf("layout plan row %q: device %s is not %sN", line, f[0], cur.Name)
			}
			get := func(col string) (int64, error) {
				i, ok := cols[col]
				if !ok || i >= len(f) {
					return 0, fmt.Errorf("layout plan row %q: no %s column", line, col)
				}
				return strconv.ParseInt(f[i], 10, 64)
			}
			start, err := get("START")
			if err != nil {
				return nil, err
			}
			size, err := get("SIZE")
			if err != nil {
				return nil, err
			}
			p := Partition{Number: num, Start: start << 20, Size: size << 20, End: (start+size)<<20 - 1}
			if i, ok := cols["MOUNT"]; ok && i < len(f) {
				p.Name = f[i]
			}
			if i, ok := cols["KIND"]; ok && i < len(f) {
				p.Type = f[i]
			}
			cur.Partitions = append(cur.Partitions, p)
		}
	}
	if cur != nil {
		disks[cur.Name] = *cur
	}
	if len(disks) == 0 {
		return nil, fmt.Errorf("layout plan output lists no disk: %q", out)
	}
	return disks, nil
}

// ComparePlan checks a disk read back from its image against the plan, to
// the MiB (parted aligns; the plan is in whole MiB).
func ComparePlan(plan PlannedDisk, got DiskTable) []string {
	var diffs []string
	if plan.Label != got.Label {
		diffs = append(diffs, fmt.Sprintf("%s: label %q, planned %q", plan.Name, got.Label, plan.Label))
	}
	byNum := map[int]Partition{}
	for _, p := range got.Partitions {
		byNum[p.Number] = p
	}
	near := func(a, b int64) bool { d := a - b; return d > -(1<<20) && d < 1<<20 }
	for _, p := range plan.Partitions {
		q, ok := byNum[p.Number]
		if !ok {
			diffs = append(diffs, fmt.Sprintf("%s%d (%s): planned, missing on the disk", plan.Name, p.Number, p.Name))
			continue
		}
		delete(byNum, p.Number)
		if !near(p.Start, q.Start) || (!near(p.Size, q.Size) && p.Type != "extended") {
			diffs = append(diffs, fmt.Sprintf("%s%d (%s): start %d MiB size %d MiB on the disk, planned start %d MiB size %d MiB",
				plan.Name, p.Number, p.Name, q.Start>>20, q.Size>>20, p.Start>>20, p.Size>>20))
		}
	}
	for n := range byNum {
		diffs = append(diffs, fmt.Sprintf("%s%d: on the disk but not planned", plan.Name, n))
	}
	return diffs
}

// PlanArgs is the `netkick layout plan` command line for what the guest saw:
// its disks (list-harddrives: "sda 204800" per line, MiB), RAM and firmware.
func PlanArgs(layout, harddrives string, ramMiB int64, uefi bool) []string {
	args := []string{"layout", "plan", layout}
	for _, l := range nonEmptyLines(harddrives) {
		if f := strings.Fields(l); len(f) == 2 {
			args = append(args, "--disk", f[1])
		}
	}
	if ramMiB > 0 {
		args = append(args, "--ram", strconv.FormatInt(ramMiB, 10))
	}
	fw := "bios"
	if uefi {
		fw = "uefi"
	}
	return append(args, "--firmware", fw)
}

// MemTotalMiB reads MemTotal from a /proc/meminfo copy, in MiB (as %pre does).
func MemTotalMiB(meminfo string) int64 {
	for _, l := range nonEmptyLines(meminfo) {
		f := strings.Fields(l)
		if len(f) >= 2 && f[0] == "MemTotal:" {
			kb, _ := strconv.ParseInt(f[1], 10, 64)
			return kb / 1024
		}
	}
	return 0
}

// GuestDiskNames returns, for each disk image (sizes in MiB, in QEMU's order),
// the name the guest kernel gave it, read from the guest's list-harddrives
// output ("sda 512000" per line): by size where sizes tell the disks apart,
// else by order (sda, sdb, …).
func GuestDiskNames(harddrives string, sizesMiB []int64) []string {
	names := make([]string, len(sizesMiB))
	for i := range names {
		names[i] = fmt.Sprintf("sd%c", 'a'+i)
	}
	type guest struct {
		name string
		mib  int64
	}
	var gs []guest
	for _, l := range nonEmptyLines(harddrives) {
		f := strings.Fields(l)
		if len(f) != 2 {
			return names
		}
		n, err := strconv.ParseInt(f[1], 10, 64)
		if err != nil {
			return names
		}
		gs = append(gs, guest{f[0], n})
	}
	if len(gs) != len(sizesMiB) {
		return names
	}
	out := make([]string, len(sizesMiB))
	used := map[int]bool{}
	for i, sz := range sizesMiB {
		match := -1
		for j, g := range gs {
			if !used[j] && g.mib == sz {
				if match >= 0 {
					return names // two disks of one size: order is all there is
				}
				match = j
			}
		}
		if match < 0 {
			return names
		}
		used[match] = true
		out[i] = gs[match].name
	}
	return out
}
