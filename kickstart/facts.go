package kickstart

import (
	"strings"

	"github.com/netkick/netkick/inventory"
)

// Text is a text a machine reported about itself (a disk model, a DMI
// serial): untrusted. Printed by a template it is always a single-quoted
// shell word, so it can never reach a kickstart unquoted, and a template
// cannot hand it to a function that would take it as plain text.
type Text string

// String is the text as one single-quoted shell word.
func (t Text) String() string {
	return "'" + strings.ReplaceAll(string(t), "'", `'\''`) + "'"
}

// Facts is `.Facts` in templates: the host's hardware as its discovery
// environment reported it; nil for hosts that were never discovered.
type Facts struct {
	CPUModel    Text
	CPUCount    int
	MemoryBytes int64
	MemoryMiB   int64
	Disks       []DiskFacts
	NICs        []NICFacts
	DMI         DMIFacts
}

// DiskFacts is one reported disk.
type DiskFacts struct {
	Name       string // a kernel name (inventory.ValidateDiskName): sda, nvme0n1
	SizeBytes  int64
	SizeMiB    int64
	Model      Text
	Serial     Text
	Rotational bool
}

// NICFacts is one reported NIC.
type NICFacts struct {
	Name      Text
	MAC       string // canonical
	Link      bool
	SpeedMbps int
}

// DMIFacts is the reported SMBIOS system information.
type DMIFacts struct {
	Vendor, Product, Serial Text
}

// factsOf is the template view of a host's facts.
func factsOf(f *inventory.Facts) *Facts {
	if f == nil {
		return nil
	}
	out := &Facts{CPUModel: Text(f.CPU.Model), CPUCount: f.CPU.Count, MemoryBytes: f.MemoryBytes, MemoryMiB: f.MemoryBytes >> 20,
		DMI: DMIFacts{Vendor: Text(f.DMI.Vendor), Product: Text(f.DMI.Product), Serial: Text(f.DMI.Serial)}}
	for _, d := range f.Disks {
		out.Disks = append(out.Disks, DiskFacts{Name: d.Name, SizeBytes: d.SizeBytes, SizeMiB: d.SizeBytes >> 20,
			Model: Text(d.Model), Serial: Text(d.Serial), Rotational: d.Rotational})
	}
	for _, n := range f.NICs {
		out.NICs = append(out.NICs, NICFacts{Name: Text(n.Name), MAC: n.MAC, Link: n.Link, SpeedMbps: n.SpeedMbps})
	}
	return out
}
