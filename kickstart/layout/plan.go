package layout

import (
	"errors"
	"fmt"
	"strings"

	"github.com/netkick/netkick/inventory"
)

// Table is the partition table a layout gives a set of disks (what Plan returns).
type Table struct {
	Layout   string
	Firmware Firmware
	RAMMiB   int64
	Disks    []DiskPlan
}

// DiskPlan is one disk's table. Positions are MiB from the start of the disk;
// End is exclusive.
type DiskPlan struct {
	Name       string
	Use        string // inventory.DiskFirst or inventory.DiskSecondIfPresent
	SizeMiB    int64
	Label      string // msdos or gpt
	Partitions []Partition
}

// Partition is one entry of a planned table.
type Partition struct {
	Number   int
	Device   string // e.g. sda1, nvme0n1p2
	Mount    string // empty for the extended partition
	FSType   string // kickstart fstype; empty for the extended partition
	Kind     string // primary, extended, logical (msdos) or gpt
	StartMiB int64
	EndMiB   int64
	SizeMiB  int64
	// MBRType is the msdos partition type byte parted writes; GPTType the type GUID.
	MBRType byte
	GPTType string
	Flags   []string
}

// Types parted writes (GUIDs upper case, as go-diskfs reports them).
const (
	GUIDLinux    = "0FC63DAF-8483-4772-8E79-3D69D8477DE4"
	GUIDSwap     = "0657FD6D-A4AB-43C4-84E5-0933C84B4F4F"
	GUIDESP      = "C12A7328-F81F-11D2-BA4B-00A0C93EC93B"
	GUIDBIOSBoot = "21686148-6449-6E6F-744E-656564454649"
	GUIDMSData   = "EBD0A0A2-B9E5-4433-87C0-68B6B72699C7"
)

// FitError says a layout does not fit a disk, and by how much. The %pre
// prints the same sentence (prefixed "netkick: ") before exiting non-zero.
type FitError struct {
	Layout   string
	Disk     string
	TotalMiB int64
	ShortMiB int64
}

func (e *FitError) Error() string {
	return fmt.Sprintf("layout %s does not fit disk %s (%d MiB): short by %d MiB", e.Layout, e.Disk, e.TotalMiB, e.ShortMiB)
}

// ruleMatches reports whether rule r holds for the disks' sizes.
func ruleMatches(r inventory.LayoutRule, disks []Disk) bool {
	second := len(disks) > 1
	switch r.Second {
	case "present":
		if !second {
			return false
		}
	case "absent":
		if second {
			return false
		}
	}
	idx := 0
	if r.Disk == inventory.DiskSecondIfPresent {
		if !second {
			return false
		}
		idx = 1
	}
	t := disks[idx].SizeMiB
	if r.MinMiB > 0 && t < r.MinMiB {
		return false
	}
	if r.BelowMiB > 0 && t >= r.BelowMiB {
		return false
	}
	return true
}

// resolveSizes applies the matching rules to the flattened partitions' sizes.
func resolveSizes(l *inventory.Layout, flat []flatPart, disks []Disk) []inventory.Size {
	sizes := make([]inventory.Size, len(flat))
	for i, f := range flat {
		sizes[i] = f.size
	}
	for _, r := range l.Rules {
		if !ruleMatches(r, disks) {
			continue
		}
		for i, f := range flat {
			if s, ok := r.Set[f.mount]; ok {
				sizes[i] = s
			}
		}
	}
	return sizes
}

// Plan computes the partition tables layout l gives disks (disks[0] is the
// first drive, disks[1] the second if present) on a machine with ramMiB of
// RAM booting with fw (FirmwareBIOS or FirmwareUEFI). It is the same
// computation as the %pre PreScript writes.
func Plan(l *inventory.Layout, disks []Disk, ramMiB int64, fw Firmware) (*Table, error) {
	if err := validateStatic(l); err != nil {
		return nil, err
	}
	if fw != FirmwareBIOS && fw != FirmwareUEFI {
		return nil, fmt.Errorf("layout %s: plan needs firmware bios or uefi, not %q", l.Name, fw)
	}
	if len(disks) == 0 {
		return nil, fmt.Errorf("layout %s: no disk to plan for; give at least one", l.Name)
	}
	for _, d := range disks {
		if d.Name == "" || d.SizeMiB < 0 {
			return nil, fmt.Errorf("layout %s: disk %q of %d MiB: want a name and a size", l.Name, d.Name, d.SizeMiB)
		}
	}
	return plan(l, disks, ramMiB, fw)
}

// plan is Plan after the static checks.
func plan(l *inventory.Layout, disks []Disk, ramMiB int64, fw Firmware) (*Table, error) {
	useSecond := len(disks) > 1 && hasSecond(l)
	var big [2]bool
	for i := range min(len(disks), 2) {
		big[i] = tooBigForMsdos(disks[i].SizeMiB)
	}
	shapes, err := shape(l, useSecond, fw, big)
	if err != nil {
		return nil, fmt.Errorf("layout %s: %w", l.Name, err)
	}
	sizes := resolveSizes(l, flatten(l), disks)
	p := &Table{Layout: l.Name, Firmware: fw, RAMMiB: ramMiB}
	for i, sd := range shapes {
		dp, err := planDisk(l.Name, disks[i], sd, sizes, ramMiB)
		if err != nil {
			return nil, err
		}
		p.Disks = append(p.Disks, dp)
	}
	return p, nil
}

// errKinds is wrapped by errors about size kinds that no disk can resolve.
var errKinds = errors.New("size kinds")

