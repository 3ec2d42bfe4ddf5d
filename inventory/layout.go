package inventory

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
)

// Layout is a named, declarative disk layout: a label type, the disks it uses
// (by order), their partitions, and rules that switch partition sizes by the
// size of a disk. kickstart/layout validates it, plans it and turns it into a
// %pre script; the inventory only stores it.
type Layout struct {
	Name string `json:"name" yaml:"name"`
	// Label is the partition table type: "msdos" or "gpt". UEFI hosts always
	// get gpt (anaconda refuses msdos there).
	Label       string `json:"label,omitempty" yaml:"label,omitempty"`
	Description string `json:"description,omitempty" yaml:"description,omitempty"`
	// Disks lists the disks the layout partitions, in order.
	Disks []LayoutDisk `json:"disks" yaml:"disks"`
	// Rules switch partition sizes by disk size; every matching rule applies,
	// in order, a later one overriding an earlier one.
	Rules []LayoutRule `json:"rules,omitempty" yaml:"rules,omitempty"`
}

// Disk selectors: which disk, by the order anaconda's list-harddrives prints them.
const (
	DiskFirst           = "first"
	DiskSecondIfPresent = "second-if-present"
)

// LayoutDisk is one disk of a layout and the partitions made on it, in order.
// A mount that a second-if-present disk declares moves there when that disk
// exists; the first disk's entry for the same mount is used only without it.
type LayoutDisk struct {
	// Use is DiskFirst or DiskSecondIfPresent.
	Use        string            `json:"use" yaml:"use"`
	Partitions []LayoutPartition `json:"partitions" yaml:"partitions"`
}

// LayoutPartition is one partition: where it is mounted, its file system and size.
type LayoutPartition struct {
	// Mount is an absolute path, "swap", or "biosboot".
	Mount string `json:"mount" yaml:"mount"`
	// FSType is ext2, ext3, ext4, xfs, btrfs, swap, vfat, efi or biosboot;
	// empty means ext4 (swap for "swap", biosboot for "biosboot").
	FSType string `json:"fstype,omitempty" yaml:"fstype,omitempty"`
	Size   Size   `json:"size" yaml:"size"`
	// AsPrimary makes the partition primary on an msdos label when the disk has
	// more than four partitions; the others become logical partitions inside
	// one extended partition.
	AsPrimary bool `json:"asprimary,omitempty" yaml:"asprimary,omitempty"`
}

// LayoutRule sets partition sizes when a disk's total size (MiB, as
// list-harddrives reports it) is within [MinMiB, BelowMiB) and the second disk
// is present or absent as asked. Zero bounds are open.
type LayoutRule struct {
	// Disk is the disk whose size is compared: DiskFirst (default) or
	// DiskSecondIfPresent (the rule then needs the second disk).
	Disk     string `json:"disk,omitempty" yaml:"disk,omitempty"`
	MinMiB   int64  `json:"min_mib,omitempty" yaml:"min_mib,omitempty"`     // total >= MinMiB (sh: -ge)
	BelowMiB int64  `json:"below_mib,omitempty" yaml:"below_mib,omitempty"` // total < BelowMiB (sh: -lt)
	// Second is "present", "absent" or empty (either).
	Second string `json:"second,omitempty" yaml:"second,omitempty"`
	// Set maps a mount point to its size when the rule matches.
	Set map[string]Size `json:"set" yaml:"set"`
}

// SizeKind is how a partition's size is decided.
type SizeKind string

// Size kinds.
const (
	SizeFixed SizeKind = "fixed" // MiB
	SizeGrow  SizeKind = "grow"  // everything that remains on the disk
	SizeShare SizeKind = "share" // Share parts of what remains
	SizeRAM   SizeKind = "ram"   // the machine's RAM (MemTotal), capped at MiB when MiB > 0
)

// Size is a partition size. Its text form (used in JSON and YAML) is one of
// "128" or "128M" (MiB), "20G" (GiB), "2T" (TiB), "grow", "share:2",
// "ram" and "ram:16G" (RAM, at most 16 GiB).
type Size struct {
	Kind  SizeKind
	MiB   int64 // fixed size, or the cap of a ram size (0: none)
	Share int64 // weight of a share size
}

// Fixed returns a fixed size of n MiB.
func Fixed(n int64) Size { return Size{Kind: SizeFixed, MiB: n} }

// Grow returns a size that takes what remains on the disk.
func Grow() Size { return Size{Kind: SizeGrow} }

// Share returns a size of n parts of what remains on the disk.
func Share(n int64) Size { return Size{Kind: SizeShare, Share: n} }

