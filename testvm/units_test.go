package testvm

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestKernelPackage(t *testing.T) {
	tests := []struct {
		name, in, want string
		wantErr        bool
	}{
		{"bookworm", "linux-image-amd64\n  Depends: linux-image-6.1.0-56-amd64\n", "linux-image-6.1.0-56-amd64", false},
		{"alternatives", "linux-image-amd64\n |Depends: linux-image-6.12.9-amd64\n  Depends: foo\n", "linux-image-6.12.9-amd64", false},
		{"virtual package in angle brackets", "linux-image-amd64\n  Depends: <linux-image-6.1.0-9-amd64>\n", "linux-image-6.1.0-9-amd64", false},
		{"no kernel", "linux-image-amd64\n  Depends: initramfs-tools\n", "", true},
		{"empty", "", "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := KernelPackage(tt.in)
			if (err != nil) != tt.wantErr || got != tt.want {
				t.Fatalf("KernelPackage = %q, %v; want %q, err %v", got, err, tt.want, tt.wantErr)
			}
		})
	}
	if v := KernelVersion("linux-image-6.1.0-56-amd64"); v != "6.1.0-56-amd64" {
		t.Errorf("KernelVersion = %q", v)
	}
}

func TestMBRBootCode(t *testing.T) {
	b := mbrBootCode(LocalBootBanner)
	if len(b) > 446 {
		t.Fatalf("boot code is %d bytes; it must fit before the partition table (446)", len(b))
	}
	// mov si,imm16 must point at the message that follows the code.
	off := int(b[6]) | int(b[7])<<8
	if off-0x7c00 != 25 || !strings.HasPrefix(string(b[off-0x7c00:]), "\r\n"+LocalBootBanner) {
		t.Fatalf("message pointer 0x%x does not point at the banner", off)
	}
}

func TestParseSize(t *testing.T) {
	tests := []struct {
		in      string
		want    int64
		wantErr bool
	}{
		{"200G", 200 << 30, false}, {"1T", 1 << 40, false}, {"384M", 384 << 20, false},
		{"500GiB", 500 << 30, false}, {"0G", 0, true}, {"big", 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseSize(tt.in)
			if (err != nil) != tt.wantErr || got != tt.want {
				t.Fatalf("ParseSize(%q) = %d, %v", tt.in, got, err)
			}
		})
	}
}

func TestQEMUArgs(t *testing.T) {
	tests := []struct {
		name    string
		vm      VM
		want    []string
		notWant []string
	}{
		{"bios pxe", VM{Name: "a", MAC: "52:54:00:00:00:01", RAMMiB: 384, Tap: "tap0", Serial: "/s", SerconFile: "/sc", Disks: []string{"/d0", "/d1"}},
			[]string{"romfile=" + BIOSROM + ",bootindex=1", "name=etc/sercon-port,file=/sc", "ide-hd,drive=disk0,bus=ide.0,unit=0,bootindex=2", "ide-hd,drive=disk1,bus=ide.0,unit=1,bootindex=3", "file:/s"},
			[]string{"if=pflash", "-kernel"}},
		{"uefi", VM{Name: "u", MAC: "52:54:00:00:00:02", RAMMiB: 384, UEFI: true, Tap: "tap1", VarsFile: "/v", Disks: []string{"/d0"}},
			[]string{"romfile=" + UEFIROM + ",bootindex=1", "if=pflash,format=raw,unit=0,readonly=on,file=" + OVMFCode, "if=pflash,format=raw,unit=1,file=/v",
				"name=opt/org.tianocore/IPv6PXESupport,string=no", "name=opt/org.tianocore/IPv6Support,string=no"},
			[]string{"etc/sercon-port"}},
		{"uefi secure boot", VM{Name: "s", MAC: "52:54:00:00:00:05", RAMMiB: 384, UEFI: true, SecureBoot: true, FirmwarePXE: true, Tap: "tap4", VarsFile: "/v", Disks: []string{"/d0"}},
			[]string{"-machine q35,smm=on", "-global driver=cfi.pflash01,property=secure,value=on", "if=pflash,format=raw,unit=0,readonly=on,file=" + OVMFCodeSecure,
				"if=pflash,format=raw,unit=1,file=/v", "virtio-net-pci,netdev=net0,mac=52:54:00:00:00:05,romfile=,bootindex=1"},
			[]string{"file=" + OVMFCode + " ", UEFIROM}},
		{"direct kernel", VM{Name: "k", MAC: "52:54:00:00:00:03", RAMMiB: 384, Tap: "tap2", Kernel: "/vmlinuz", Initrd: "/initrd", Append: "ks=x"},
			[]string{"-kernel", "/vmlinuz", "ks=x", "romfile=" + BIOSROM},
			[]string{",bootindex=1"}},
		{"disk only", VM{Name: "d", MAC: "52:54:00:00:00:04", RAMMiB: 384, Tap: "tap3", DiskOnly: true, Disks: []string{"/d0"}},
			[]string{"bootindex=2"},
			[]string{",bootindex=1"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			line := strings.Join(QEMUArgs(tt.vm), " ")
			for _, w := range tt.want {
				if !strings.Contains(line, w) {
					t.Errorf("command line lacks %q:\n%s", w, line)
				}
			}
			for _, w := range tt.notWant {
				if strings.Contains(line, w) {
					t.Errorf("command line has %q:\n%s", w, line)
				}
			}
		})
	}
}

