package layout

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/netkick/netkick/inventory"
)

// sizesOfMounts maps mount -> planned size for a table.
func sizesOfMounts(t *Table) map[string]int64 {
	m := map[string]int64{}
	for _, d := range t.Disks {
		for _, p := range d.Partitions {
			if p.Mount != "" {
				m[d.Name+":"+p.Mount] = p.SizeMiB
			}
		}
	}
	return m
}

// TestHomeOptBoundaries: the post compares TOTAL -ge 512000 and -ge 256000
// (MB as list-harddrives counts them, i.e. MiB); exactly 256000 and 512000
// belong to the upper bucket, one less to the lower one. Fixed partitions
// take 48320 MiB, the three logical partitions 3 MiB of EBR space, and the
// label 1 MiB at each end, so what /home and /opt share is TOTAL-48325.
func TestHomeOptBoundaries(t *testing.T) {
	l, _ := Builtin("home-opt")
	cases := []struct {
		name       string
		total      int64
		home, opt  int64
		bucketNote string
	}{
		{"just under 256000: two thirds and the rest", 255999, 138449, 69225, "-lt 256000"},
		{"exactly 256000: halves", 256000, 103837, 103838, "-ge 256000"},
		{"just under 512000: halves", 511999, 231837, 231837, "-lt 512000"},
		{"exactly 512000: /opt 200 GiB, /home the rest", 512000, 258875, 204800, "-ge 512000"},
		{"2 TiB: /opt 200 GiB, /home the rest", 2 << 20, 2097152 - 48325 - 204800, 204800, "-ge 512000"},
		{"100 GiB: two thirds", 102400, (102400 - 48325) * 2 / 3, 102400 - 48325 - (102400-48325)*2/3, "-lt 256000"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p, err := Plan(l, []Disk{{"sda", c.total}}, 4096, FirmwareBIOS)
			if err != nil {
				t.Fatal(err)
			}
			got := sizesOfMounts(p)
			if got["sda:/home"] != c.home || got["sda:/opt"] != c.opt {
				t.Errorf("%d MiB (%s): /home %d /opt %d, want %d and %d", c.total, c.bucketNote, got["sda:/home"], got["sda:/opt"], c.home, c.opt)
			}
			want := map[string]int64{"sda:/boot": 128, "sda:/": 20000, "sda:/var/log": 20000, "sda:swap": 8192}
			for k, v := range want {
				if got[k] != v {
					t.Errorf("%s: %d MiB, want %d", k, got[k], v)
				}
			}
			last := p.Disks[0].Partitions[len(p.Disks[0].Partitions)-1]
			if last.Mount != "swap" || last.EndMiB != c.total-1 {
				t.Errorf("swap is not last at the end of the usable disk: %+v", last)
			}
		})
	}
}