// RAM returns a size equal to the machine's RAM, capped at capMiB when > 0.
func RAM(capMiB int64) Size { return Size{Kind: SizeRAM, MiB: capMiB} }

// String returns the text form.
func (s Size) String() string {
	switch s.Kind {
	case SizeGrow:
		return "grow"
	case SizeShare:
		return "share:" + strconv.FormatInt(s.Share, 10)
	case SizeRAM:
		if s.MiB > 0 {
			return "ram:" + FormatMiB(s.MiB)
		}
		return "ram"
	case SizeFixed:
		return FormatMiB(s.MiB)
	}
	return ""
}

// FormatMiB writes n MiB with the largest exact binary suffix (T, G, M).
func FormatMiB(n int64) string {
	switch {
	case n != 0 && n%(1<<20) == 0:
		return strconv.FormatInt(n>>20, 10) + "T"
	case n != 0 && n%(1<<10) == 0:
		return strconv.FormatInt(n>>10, 10) + "G"
	}
	return strconv.FormatInt(n, 10) + "M"
}

// ParseMiB reads a size in MiB: a number with an optional binary suffix
// M/MiB (default), G/GiB or T/TiB. It refuses negative and absurd values.
func ParseMiB(s string) (int64, error) {
	t := strings.TrimSpace(s)
	mult := int64(1)
	up := strings.ToUpper(t)
	for _, suf := range []struct {
		s string
		m int64
	}{{"TIB", 1 << 20}, {"GIB", 1 << 10}, {"MIB", 1}, {"TB", 1 << 20}, {"GB", 1 << 10}, {"MB", 1}, {"T", 1 << 20}, {"G", 1 << 10}, {"M", 1}} {
		if strings.HasSuffix(up, suf.s) {
			t, mult = t[:len(t)-len(suf.s)], suf.m
			break
		}
	}
	n, err := strconv.ParseInt(strings.TrimSpace(t), 10, 64)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("%w: size %q: want a whole number of MiB, optionally with M, G or T (binary units), e.g. 20000, 200G", ErrInvalid, trunc(s))
	}
	const maxMiB = 1 << 40 // 1 EiB: beyond any disk, and safe for 64-bit shell arithmetic
	if n > maxMiB/mult {
		return 0, fmt.Errorf("%w: size %q is larger than 1 EiB", ErrInvalid, trunc(s))
	}
	return n * mult, nil
}

// ParseSize reads the text form of a Size.
func ParseSize(s string) (Size, error) {
	t := strings.ToLower(strings.TrimSpace(s))
	switch {
	case t == "grow":
		return Grow(), nil
	case t == "ram":
		return RAM(0), nil
	case strings.HasPrefix(t, "ram:"):
		n, err := ParseMiB(t[4:])
		if err != nil || n == 0 {
			return Size{}, fmt.Errorf("%w: size %q: the cap of ram must be a size such as ram:16G", ErrInvalid, trunc(s))
		}
		return RAM(n), nil
	case strings.HasPrefix(t, "share:"):
		n, err := strconv.ParseInt(t[6:], 10, 64)
		if err != nil || n < 1 || n > 1000 {
			return Size{}, fmt.Errorf("%w: size %q: a share is share:N with N from 1 to 1000", ErrInvalid, trunc(s))
		}
		return Share(n), nil
	}
	n, err := ParseMiB(t)
	if err != nil {
		return Size{}, fmt.Errorf("%w: size %q: want MiB (128, 20G), grow, share:N, ram or ram:CAP", ErrInvalid, trunc(s))
	}
	return Fixed(n), nil
}

// MarshalText writes the text form.
func (s Size) MarshalText() ([]byte, error) {
	if s.Kind == "" {
		return nil, fmt.Errorf("%w: size has no kind", ErrInvalid)
	}
	return []byte(s.String()), nil
}

// UnmarshalText reads the text form (YAML scalars, including bare numbers, land here).
func (s *Size) UnmarshalText(b []byte) error {
	v, err := ParseSize(string(b))
	if err != nil {
		return err
	}
	*s = v
	return nil
}

// UnmarshalJSON accepts the text form as a string, or a bare number of MiB.
func (s *Size) UnmarshalJSON(b []byte) error {
	var str string
	if err := json.Unmarshal(b, &str); err == nil {
		return s.UnmarshalText([]byte(str))
	}
	var n json.Number
	if err := json.Unmarshal(b, &n); err != nil {
		return fmt.Errorf("%w: size %s: want a string such as \"20G\", \"grow\", \"share:2\", \"ram\" or a number of MiB", ErrInvalid, trunc(string(b)))
	}
	return s.UnmarshalText([]byte(n.String()))
}