func TestClassifyLine(t *testing.T) {
	tests := []struct {
		name        string
		line        string
		afterReboot bool
		stage       string
		status      string
		ok          bool
	}{
		{"ipxe lease", "Configuring (net0 52:54:00:4e:54:01).................. ok", false, StageDHCP, StatusOK, true},
		{"secure boot: past the disk to the refused shell", `BdsDxe: failed to start Boot0004 "EFI Internal Shell" from Fv(7CB8BDC9-F8EB-4F34-AAEA-3EE4AF6516A1)/FvFile(7C04A583-9E3E-4F1C-AD65-E05268D0B4D1): Security Violation`, true, StageLocalBoot, StatusOK, true},
		{"refused shell before the install is not a local boot", `BdsDxe: failed to start Boot0004 "EFI Internal Shell" from Fv(7CB8BDC9-F8EB-4F34-AAEA-3EE4AF6516A1)/FvFile(7C04A583-9E3E-4F1C-AD65-E05268D0B4D1): Security Violation`, false, "", "", false},
		{"ipxe no lease", "Configuring (net0 52:54:00:4e:54:01)...... No configuration methods succeeded (http://ipxe.org/040ee1)", false, StageDHCP, StatusFail, true},
		{"boot file named", "Filename: http://192.0.2.1:8080/boot.ipxe?mac=52-54-00-4e-54-01", false, StageTFTP, StatusOK, true},
		{"boot file missing", "http://192.0.2.1:8080/boot.ipxe... No such file or directory (http://ipxe.org/2d0c613b)", false, StageTFTP, StatusFail, true},
		{"download progress is no failure", "http://192.0.2.1:8080/boot/testvm/vmlinuz... 35%", false, "", "", false},
		{"pxelinux banner", "PXELINUX 6.04 PXE 20190226 Copyright (C) 1994-2015 H. Peter Anvin et al", false, StageTFTP, StatusOK, true},
		{"kernel", "Linux version 6.1.0-56-amd64 (debian-kernel@lists.debian.org)", false, StageKernel, StatusOK, true},
		{"installer pre failed", "NETKICK-TESTVM stage=pre status=fail t=9.1 %pre pre.02 exited 1: does not fit", false, StagePre, StatusFail, true},
		{"installer include", "NETKICK-TESTVM stage=include status=ok t=9.6 2 lines", false, StagePre, StatusOK, true},
		{"installer report", "NETKICK-TESTVM stage=report status=ok t=9.7", false, StageReport, StatusOK, true},
		{"local boot banner", LocalBootBanner, true, StageLocalBoot, StatusOK, true},
		{"install loop", "Linux version 6.1.0-56-amd64 (x)", true, StageLocalBoot, StatusFail, true},
		{"uefi disk boot", "BdsDxe: loading Boot0002 \"UEFI QEMU HARDDISK QM00001 \" from PciRoot(0x0)", true, StageLocalBoot, StatusOK, true},
		{"uefi disk without a loader is not yet a local boot", "BdsDxe: failed to load Boot0001 \"UEFI QEMU HARDDISK QM00001 \" from PciRoot(0x0)/Pci(0x1F,0x2)/Sata(0x0,0xFFFF,0x0): Not Found", true, "", "", false},
		{"startup.nsh banner from the EFI system partition", "NETKICK-TESTVM: booted from local disk", true, StageLocalBoot, StatusOK, true},
		{"not bootable", "Boot failed: not a bootable disk", true, StageLocalBoot, StatusFail, true},
		{"noise", "[    3.1] e1000: eth0 NIC Link is Up", false, "", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, ok := ClassifyLine(tt.line, tt.afterReboot)
			if ok != tt.ok || m.Stage != tt.stage || m.Status != tt.status {
				t.Fatalf("ClassifyLine = %+v, %v; want %s %s %v", m, ok, tt.stage, tt.status, tt.ok)
			}
		})
	}
}

