// Package layout plans declarative disk layouts (inventory.Layout) and turns
// them into a BusyBox-safe kickstart %pre that partitions the disks with
// parted and writes the `part --onpart` lines the main kickstart %includes.
// The Go planner (Plan) and the generated shell compute the same table.
package layout

import (
	"fmt"
	"strings"

	"github.com/netkick/netkick/inventory"
)

// IncludeFile is where the %pre writes the part lines; the main kickstart
// must `%include` exactly this path.
const IncludeFile = "/tmp/netkick-part.ks"

// Firmware is how the host boots; it decides the extra boot partition.
type Firmware string

// Firmware kinds. FirmwareAuto is for PreScript only: the script looks for
// /sys/firmware/efi at install time.
const (
	FirmwareBIOS Firmware = "bios"
	FirmwareUEFI Firmware = "uefi"
	FirmwareAuto Firmware = "auto"
)

// ParseFirmware maps a host's Arch (DHCP option 93 name, e.g. "bios",
// "efi-x86_64") or a firmware word to a Firmware; empty means auto.
func ParseFirmware(s string) Firmware {
	t := strings.ToLower(strings.TrimSpace(s))
	switch {
	case t == "":
		return FirmwareAuto
	case t == "auto":
		return FirmwareAuto
	case strings.Contains(t, "efi"):
		return FirmwareUEFI
	}
	return FirmwareBIOS
}

// Disk is a drive as list-harddrives reports it: a name (sda, vdb, nvme0n1)
// and its size in whole MiB.
type Disk struct {
	Name    string
	SizeMiB int64
}

// Sizes of the partitions added for the firmware.
const (
	biosBootMiB = 1
	espMiB      = 200
)

// flatPart is one partition of the layout with its disk index (0 first,
// 1 second-if-present) and normalised file system type.
type flatPart struct {
	disk   int
	mount  string
	fstype string
	size   inventory.Size
	prim   bool
}

// slot is a partition as it will be made on one disk: roles are 'p' (msdos
// primary), 'l' (msdos logical) and 'g' (gpt). src indexes the flattened
// layout, or is -1 for a partition added for the firmware.
type slot struct {
	src    int
	mount  string
	fstype string
	size   inventory.Size
	role   byte
	name   string // first word of parted's mkpart: primary, logical or the GPT name
}

// shapeDisk is the static structure of one disk in one scenario.
type shapeDisk struct {
	use   string
	label string
	slots []slot
}

// normFSType returns the file system type a partition gets.
func normFSType(p inventory.LayoutPartition) string {
	if p.FSType != "" {
		return strings.ToLower(p.FSType)
	}
	switch p.Mount {
	case "swap":
		return "swap"
	case "biosboot":
		return "biosboot"
	case "/boot/efi":
		return "efi"
	}
	return "ext4"
}

// flatten lists the layout's partitions in order, disk by disk.
func flatten(l *inventory.Layout) []flatPart {
	var out []flatPart
	for _, d := range l.Disks {
		idx := 0
		if d.Use == inventory.DiskSecondIfPresent {
			idx = 1
		}
		for _, p := range d.Partitions {
			out = append(out, flatPart{disk: idx, mount: p.Mount, fstype: normFSType(p), size: p.Size, prim: p.AsPrimary})
		}
	}
	return out
}

// hasSecond reports whether the layout declares a second-if-present disk.
func hasSecond(l *inventory.Layout) bool {
	for _, d := range l.Disks {
		if d.Use == inventory.DiskSecondIfPresent {
			return true
		}
	}
	return false
}

// labelFor is the label a disk gets: gpt on UEFI, else the layout's (msdos by default).
func labelFor(l *inventory.Layout, fw Firmware) string {
	if fw == FirmwareUEFI {
		return "gpt"
	}
	if l.Label == "" {
		return "msdos"
	}
	return l.Label
}

