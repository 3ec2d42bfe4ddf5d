package layout

import "github.com/netkick/netkick/inventory"

// Fallback is the built-in layout a host gets when neither it, its profile
// nor its roles name one.
const Fallback = "simple"

// Builtin returns a fresh copy of a built-in layout: home-opt (the rules of
// the "(complex) partitioning in kickstart" post) or simple (/boot, swap the
// size of RAM up to 8 GiB, / taking the rest).
func Builtin(name string) (*inventory.Layout, bool) {
	switch name {
	case "home-opt":
		return homeOpt(), true
	case "simple":
		return simple(), true
	}
	return nil, false
}

// BuiltinNames lists the built-in layouts.
func BuiltinNames() []string { return []string{"home-opt", "simple"} }

func homeOpt() *inventory.Layout {
	return &inventory.Layout{
		Name:        "home-opt",
		Label:       "msdos",
		Description: "/boot, / and /var/log primary; /home, /opt and swap logical; /opt and /home sized by disk size; /home on the second disk when there is one",
		Disks: []inventory.LayoutDisk{
			{Use: inventory.DiskFirst, Partitions: []inventory.LayoutPartition{
				{Mount: "/boot", FSType: "ext3", Size: inventory.Fixed(128), AsPrimary: true},
				{Mount: "/", FSType: "ext3", Size: inventory.Fixed(20000), AsPrimary: true},
				{Mount: "/var/log", FSType: "ext3", Size: inventory.Fixed(20000), AsPrimary: true},
				{Mount: "/home", FSType: "ext3", Size: inventory.Share(2)},
				{Mount: "/opt", FSType: "ext3", Size: inventory.Share(1)},
				{Mount: "swap", FSType: "swap", Size: inventory.Fixed(8192)},
			}},
			{Use: inventory.DiskSecondIfPresent, Partitions: []inventory.LayoutPartition{
				{Mount: "/home", FSType: "ext3", Size: inventory.Grow()},
			}},
		},
		Rules: []inventory.LayoutRule{
			// "at least 500 GB": /opt 200 GB, /home the rest.
			{MinMiB: 512000, Set: map[string]inventory.Size{"/opt": inventory.Fixed(204800), "/home": inventory.Grow()}},
			// 250 to 500 GB: half each.
			{MinMiB: 256000, BelowMiB: 512000, Set: map[string]inventory.Size{"/home": inventory.Share(1), "/opt": inventory.Share(1)}},
			// under 250 GB: /home two thirds, /opt the rest.
			{BelowMiB: 256000, Set: map[string]inventory.Size{"/home": inventory.Share(2), "/opt": inventory.Share(1)}},
			// /home moved to the second disk: /opt takes the first disk's rest.
			{Second: "present", Set: map[string]inventory.Size{"/opt": inventory.Grow()}},
		},
	}
}

func simple() *inventory.Layout {
	return &inventory.Layout{
		Name:        "simple",
		Label:       "msdos",
		Description: "/boot 512 MiB, swap the size of RAM (at most 8 GiB), / the rest of the first disk",
		Disks: []inventory.LayoutDisk{
			{Use: inventory.DiskFirst, Partitions: []inventory.LayoutPartition{
				{Mount: "/boot", FSType: "ext3", Size: inventory.Fixed(512)},
				{Mount: "swap", FSType: "swap", Size: inventory.RAM(8192)},
				{Mount: "/", FSType: "ext3", Size: inventory.Grow()},
			}},
		},
	}
}