func TestTimeline(t *testing.T) {
	t0 := time.Unix(1000, 0)
	tl := NewTimeline(t0)
	feed := func(sec int, line string) { tl.Feed(line, t0.Add(time.Duration(sec)*time.Second)) }
	feed(3, "\x1b[0mConfiguring (net0 52:54:00:4e:54:01)... ok\r")
	feed(5, "Linux version 6.1.0")
	feed(9, "NETKICK-TESTVM stage=pre status=fail t=1 %pre exited 1")
	feed(10, "NETKICK-TESTVM stage=pre status=ok t=1 late ok must not hide the failure")
	if r := tl.Row(StageDHCP); r.Status != StatusOK || r.At != 3*time.Second {
		t.Errorf("DHCP row = %+v", r)
	}
	if r := tl.Row(StageTFTP); r.Status != StatusOK {
		t.Errorf("a started kernel implies the boot files came through: %+v", r)
	}
	if f := tl.Failed(); f != StagePre {
		t.Errorf("Failed = %q, want %%pre", f)
	}
	if f := tl.FirstNotOK(); f != StageKickstart {
		t.Errorf("FirstNotOK = %q, want the kickstart fetch (never reported)", f)
	}
	loop := NewTimeline(t0)
	loop.Feed("NETKICK-TESTVM stage=reboot status=ok t=2", t0)
	loop.Feed("Filename: http://192.0.2.1:8080/boot.ipxe?mac=52-54-00-4e-54-05", t0)
	if loop.Row(StageLocalBoot).Status != StatusPending {
		t.Error("the first network boot after the install is netkick's answer, not a failure")
	}
	loop.Feed("  URI: http://192.0.2.1:8080/boot/netkick-local-boot", t0)
	if loop.Row(StageLocalBoot).Status != StatusPending || loop.Stopped {
		t.Error("netkick's refused local-boot file is its local-boot answer, not a network boot")
	}
	loop.Feed("  URI: http://192.0.2.1:8080/boot/ipxe.efi", t0)
	if r := loop.Row(StageLocalBoot); r.Status != StatusFail || !loop.Stopped {
		t.Errorf("a second network boot after the install must fail local boot: %+v", r)
	}
	feed(11, "NETKICK-TESTVM stage=reboot status=ok t=2")
	feed(12, "No bootable device.")
	if !tl.Stopped {
		t.Error("No bootable device must stop the machine")
	}
}

func TestParsePartedMachine(t *testing.T) {
	msdos := "BYT;\n/dev/sda:214748364800B:scsi:512:512:msdos:ATA QEMU HARDDISK:;\n1:1048576B:135266303B:134217728B:::;\n4:42077257728B:214748364799B:172671107072B:::lba;\n5:42078306304B:151463853055B:109385546752B:::;\n"
	tests := []struct {
		name    string
		in      string
		label   string
		parts   int
		wantErr bool
	}{
		{"msdos with logicals", msdos, "msdos", 3, false},
		{"gpt", "BYT;\n/dev/sdb:1099511627776B:scsi:512:512:gpt:ATA QEMU HARDDISK:;\n1:1048576B:1099510579199B:1099509530624B::home:;\n", "gpt", 1, false},
		{"no label", "Error: /dev/sda: unrecognised disk label\nBYT;\n/dev/sda:4294967296B:scsi:512:512:unknown:ATA QEMU HARDDISK:;\n", "", 0, false},
		{"not machine output", "Model: ATA QEMU HARDDISK", "", 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dt, err := ParsePartedMachine(tt.in)
			if (err != nil) != tt.wantErr || dt.Label != tt.label || len(dt.Partitions) != tt.parts {
				t.Fatalf("got %+v, %v", dt, err)
			}
		})
	}
}

const planSample = `layout home-opt, firmware uefi, RAM 4096 MiB

sda: 512000 MiB, gpt label (disk first)
DEVICE  MOUNT      FSTYPE  KIND  START MiB  END MiB  SIZE MiB
sda1    /boot/efi  efi     gpt   1          201      200
sda2    /boot      ext3    gpt   201        329      128

sdb: 1048576 MiB, gpt label (disk second-if-present)
DEVICE  MOUNT  FSTYPE  KIND  START MiB  END MiB  SIZE MiB
sdb1    /home  ext3    gpt   1          1048575  1048574

/tmp/netkick-part.ks:
part /boot/efi --fstype=efi --onpart=sda1
`