// gptName is the GPT partition name parted writes for a mount.
func gptName(mount string) string {
	switch mount {
	case "/":
		return "root"
	case "/boot/efi":
		return "efi"
	}
	n := strings.ReplaceAll(strings.Trim(mount, "/"), "/", "-")
	if n == "" {
		return "part"
	}
	return n
}

// msdosMaxMiB is how far an msdos label reaches: 2^32 sectors of 512 bytes.
const msdosMaxMiB = 1 << 21

// tooBigForMsdos reports whether a disk's usable space ends past msdosMaxMiB.
// Such disks get a gpt label instead, as anaconda does.
func tooBigForMsdos(totalMiB int64) bool { return totalMiB-1 > msdosMaxMiB }

// shape builds the disks' static structure for one scenario: whether the
// second disk is used, which firmware boots the host, and which disks are
// too big for msdos (big[0] first, big[1] second).
func shape(l *inventory.Layout, useSecond bool, fw Firmware, big [2]bool) ([]shapeDisk, error) {
	flat := flatten(l)
	label := labelFor(l, fw)
	onSecond := map[string]bool{}
	if useSecond {
		for _, f := range flat {
			if f.disk == 1 && f.mount != "swap" {
				onSecond[f.mount] = true
			}
		}
	}
	labelOf := func(i int) string {
		if label == "msdos" && big[i] {
			return "gpt"
		}
		return label
	}
	disks := []shapeDisk{{use: inventory.DiskFirst, label: labelOf(0)}}
	if useSecond {
		disks = append(disks, shapeDisk{use: inventory.DiskSecondIfPresent, label: labelOf(1)})
	}
	for i, f := range flat {
		if f.disk == 1 && !useSecond {
			continue
		}
		if f.disk == 0 && onSecond[f.mount] {
			continue
		}
		disks[f.disk].slots = append(disks[f.disk].slots, slot{src: i, mount: f.mount, fstype: f.fstype, size: f.size, role: 'p'})
	}
	// The firmware's boot partition goes first on the first disk unless the layout has one.
	first := &disks[0]
	has := func(fs string) bool {
		for _, s := range first.slots {
			if s.fstype == fs {
				return true
			}
		}
		return false
	}
	switch {
	case fw == FirmwareUEFI && !has("efi"):
		first.slots = append([]slot{{src: -1, mount: "/boot/efi", fstype: "efi", size: inventory.Fixed(espMiB), role: 'p'}}, first.slots...)
	case fw == FirmwareBIOS && first.label == "gpt" && !has("biosboot"):
		first.slots = append([]slot{{src: -1, mount: "biosboot", fstype: "biosboot", size: inventory.Fixed(biosBootMiB), role: 'p'}}, first.slots...)
	}
	for di := range disks {
		d := &disks[di]
		if d.label == "gpt" {
			for i := range d.slots {
				d.slots[i].role, d.slots[i].name = 'g', gptName(d.slots[i].mount)
			}
			continue
		}
		for i := range d.slots {
			d.slots[i].name = "primary"
		}
		if len(d.slots) <= 4 {
			continue
		}
		// More than four: leading asprimary (and added) partitions stay primary,
		// the rest become logical partitions in one extended partition.
		logical := false
		prim := 0
		for i := range d.slots {
			s := &d.slots[i]
			isPrim := s.src < 0 || flat[s.src].prim
			switch {
			case isPrim && logical:
				return nil, fmt.Errorf("disk %s: %s is asprimary but comes after a logical partition; on msdos the primary partitions must come first", d.use, s.mount)
			case isPrim:
				prim++
			default:
				logical = true
				s.role, s.name = 'l', "logical"
			}
		}
		if prim > 3 {
			return nil, fmt.Errorf("disk %s: %d primary partitions plus the extended one for the other %d: msdos allows 4 primaries; mark fewer asprimary or use label gpt", d.use, prim, len(d.slots)-prim)
		}
	}
	return disks, nil
}
