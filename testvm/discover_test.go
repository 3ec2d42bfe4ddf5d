package testvm

import (
	"strings"
	"testing"

	"github.com/netkick/netkick/inventory"
)

func TestFactsProblems(t *testing.T) {
	mac := "52:54:00:4e:54:0e"
	good := func() inventory.Discovered {
		return inventory.Discovered{MAC: mac, Facts: &inventory.Facts{CPU: inventory.CPUFacts{Count: 1}, MemoryBytes: 8<<30 - 200<<20,
			Disks: []inventory.DiskFact{{Name: "sda", SizeBytes: 200 << 30, Serial: "NKDISC0"}, {Name: "sdb", SizeBytes: 100 << 30, Serial: "NKDISC1"}},
			NICs:  []inventory.NICFact{{Name: "eth0", MAC: mac, Link: true}}, DMI: inventory.DMIFacts{Serial: DiscoverSerial}}}
	}
	disks, serials := []int64{200 << 30, 100 << 30}, []string{"NKDISC0", "NKDISC1"}
	tests := []struct {
		name string
		edit func(*inventory.Discovered)
		want string
	}{
		{"facts as QEMU was given", func(*inventory.Discovered) {}, ""},
		{"RAM more than the VM has", func(d *inventory.Discovered) { d.Facts.MemoryBytes = 9 << 30 }, "memory"},
		{"RAM far below", func(d *inventory.Discovered) { d.Facts.MemoryBytes = 4 << 30 }, "memory"},
		{"a disk missing", func(d *inventory.Discovered) { d.Facts.Disks = d.Facts.Disks[:1] }, "1 disks reported"},
		{"a disk's size", func(d *inventory.Discovered) { d.Facts.Disks[1].SizeBytes = 1 << 30 }, "disk sdb"},
		{"a disk's serial", func(d *inventory.Discovered) { d.Facts.Disks[0].Serial = "QM00001" }, "serial"},
		{"disks named in another order than QEMU's", func(d *inventory.Discovered) {
			d.Facts.Disks[0], d.Facts.Disks[1] = inventory.DiskFact{Name: "sda", SizeBytes: 100 << 30, Serial: "NKDISC1"}, inventory.DiskFact{Name: "sdb", SizeBytes: 200 << 30, Serial: "NKDISC0"}
		}, ""},
		{"the right serials on the wrong sizes", func(d *inventory.Discovered) { d.Facts.Disks[0].Serial, d.Facts.Disks[1].Serial = "NKDISC1", "NKDISC0" }, "serial NKDISC0"},
		{"SMBIOS serial", func(d *inventory.Discovered) { d.Facts.DMI.Serial = "" }, "DMI serial"},
		{"NIC without the MAC", func(d *inventory.Discovered) { d.Facts.NICs[0].MAC = "52:54:00:00:00:01" }, "no NIC"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d := good()
			tc.edit(&d)
			got := strings.Join(FactsProblems(d, mac, 8192, disks, serials, DiscoverSerial), "; ")
			if tc.want == "" && got != "" || tc.want != "" && !strings.Contains(got, tc.want) {
				t.Fatalf("problems %q, want %q", got, tc.want)
			}
		})
	}
}

func TestQEMUArgsSMBIOSAndDiskSerials(t *testing.T) {
	vm := VM{Name: "d", MAC: "52:54:00:4e:54:0e", RAMMiB: 8192, Disks: []string{"/x/d0.img", "/x/d1.img"}, Tap: "tap0", Serial: "/x/s.log",
		SMBIOSSerial: DiscoverSerial, DiskSerials: []string{"NKDISC0", "NKDISC1"}}
	args := strings.Join(QEMUArgs(vm), " ")
	for _, want := range []string{"-smbios type=1,serial=" + DiscoverSerial, "bootindex=2,serial=NKDISC0", "bootindex=3,serial=NKDISC1", "-m 8192"} {
		if !strings.Contains(args, want) {
			t.Errorf("QEMU args lack %q: %s", want, args)
		}
	}
}
