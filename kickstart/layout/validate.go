package layout

import (
	"errors"
	"fmt"
	"regexp"
	"sort"

	"github.com/netkick/netkick/inventory"
)

// mountRE is what a mount point may look like: it lands in shell and in kickstart lines.
var mountRE = regexp.MustCompile(`^(/|(/[A-Za-z0-9._-]+)+|swap|biosboot)$`)

// fsTypes are the file system types a layout may use.
var fsTypes = map[string]bool{"ext2": true, "ext3": true, "ext4": true, "xfs": true, "btrfs": true,
	"swap": true, "vfat": true, "efi": true, "biosboot": true}

// maxParts bounds a layout's partitions (GPT has 128 slots; nobody needs more than this).
const maxParts = 64

// Validate checks a layout before it is stored or rendered: its fields, its
// mounts and file systems, its rules, and, for every disk size its rules tell
// apart, with one disk or two, on BIOS and UEFI: that msdos needs no more
// than four primaries, that no disk has two grow partitions without shares,
// and that no rule's sizes are too big for every disk the rule applies to.
// The error says what is wrong and how to fix it.
func Validate(l *inventory.Layout) error {
	if err := validateStatic(l); err != nil {
		return err
	}
	return validateScenarios(l)
}

// validateStatic checks fields one by one.
func validateStatic(l *inventory.Layout) error {
	if l == nil {
		return fmt.Errorf("%w: no layout", inventory.ErrInvalid)
	}
	if err := inventory.ValidateName("layout", l.Name); err != nil {
		return err
	}
	bad := func(format string, a ...any) error {
		return fmt.Errorf("%w: layout %s: %s", inventory.ErrInvalid, l.Name, fmt.Sprintf(format, a...))
	}
	switch l.Label {
	case "", "msdos", "gpt":
	default:
		return bad("label %q: want msdos or gpt", l.Label)
	}
	if len(l.Disks) == 0 || l.Disks[0].Use != inventory.DiskFirst {
		return bad("the first entry of disks must have use: first")
	}
	if len(l.Disks) > 2 || (len(l.Disks) == 2 && l.Disks[1].Use != inventory.DiskSecondIfPresent) {
		return bad("disks: at most two, use: first then use: second-if-present")
	}
	mounts := map[string]bool{}
	n := 0
	for _, d := range l.Disks {
		if len(d.Partitions) == 0 {
			return bad("disk %s has no partitions", d.Use)
		}
		seen := map[string]bool{}
		for _, p := range d.Partitions {
			n++
			if !mountRE.MatchString(p.Mount) {
				return bad("disk %s: mount %q: want an absolute path of letters, digits, '.', '_', '-', or swap or biosboot", d.Use, p.Mount)
			}
			if seen[p.Mount] && p.Mount != "swap" {
				return bad("disk %s: mount %s appears twice", d.Use, p.Mount)
			}
			seen[p.Mount] = true
			mounts[p.Mount] = true
			fs := normFSType(p)
			if !fsTypes[fs] {
				return bad("%s: fstype %q: want one of ext2, ext3, ext4, xfs, btrfs, swap, vfat, efi, biosboot", p.Mount, p.FSType)
			}
			if (p.Mount == "swap") != (fs == "swap") {
				return bad("%s: fstype %s: swap partitions have mount swap and fstype swap", p.Mount, fs)
			}
			if fs == "biosboot" && l.Label != "gpt" {
				return bad("%s: biosboot partitions exist only on gpt labels", p.Mount)
			}
			if err := validSize(p.Size); err != nil {
				return bad("%s: %v", p.Mount, err)
			}
		}
	}
	if n > maxParts {
		return bad("%d partitions; at most %d", n, maxParts)
	}
	for i, r := range l.Rules {
		switch r.Disk {
		case "", inventory.DiskFirst, inventory.DiskSecondIfPresent:
		default:
			return bad("rule %d: disk %q: want first or second-if-present", i+1, r.Disk)
		}
		switch r.Second {
		case "", "present", "absent":
		default:
			return bad("rule %d: second %q: want present or absent", i+1, r.Second)
		}
		if r.MinMiB < 0 || r.BelowMiB < 0 || (r.BelowMiB > 0 && r.MinMiB >= r.BelowMiB) {
			return bad("rule %d: min_mib %d, below_mib %d: want 0 <= min_mib < below_mib", i+1, r.MinMiB, r.BelowMiB)
		}
		if r.MinMiB > 1<<40 || r.BelowMiB > 1<<40 {
			return bad("rule %d: bounds above 1 EiB", i+1)
		}
		if len(r.Set) == 0 {
			return bad("rule %d sets nothing", i+1)
		}
		for _, m := range sortedKeys(r.Set) {
			if !mounts[m] {
				return bad("rule %d: unknown mount %q; the layout's mounts are %v", i+1, m, sortedKeys(mounts))
			}
			if m == "swap" {
				return bad("rule %d: swap can not be resized by a rule (there may be several); size it with ram or a fixed size", i+1)
			}
			if err := validSize(r.Set[m]); err != nil {
				return bad("rule %d: %s: %v", i+1, m, err)
			}
		}
	}
	return nil
}