func TestParsePlanAndCompare(t *testing.T) {
	p, err := ParsePlan(planSample)
	if err != nil {
		t.Fatal(err)
	}
	if len(p) != 2 || p["sda"].Label != "gpt" || len(p["sda"].Partitions) != 2 || p["sdb"].Partitions[0].Name != "/home" {
		t.Fatalf("ParsePlan = %+v", p)
	}
	disk := DiskTable{Label: "gpt", Partitions: []Partition{
		{Number: 1, Start: 1 << 20, Size: 200 << 20}, {Number: 2, Start: 201 << 20, Size: 128 << 20}}}
	tests := []struct {
		name  string
		edit  func(*DiskTable)
		diffs int
	}{
		{"same", func(*DiskTable) {}, 0},
		{"moved", func(d *DiskTable) { d.Partitions[1].Start += 10 << 20 }, 1},
		{"missing", func(d *DiskTable) { d.Partitions = d.Partitions[:1] }, 1},
		{"extra", func(d *DiskTable) { d.Partitions = append(d.Partitions, Partition{Number: 3}) }, 1},
		{"label", func(d *DiskTable) { d.Label = "msdos" }, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := disk
			d.Partitions = append([]Partition(nil), disk.Partitions...)
			tt.edit(&d)
			if got := ComparePlan(p["sda"], d); len(got) != tt.diffs {
				t.Fatalf("ComparePlan = %v, want %d differences", got, tt.diffs)
			}
		})
	}
	if _, err := ParsePlan("netkick layout: layout home-opt does not fit"); err == nil {
		t.Error("an error message parsed as a plan")
	}
}

func TestPlanArgs(t *testing.T) {
	got := strings.Join(PlanArgs("home-opt", "sda 512000\nsdb 1048576\n", 336, true), " ")
	want := "layout plan home-opt --disk 512000 --disk 1048576 --ram 336 --firmware uefi"
	if got != want {
		t.Fatalf("PlanArgs = %q, want %q", got, want)
	}
	if m := MemTotalMiB("MemTotal:         344512 kB\nMemFree: 1 kB\n"); m != 336 {
		t.Fatalf("MemTotalMiB = %d", m)
	}
}

func TestIPVSHex(t *testing.T) {
	if got := IPVSHex("192.0.2.40", 80); got != "C0000228:0050" {
		t.Fatalf("IPVSHex = %s", got)
	}
}

func TestSelectScenarios(t *testing.T) {
	all := Scenarios()
	if got, _ := SelectScenarios(all, nil); len(got) != len(all) {
		t.Error("no names must select all scenarios")
	}
	got, err := SelectScenarios(all, []string{"uefi", "no-fit"})
	if err != nil || len(got) != 2 || got[0].Name != "uefi" {
		t.Fatalf("SelectScenarios = %v, %v", got, err)
	}
	if _, err := SelectScenarios(all, []string{"nope"}); err == nil || !strings.Contains(err.Error(), "single-200g") {
		t.Fatalf("unknown scenario error should list the known ones: %v", err)
	}
	macs := map[string]bool{}
	for _, s := range all {
		if macs[s.MAC] {
			t.Errorf("MAC %s used twice", s.MAC)
		}
		macs[s.MAC] = true
	}
}

func TestParseReport(t *testing.T) {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	tw := tar.NewWriter(zw)
	add := func(name, body string) {
		tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: int64(len(body)), Typeflag: tar.TypeReg})
		tw.Write([]byte(body))
	}
	add("./mac", "52:54:00:4e:54:01\n")
	add("./failed", "pre\n")
	add("./parted/sda", "BYT;\n")
	add("./files/etc/sysctl.conf", "net.ipv4.conf.lo.arp_ignore = 1\n")
	add("./onpart.checked", "/ sda2 ok\n/home sda5 missing\n")
	tw.Close()
	zw.Close()
	rep, err := ParseReport(&buf)
	if err != nil {
		t.Fatal(err)
	}
	if rep.MAC != "52:54:00:4e:54:01" || rep.Failed != "pre" || rep.Parted["sda"] != "BYT;\n" ||
		!strings.Contains(rep.Files["/etc/sysctl.conf"], "arp_ignore") || len(rep.OnPart) != 2 {
		t.Fatalf("ParseReport = %+v", rep)
	}
	if _, err := ParseReport(strings.NewReader("not gzip")); err == nil {
		t.Error("garbage parsed as a report")
	}
}