// fixedMiB is the size of a fixed or ram slot.
func fixedMiB(s inventory.Size, ram int64) int64 {
	if s.Kind == inventory.SizeRAM {
		if s.MiB > 0 && s.MiB < ram {
			return s.MiB
		}
		return ram
	}
	return s.MiB
}

// planDisk lays one disk out, exactly as the shell function plan_disk does:
// usable space is [1 MiB, total-1 MiB); each logical partition is preceded by
// 1 MiB for its EBR; flexible partitions share what the others leave, the last
// one taking the rounding remainder.
func planDisk(layout string, d Disk, sd shapeDisk, sizes []inventory.Size, ram int64) (DiskPlan, error) {
	dp := DiskPlan{Name: d.Name, Use: sd.use, SizeMiB: d.SizeMiB, Label: sd.label}
	end := d.SizeMiB - 1
	var fixed, shares, flex, ebr, grows, shareKinds int64
	slotSize := func(s slot) inventory.Size {
		if s.src >= 0 {
			return sizes[s.src]
		}
		return s.size
	}
	for _, s := range sd.slots {
		sz := slotSize(s)
		switch sz.Kind {
		case inventory.SizeGrow:
			shares++
			flex++
			grows++
		case inventory.SizeShare:
			shares += sz.Share
			flex++
			shareKinds++
		case inventory.SizeRAM:
			if ram <= 0 {
				return dp, fmt.Errorf("layout %s: %s is sized by RAM but the RAM size is unknown; give it (--ram 16G)", layout, s.mount)
			}
			fixed += fixedMiB(sz, ram)
		default:
			fixed += sz.MiB
		}
		if s.role == 'l' {
			ebr++
		}
	}
	if grows > 1 {
		return dp, fmt.Errorf("layout %s: disk %s: %w: %d partitions grow; say how they split with share:N sizes", layout, sd.use, errKinds, grows)
	}
	if grows > 0 && shareKinds > 0 {
		return dp, fmt.Errorf("layout %s: disk %s: %w: grow and share:N on one disk; use shares for all of them", layout, sd.use, errKinds)
	}
	avail := end - 1 - fixed - ebr
	if avail < shares {
		return dp, &FitError{Layout: layout, Disk: d.Name, TotalMiB: d.SizeMiB, ShortMiB: shares - avail}
	}
	dev := d.Name
	if last := dev[len(dev)-1]; last >= '0' && last <= '9' {
		dev += "p"
	}
	pos, num, lnum, left := int64(1), 0, 4, avail
	for _, s := range sd.slots {
		sz := slotSize(s)
		var n int64
		switch sz.Kind {
		case inventory.SizeGrow, inventory.SizeShare:
			w := sz.Share
			if sz.Kind == inventory.SizeGrow {
				w = 1
			}
			flex--
			if flex == 0 {
				n = left
			} else {
				n = avail * w / shares
			}
			left -= n
		default:
			n = fixedMiB(sz, ram)
		}
		var pn int
		kind := "primary"
		switch s.role {
		case 'l':
			if lnum == 4 {
				num++
				dp.Partitions = append(dp.Partitions, Partition{Number: num, Device: fmt.Sprintf("%s%d", dev, num), Kind: "extended",
					StartMiB: pos, EndMiB: end, SizeMiB: end - pos, MBRType: 0x0f})
			}
			lnum++
			pn = lnum
			pos++
			kind = "logical"
		case 'g':
			num++
			pn = num
			kind = "gpt"
		default:
			num++
			pn = num
		}
		part := Partition{Number: pn, Device: fmt.Sprintf("%s%d", dev, pn), Mount: s.mount, FSType: s.fstype, Kind: kind,
			StartMiB: pos, EndMiB: pos + n, SizeMiB: n}
		part.MBRType, part.GPTType, part.Flags = types(s.fstype)
		if sd.label != "gpt" {
			part.GPTType = ""
		} else {
			part.MBRType = 0
		}
		dp.Partitions = append(dp.Partitions, part)
		pos += n
	}
	return dp, nil
}

// types gives the msdos type byte, GPT type GUID and flags parted sets for a fstype.
func types(fstype string) (byte, string, []string) {
	switch fstype {
	case "swap":
		return 0x82, GUIDSwap, nil
	case "efi":
		return 0xef, GUIDESP, []string{"esp"}
	case "biosboot":
		return 0, GUIDBIOSBoot, []string{"bios_grub"}
	case "vfat":
		return 0x0c, GUIDMSData, nil
	}
	return 0x83, GUIDLinux, nil
}

// partedFS is the file system word parted's mkpart takes for a fstype.
func partedFS(fstype string) string {
	switch fstype {
	case "swap":
		return "linux-swap"
	case "efi", "vfat":
		return "fat32"
	case "biosboot":
		return ""
	}
	return fstype
}

// includeHeader is the first line the %pre writes to IncludeFile.
func includeHeader(layout string) string {
	return "# disk layout " + layout + ", written by the netkick %pre\n"
}

// PartLines are the kickstart lines for the planned partitions, as the %pre
// writes them to IncludeFile (after a comment line).
func (t *Table) PartLines() string {
	var b strings.Builder
	for _, d := range t.Disks {
		for _, p := range d.Partitions {
			switch {
			case p.Kind == "extended":
			case p.FSType == "swap":
				fmt.Fprintf(&b, "part swap --onpart=%s\n", p.Device)
			default:
				fmt.Fprintf(&b, "part %s --fstype=%s --onpart=%s\n", p.Mount, p.FSType, p.Device)
			}
		}
	}
	return b.String()
}