// validSize checks one size's fields.
func validSize(s inventory.Size) error {
	switch s.Kind {
	case inventory.SizeFixed:
		if s.MiB < 1 || s.MiB > 1<<40 {
			return fmt.Errorf("fixed size %d MiB: want 1 MiB to 1 EiB", s.MiB)
		}
	case inventory.SizeGrow:
	case inventory.SizeShare:
		if s.Share < 1 || s.Share > 1000 {
			return fmt.Errorf("share %d: want 1 to 1000", s.Share)
		}
	case inventory.SizeRAM:
		if s.MiB < 0 || s.MiB > 1<<40 {
			return fmt.Errorf("ram cap %d MiB: want 0 (none) to 1 EiB", s.MiB)
		}
	default:
		return fmt.Errorf("size %q: want MiB, grow, share:N, ram or ram:CAP", s.Kind)
	}
	return nil
}

// hugeMiB stands for "a disk as large as can be" when probing open-ended rules.
const hugeMiB = 1 << 41

// probeSizes are the disk sizes that tell a disk's rules apart: the top of
// each bounded bucket, and a huge disk for the open-ended one.
func probeSizes(l *inventory.Layout, disk string) []int64 {
	set := map[int64]bool{hugeMiB: true, msdosMaxMiB + 1: true}
	for _, r := range l.Rules {
		d := r.Disk
		if d == "" {
			d = inventory.DiskFirst
		}
		if d != disk {
			continue
		}
		for _, b := range []int64{r.MinMiB, r.BelowMiB} {
			if b > 0 {
				set[b-1] = true
			}
		}
	}
	out := make([]int64, 0, len(set))
	for v := range set {
		out = append(out, v)
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out
}

// validateScenarios plans the layout at every probe size, one and two disks,
// BIOS and UEFI. A fit error at the top of a bounded bucket means no disk of
// that bucket can hold it.
func validateScenarios(l *inventory.Layout) error {
	p1 := probeSizes(l, inventory.DiskFirst)
	p2 := probeSizes(l, inventory.DiskSecondIfPresent)
	const ram = 1 << 20 // RAM only matters for sizes; 1 TiB is its worst case below any cap
	for _, fw := range []Firmware{FirmwareBIOS, FirmwareUEFI} {
		for _, s1 := range p1 {
			cases := [][]Disk{{{Name: "sda", SizeMiB: s1}}}
			for _, s2 := range p2 {
				cases = append(cases, []Disk{{Name: "sda", SizeMiB: s1}, {Name: "sdb", SizeMiB: s2}})
			}
			for _, disks := range cases {
				_, err := plan(l, disks, ram, fw)
				var fe *FitError
				switch {
				case err == nil:
				case errors.As(err, &fe):
					if fe.TotalMiB == hugeMiB {
						return fmt.Errorf("%w: layout %s needs more than %d MiB: no disk can hold it", inventory.ErrInvalid, l.Name, int64(hugeMiB))
					}
					if i, ok := cappedBy(l, disks, fe.Disk); ok {
						r := l.Rules[i]
						return fmt.Errorf("%w: layout %s: rule %d sizes cannot fit: it applies to disks below %d MiB, and on the largest of them (%s, %d disk(s)) disk %s is %d MiB short; lower its sizes or raise below_mib",
							inventory.ErrInvalid, l.Name, i+1, r.BelowMiB, fw, len(disks), useOf(fe.Disk), fe.ShortMiB)
					}
					// A disk below every rule's range that is too small: it fails at install time, like any small disk.
				default:
					return fmt.Errorf("%w: %v (%s, disk sizes %s)", inventory.ErrInvalid, err, fw, sizesOf(disks))
				}
			}
		}
	}
	return nil
}

// cappedBy finds a rule with an upper bound that applies to disks and whose
// bound is the size of the named disk plus one: the largest disk it covers.
func cappedBy(l *inventory.Layout, disks []Disk, name string) (int, bool) {
	for i, r := range l.Rules {
		idx := 0
		if r.Disk == inventory.DiskSecondIfPresent {
			idx = 1
		}
		if idx >= len(disks) || disks[idx].Name != name || r.BelowMiB == 0 {
			continue
		}
		if disks[idx].SizeMiB == r.BelowMiB-1 && ruleMatches(r, disks) {
			return i, true
		}
	}
	return 0, false
}

func useOf(name string) string {
	if name == "sdb" {
		return "disk second-if-present"
	}
	return "disk first"
}

func sizesOf(disks []Disk) string {
	s := ""
	for i, d := range disks {
		if i > 0 {
			s += ", "
		}
		s += fmt.Sprintf("%d MiB", d.SizeMiB)
	}
	return s
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