func FuzzParsePartedMachine(f *testing.F) {
	f.Add("BYT;\n/dev/sda:214748364800B:scsi:512:512:msdos:ATA QEMU HARDDISK:;\n1:1048576B:135266303B:134217728B:::;\n")
	f.Add("BYT;\n/dev/sda:1B:scsi:512:512:gpt::;\nx:1B:2B:3B\n")
	f.Fuzz(func(t *testing.T, s string) {
		dt, err := ParsePartedMachine(s)
		if err == nil && dt.Label == "unknown" {
			t.Error("unknown label must read as none")
		}
	})
}

func FuzzParsePlan(f *testing.F) {
	f.Add(planSample)
	f.Add("sda: 1 MiB, msdos label\nDEVICE START MiB SIZE MiB\nsdaX 1 2\n")
	f.Fuzz(func(t *testing.T, s string) {
		p, err := ParsePlan(s)
		if err == nil && len(p) == 0 {
			t.Error("no error and no disk")
		}
		for _, d := range p {
			for _, q := range d.Partitions {
				if q.Number < 0 {
					t.Errorf("negative partition number in %+v", d)
				}
			}
		}
	})
}

func TestUEFIStartupScript(t *testing.T) {
	got := UEFIStartupScript(LocalBootBanner)
	if want := "echo -off\r\necho " + LocalBootBanner + "\r\n"; got != want {
		t.Errorf("startup.nsh = %q, want %q", got, want)
	}
	if !strings.Contains(got, LocalBootMarker) {
		t.Errorf("startup.nsh %q does not print the marker the rig looks for (%q)", got, LocalBootMarker)
	}
}

func TestGuestDiskNames(t *testing.T) {
	tests := []struct {
		name, harddrives string
		sizes            []int64
		want             string
	}{
		{"same order", "sda 512000\nsdb 1048576\n", []int64{512000, 1048576}, "sda sdb"},
		{"kernel swapped the names", "sda 1048576\nsdb 512000\n", []int64{512000, 1048576}, "sdb sda"},
		{"one disk", "sda 204800\n", []int64{204800}, "sda"},
		{"equal sizes keep the order", "sda 100\nsdb 100\n", []int64{100, 100}, "sda sdb"},
		{"no report", "", []int64{100, 200}, "sda sdb"},
		{"size not found", "sda 5\nsdb 6\n", []int64{100, 200}, "sda sdb"},
		{"garbage", "sda x\n", []int64{100}, "sda"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := strings.Join(GuestDiskNames(tc.harddrives, tc.sizes), " "); got != tc.want {
				t.Fatalf("got %q want %q", got, tc.want)
			}
		})
	}
}

func TestMissingTFTPFiles(t *testing.T) {
	start := time.Date(2026, 11, 22, 3, 0, 0, 0, time.UTC)
	evs := []apiEvent{
		{Kind: "tftp", Detail: "sent testvm/vmlinuz (8123456 bytes, 2.1s) to 192.0.2.60", Time: start.Add(5 * time.Second)},
		{Kind: "tftp", Detail: "sent pxelinux.cfg/01-52-54-00-4e-54-0a (312 bytes, 1ms) to 192.0.2.60", Time: start.Add(4 * time.Second)},
		{Kind: "tftp", Detail: "failed testvm/initrd.img to 192.0.2.60 after 0 bytes: timeout", Time: start.Add(6 * time.Second)},
		{Kind: "tftp", Detail: "sent ldlinux.c32 (119524 bytes, 40ms) to 192.0.2.60", Time: start.Add(-time.Hour)},
		{Kind: "http", Detail: "sent testvm/initrd.img (1 bytes) to 192.0.2.60", Time: start.Add(7 * time.Second)},
		{Kind: "tftp", Detail: "sent testvm/vmlinuz.old (1 bytes, 1ms) to 192.0.2.60", Time: start.Add(7 * time.Second)},
	}
	tests := []struct {
		name string
		want []string
		miss []string
	}{
		{"sent files are found", []string{"testvm/vmlinuz", "pxelinux.cfg/01-52-54-00-4e-54-0a"}, nil},
		{"a failed transfer does not count", []string{"testvm/initrd.img"}, []string{"testvm/initrd.img"}},
		{"an event from before the run does not count", []string{"ldlinux.c32"}, []string{"ldlinux.c32"}},
		{"a longer name is not the file", []string{"testvm/vmlinuz.o"}, []string{"testvm/vmlinuz.o"}},
		{"nothing wanted", nil, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := missingTFTPFiles(tc.want, evs, start); !slices.Equal(got, tc.miss) {
				t.Errorf("missingTFTPFiles(%q) = %q, want %q", tc.want, got, tc.miss)
			}
		})
	}
}