// TestHomeOptLayout checks the post's table on the post's disk, partition by partition.
func TestHomeOptLayout(t *testing.T) {
	l, _ := Builtin("home-opt")
	cases := []struct {
		name  string
		disks []Disk
		fw    Firmware
		want  string // device mount start-end, one per partition
	}{
		{"post's layout on 500 GiB", []Disk{{"sda", 512000}}, FirmwareBIOS,
			"sda1 /boot 1-129 primary|sda2 / 129-20129 primary|sda3 /var/log 20129-40129 primary|sda4  40129-511999 extended|" +
				"sda5 /home 40130-299005 logical|sda6 /opt 299006-503806 logical|sda7 swap 503807-511999 logical"},
		{"second disk takes /home, /opt grows", []Disk{{"sda", 512000}, {"sdb", 1 << 20}}, FirmwareBIOS,
			"sda1 /boot 1-129 primary|sda2 / 129-20129 primary|sda3 /var/log 20129-40129 primary|sda4  40129-511999 extended|" +
				"sda5 /opt 40130-503806 logical|sda6 swap 503807-511999 logical|sdb1 /home 1-1048575 primary"},
		{"UEFI: gpt with an EFI system partition", []Disk{{"sda", 256000}}, FirmwareUEFI,
			"sda1 /boot/efi 1-201 gpt|sda2 /boot 201-329 gpt|sda3 / 329-20329 gpt|sda4 /var/log 20329-40329 gpt|" +
				"sda5 /home 40329-144068 gpt|sda6 /opt 144068-247807 gpt|sda7 swap 247807-255999 gpt"},
		{"past msdos's 2 TiB: gpt with biosboot, as anaconda does", []Disk{{"sda", 3 << 20}}, FirmwareBIOS,
			"sda1 biosboot 1-2 gpt|sda2 /boot 2-130 gpt|sda3 / 130-20130 gpt|sda4 /var/log 20130-40130 gpt|" +
				"sda5 /home 40130-2932735 gpt|sda6 /opt 2932735-3137535 gpt|sda7 swap 3137535-3145727 gpt"},
		{"2 TiB still fits msdos", []Disk{{"sda", 2 << 20}}, FirmwareBIOS,
			"sda1 /boot 1-129 primary|sda2 / 129-20129 primary|sda3 /var/log 20129-40129 primary|sda4  40129-2097151 extended|" +
				"sda5 /home 40130-1884157 logical|sda6 /opt 1884158-2088958 logical|sda7 swap 2088959-2097151 logical"},
		{"nvme names get a p", []Disk{{"nvme0n1", 300000}}, FirmwareBIOS,
			"nvme0n1p1 /boot 1-129 primary|nvme0n1p2 / 129-20129 primary|nvme0n1p3 /var/log 20129-40129 primary|nvme0n1p4  40129-299999 extended|" +
				"nvme0n1p5 /home 40130-165967 logical|nvme0n1p6 /opt 165968-291806 logical|nvme0n1p7 swap 291807-299999 logical"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p, err := Plan(l, c.disks, 4096, c.fw)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, d := range p.Disks {
				for _, q := range d.Partitions {
					got = append(got, fmt.Sprintf("%s %s %d-%d %s", q.Device, q.Mount, q.StartMiB, q.EndMiB, q.Kind))
				}
			}
			if g := strings.Join(got, "|"); g != c.want {
				t.Errorf("plan:\n%s\nwant:\n%s", strings.ReplaceAll(g, "|", "\n"), strings.ReplaceAll(c.want, "|", "\n"))
			}
		})
	}
}

// bad returns a valid small layout changed by fn.
func bad(fn func(l *inventory.Layout)) *inventory.Layout {
	l := &inventory.Layout{Name: "t", Label: "msdos", Disks: []inventory.LayoutDisk{{Use: "first", Partitions: []inventory.LayoutPartition{
		{Mount: "/boot", Size: inventory.Fixed(512)},
		{Mount: "/", Size: inventory.Grow()},
	}}}}
	fn(l)
	return l
}

func parts(ps ...inventory.LayoutPartition) func(l *inventory.Layout) {
	return func(l *inventory.Layout) { l.Disks[0].Partitions = ps }
}

