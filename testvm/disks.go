package testvm

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"

	diskfs "github.com/diskfs/go-diskfs"
	"github.com/diskfs/go-diskfs/partition/gpt"
	"github.com/diskfs/go-diskfs/partition/mbr"
)

// Partition is one partition as read back from a disk image, in bytes.
type Partition struct {
	Number int
	Start  int64
	End    int64 // inclusive, as parted prints it
	Size   int64
	Type   string // GPT type GUID or MBR type byte (hex); parted: filesystem
	Name   string // GPT name; parted: name or msdos kind
}

// DiskTable is a disk's partition table.
type DiskTable struct {
	Size       int64
	Label      string // msdos, gpt, or "" (none)
	Partitions []Partition
}

// ReadDiskfs reads an image's table with go-diskfs: GPT entries, or the four
// MBR slots (an extended partition shows as type 0f/05; logicals are not listed).
func ReadDiskfs(img string) (DiskTable, error) {
	d, err := diskfs.Open(img, diskfs.WithOpenMode(diskfs.ReadOnly))
	if err != nil {
		return DiskTable{}, fmt.Errorf("open disk image %s: %w", img, err)
	}
	defer d.Close()
	dt := DiskTable{Size: d.Size}
	t, err := d.GetPartitionTable()
	if err != nil {
		return dt, nil // no table at all
	}
	for _, p := range t.GetPartitions() {
		switch pp := p.(type) {
		case *gpt.Partition:
			dt.Label = "gpt"
			if pp.Type == gpt.Unused {
				continue
			}
			dt.Partitions = append(dt.Partitions, Partition{Number: pp.Index, Start: pp.GetStart(), Size: pp.GetSize(),
				End: pp.GetStart() + pp.GetSize() - 1, Type: string(pp.Type), Name: pp.Name})
		case *mbr.Partition:
			dt.Label = "msdos"
			if pp.Type == mbr.Empty {
				continue
			}
			dt.Partitions = append(dt.Partitions, Partition{Number: pp.Index, Start: pp.GetStart(), Size: pp.GetSize(),
				End: pp.GetStart() + pp.GetSize() - 1, Type: fmt.Sprintf("%02x", byte(pp.Type))})
		}
	}
	return dt, nil
}

// ParsePartedMachine parses `parted -m -s DEV unit B print` output.
func ParsePartedMachine(out string) (DiskTable, error) {
	var dt DiskTable
	lines := nonEmptyLines(out)
	if len(lines) < 2 || strings.TrimSpace(lines[0]) != "BYT;" {
		if strings.Contains(out, "unrecognised disk label") {
			return dt, nil
		}
		return dt, fmt.Errorf("parted -m output %q: want BYT; then the disk line (use unit B)", out)
	}
	disk := strings.Split(strings.TrimSuffix(strings.TrimSpace(lines[1]), ";"), ":")
	if len(disk) < 6 {
		return dt, fmt.Errorf("parted disk line %q: too few fields", lines[1])
	}
	var err error
	if dt.Size, err = bytesField(disk[1]); err != nil {
		return dt, err
	}
	dt.Label = disk[5]
	if dt.Label == "unknown" {
		dt.Label = ""
	}
	for _, l := range lines[2:] {
		f := strings.Split(strings.TrimSuffix(strings.TrimSpace(l), ";"), ":")
		if len(f) < 4 {
			return dt, fmt.Errorf("parted partition line %q: too few fields", l)
		}
		var p Partition
		if p.Number, err = strconv.Atoi(f[0]); err != nil {
			return dt, fmt.Errorf("parted partition line %q: %w", l, err)
		}
		if p.Start, err = bytesField(f[1]); err != nil {
			return dt, err
		}
		if p.End, err = bytesField(f[2]); err != nil {
			return dt, err
		}
		if p.Size, err = bytesField(f[3]); err != nil {
			return dt, err
		}
		if len(f) > 4 {
			p.Type = f[4]
		}
		if len(f) > 5 {
			p.Name = f[5]
		}
		dt.Partitions = append(dt.Partitions, p)
	}
	return dt, nil
}

func bytesField(s string) (int64, error) {
	v, err := strconv.ParseInt(strings.TrimSuffix(s, "B"), 10, 64)
	if err != nil {
		return 0, fmt.Errorf("parted field %q: want bytes (unit B): %w", s, err)
	}
	return v, nil
}

// ReadParted runs the real parted on an image file.
func ReadParted(ctx context.Context, img string) (DiskTable, error) {
	out, err := exec.CommandContext(ctx, "parted", "-m", "-s", img, "unit", "B", "print").CombinedOutput()
	if err != nil && !strings.Contains(string(out), "unrecognised disk label") {
		return DiskTable{}, fmt.Errorf("parted -m -s %s unit B print: %w: %s", img, err, out)
	}
	dt, err := ParsePartedMachine(string(out))
	if err == nil && dt.Size == 0 {
		if st, e := os.Stat(img); e == nil {
			dt.Size = st.Size()
		}
	}
	return dt, err
}

// CompareTables checks that two reads of the same disk agree on every
// partition both list (go-diskfs does not list msdos logical partitions).
func CompareTables(diskfsT, partedT DiskTable) error {
	if diskfsT.Label != partedT.Label {
		return fmt.Errorf("label: go-diskfs reads %q, parted %q", diskfsT.Label, partedT.Label)
	}
	byNum := map[int]Partition{}
	for _, p := range partedT.Partitions {
		byNum[p.Number] = p
	}
	for _, p := range diskfsT.Partitions {
		q, ok := byNum[p.Number]
		if !ok {
			return fmt.Errorf("partition %d: go-diskfs lists it, parted does not", p.Number)
		}
		if p.Start != q.Start || p.Size != q.Size {
			return fmt.Errorf("partition %d: go-diskfs reads start %d size %d, parted start %d size %d", p.Number, p.Start, p.Size, q.Start, q.Size)
		}
	}
	return nil
}

// String renders the table for the scenario output.
func (dt DiskTable) String() string {
	if dt.Label == "" {
		return fmt.Sprintf("  %s, no partition table\n", human(dt.Size))
	}
	var b strings.Builder
	fmt.Fprintf(&b, "  %s, %s\n", human(dt.Size), dt.Label)
	for _, p := range dt.Partitions {
		fmt.Fprintf(&b, "    %2d  start %8d MiB  size %8d MiB  %s %s\n", p.Number, p.Start>>20, p.Size>>20, p.Type, p.Name)
	}
	return b.String()
}

func human(n int64) string {
	switch {
	case n >= 1<<40 && n%(1<<30) == 0:
		return fmt.Sprintf("%.2fT", float64(n)/(1<<40))
	case n >= 1<<30:
		return fmt.Sprintf("%.1fG", float64(n)/(1<<30))
	default:
		return fmt.Sprintf("%.1fM", float64(n)/(1<<20))
	}
}