// TestValidate: what PUT refuses and why; PreScript refuses the same.
func TestValidate(t *testing.T) {
	p := func(m string, s inventory.Size, prim bool) inventory.LayoutPartition {
		return inventory.LayoutPartition{Mount: m, Size: s, AsPrimary: prim}
	}
	cases := []struct {
		name   string
		layout *inventory.Layout
		want   string // substring of the error; "" means valid
	}{
		{"home-opt is valid", func() *inventory.Layout { l, _ := Builtin("home-opt"); return l }(), ""},
		{"simple is valid", func() *inventory.Layout { l, _ := Builtin("simple"); return l }(), ""},
		{"the small layout is valid", bad(func(*inventory.Layout) {}), ""},
		{"bad name", bad(func(l *inventory.Layout) { l.Name = "A B" }), "layout"},
		{"bad label", bad(func(l *inventory.Layout) { l.Label = "sun" }), "want msdos or gpt"},
		{"no first disk", bad(func(l *inventory.Layout) { l.Disks[0].Use = "second-if-present" }), "use: first"},
		{"unknown disk use", bad(func(l *inventory.Layout) {
			l.Disks = append(l.Disks, inventory.LayoutDisk{Use: "third", Partitions: []inventory.LayoutPartition{p("/data", inventory.Grow(), false)}})
		}), "second-if-present"},
		{"relative mount", bad(parts(p("boot", inventory.Fixed(1), false))), "mount \"boot\""},
		{"mount with shell", bad(parts(p("/a$(reboot)", inventory.Fixed(1), false))), "absolute path"},
		{"duplicate mount", bad(parts(p("/a", inventory.Fixed(1), false), p("/a", inventory.Fixed(1), false))), "appears twice"},
		{"unknown fstype", bad(func(l *inventory.Layout) { l.Disks[0].Partitions[0].FSType = "ntfs" }), "fstype \"ntfs\""},
		{"swap not swap", bad(func(l *inventory.Layout) { l.Disks[0].Partitions[0].FSType = "swap" }), "swap partitions"},
		{"zero size", bad(parts(p("/a", inventory.Fixed(0), false))), "want 1 MiB"},
		{"two grow without shares", bad(parts(p("/a", inventory.Grow(), false), p("/b", inventory.Grow(), false))), "2 partitions grow"},
		{"grow and share", bad(parts(p("/a", inventory.Grow(), false), p("/b", inventory.Share(2), false))), "grow and share"},
		{"five primaries on msdos", bad(parts(p("/a", inventory.Fixed(1), true), p("/b", inventory.Fixed(1), true), p("/c", inventory.Fixed(1), true),
			p("/d", inventory.Fixed(1), true), p("/e", inventory.Grow(), true))), "msdos allows 4 primaries"},
		{"primary after logical", bad(parts(p("/a", inventory.Fixed(1), true), p("/b", inventory.Fixed(1), false), p("/c", inventory.Fixed(1), true),
			p("/d", inventory.Fixed(1), false), p("/e", inventory.Grow(), false))), "after a logical"},
		{"five primaries are fine on gpt", bad(func(l *inventory.Layout) {
			parts(p("/a", inventory.Fixed(1), true), p("/b", inventory.Fixed(1), true), p("/c", inventory.Fixed(1), true),
				p("/d", inventory.Fixed(1), true), p("/e", inventory.Grow(), true))(l)
			l.Label = "gpt"
		}), ""},
		{"biosboot on msdos", bad(func(l *inventory.Layout) { l.Disks[0].Partitions[0].Mount = "biosboot" }), "only on gpt"},
		{"rule names an unknown mount", bad(func(l *inventory.Layout) {
			l.Rules = []inventory.LayoutRule{{MinMiB: 1000, Set: map[string]inventory.Size{"/srv": inventory.Fixed(10)}}}
		}), "unknown mount \"/srv\""},
		{"rule sizes cannot fit its disks", bad(func(l *inventory.Layout) {
			l.Rules = []inventory.LayoutRule{{BelowMiB: 256000, Set: map[string]inventory.Size{"/boot": inventory.Fixed(300000)}}}
		}), "rule 1 sizes cannot fit"},
		{"sizes that no disk holds", bad(parts(p("/a", inventory.Fixed(1<<40), false), p("/b", inventory.Fixed(1<<40), false),
			p("/c", inventory.Fixed(1<<40), false))), "no disk can hold it"},
		{"rule makes two grows", bad(func(l *inventory.Layout) {
			l.Disks[0].Partitions = append(l.Disks[0].Partitions, p("/srv", inventory.Fixed(100), false))
			l.Rules = []inventory.LayoutRule{{MinMiB: 512000, Set: map[string]inventory.Size{"/srv": inventory.Grow()}}}
		}), "2 partitions grow"},
		{"empty bounds", bad(func(l *inventory.Layout) {
			l.Rules = []inventory.LayoutRule{{MinMiB: 5, BelowMiB: 5, Set: map[string]inventory.Size{"/": inventory.Grow()}}}
		}), "min_mib < below_mib"},
		{"rule on swap", bad(func(l *inventory.Layout) {
			l.Disks[0].Partitions = append(l.Disks[0].Partitions, p("swap", inventory.Fixed(100), false))
			l.Rules = []inventory.LayoutRule{{Set: map[string]inventory.Size{"swap": inventory.Fixed(5)}}}
		}), "swap can not be resized"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := Validate(c.layout)
			_, perr := PreScript(c.layout, ScriptOptions{Firmware: FirmwareAuto})
			if c.want == "" {
				if err != nil || perr != nil {
					t.Fatalf("want valid, got Validate: %v, PreScript: %v", err, perr)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("Validate: got %v, want an error containing %q", err, c.want)
			}
			if !errors.Is(err, inventory.ErrInvalid) {
				t.Errorf("Validate error does not wrap inventory.ErrInvalid: %v", err)
			}
			if perr == nil {
				t.Errorf("PreScript accepted an invalid layout")
			}
		})
	}
}

// checkTable asserts a plan's invariants: aligned, inside the usable disk,
// no overlap, logical partitions inside the extended one, numbers in order.
func checkTable(t *testing.T, p *Table) {
	t.Helper()
	for _, d := range p.Disks {
		var ext *Partition
		var prev *Partition
		for i := range d.Partitions {
			q := &d.Partitions[i]
			if q.StartMiB < 1 || q.EndMiB > d.SizeMiB-1 || q.SizeMiB < 1 || q.EndMiB-q.StartMiB != q.SizeMiB {
				t.Fatalf("%s: partition %+v outside [1, %d) or empty", d.Name, q, d.SizeMiB-1)
			}
			switch q.Kind {
			case "extended":
				ext = q
				continue
			case "logical":
				if ext == nil || q.StartMiB < ext.StartMiB+1 || q.EndMiB > ext.EndMiB {
					t.Fatalf("%s: logical %+v not inside extended %+v", d.Name, q, ext)
				}
			}
			if prev != nil {
				gap := int64(0)
				if q.Kind == "logical" {
					gap = 1
				}
				if q.StartMiB < prev.EndMiB+gap {
					t.Fatalf("%s: %+v overlaps %+v", d.Name, q, prev)
				}
				if q.Number <= prev.Number && !(q.Kind == "logical" && prev.Kind != "logical") {
					t.Fatalf("%s: numbers out of order: %d after %d", d.Name, q.Number, prev.Number)
				}
			}
			prev = q
		}
	}
}

// FuzzPlan builds random layouts and disks from the input: Plan either
// returns a valid, non-overlapping table inside the disks or an error.
func FuzzPlan(f *testing.F) {
	f.Add([]byte{3, 1, 0, 0, 200, 1, 1, 2, 2, 0, 50, 0}, int64(102400), int64(0), int64(4096), false)
	f.Add([]byte{6, 1, 1, 1, 1, 1, 0, 2, 3, 1, 1, 0, 0, 4, 0, 9, 9}, int64(512000), int64(1<<20), int64(16384), true)
	f.Add([]byte{1, 2}, int64(3), int64(0), int64(0), false)
	f.Fuzz(func(t *testing.T, b []byte, s1, s2, ram int64, uefi bool) {
		l := layoutFromBytes(b)
		disks := []Disk{{"sda", s1 % (1 << 42)}}
		if s2 != 0 {
			disks = append(disks, Disk{"sdb", s2 % (1 << 42)})
		}
		fw := FirmwareBIOS
		if uefi {
			fw = FirmwareUEFI
		}
		p, err := Plan(l, disks, ram%(1<<24), fw)
		if err != nil {
			return
		}
		checkTable(t, p)
		if Validate(l) == nil {
			if _, err := PreScript(l, ScriptOptions{}); err != nil {
				t.Fatalf("valid layout, PreScript failed: %v", err)
			}
		}
	})
}

// layoutFromBytes builds a layout (valid or not) from arbitrary bytes.
func layoutFromBytes(b []byte) *inventory.Layout {
	next := func() int64 {
		if len(b) == 0 {
			return 0
		}
		v := int64(b[0])
		b = b[1:]
		return v
	}
	l := &inventory.Layout{Name: "fuzz", Label: []string{"msdos", "gpt"}[next()%2]}
	for di, use := range []string{"first", "second-if-present"} {
		n := int(next() % 8)
		if di == 1 && n == 0 {
			break
		}
		d := inventory.LayoutDisk{Use: use}
		for i := 0; i < n; i++ {
			var sz inventory.Size
			switch next() % 4 {
			case 0:
				sz = inventory.Fixed(next()*next()*16 + 1)
			case 1:
				sz = inventory.Grow()
			case 2:
				sz = inventory.Share(next()%5 + 1)
			case 3:
				sz = inventory.RAM(next() * 64)
			}
			m := fmt.Sprintf("/p%d", next()%10)
			if next()%5 == 0 {
				m = "swap"
			}
			d.Partitions = append(d.Partitions, inventory.LayoutPartition{Mount: m, Size: sz, AsPrimary: next()%2 == 0})
		}
		l.Disks = append(l.Disks, d)
	}
	for i := next() % 3; i > 0; i-- {
		r := inventory.LayoutRule{MinMiB: next() * 1000, Set: map[string]inventory.Size{}}
		if next()%2 == 0 {
			r.BelowMiB = r.MinMiB + next()*1000 + 1
		}
		r.Set[fmt.Sprintf("/p%d", next()%10)] = inventory.Share(next()%3 + 1)
		l.Rules = append(l.Rules, r)
	}
	return l
}
