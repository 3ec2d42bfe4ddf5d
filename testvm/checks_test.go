package testvm

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	diskfs "github.com/diskfs/go-diskfs"

	"github.com/netkick/netkick/internal/testenv"
)

// wantProblems compares problems with the substrings they must contain, in order.
func wantProblems(t *testing.T, got []string, want ...string) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("problems %q, want %d containing %q", got, len(want), want)
	}
	for i := range want {
		if !strings.Contains(got[i], want[i]) {
			t.Errorf("problem %d is %q, want it to contain %q", i, got[i], want[i])
		}
	}
}

func TestTimelineProblems(t *testing.T) {
	t0 := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	ev := func(sec int, kind, detail string) apiEvent {
		return apiEvent{Kind: kind, Detail: detail, Time: t0.Add(time.Duration(sec) * time.Second)}
	}
	install := []apiEvent{ev(2, "dhcp-ack", "192.0.2.51"), ev(3, "tftp", "sent pxelinux.0 (42 kB)"), ev(30, "kickstart", ""), ev(40, "built", "")}
	for _, tc := range []struct {
		name        string
		s           Scenario
		evs         []apiEvent
		pxe, local  bool
		wantSeen    string
		wantProblem []string
	}{
		{"local boot seen by netkick", Scenario{}, append(install[:4:4], ev(50, "ipxe", "served boot.ipxe (local boot)")), true, true, "ipxe served boot.ipxe (local boot)", nil},
		{"no network boot after the callback", Scenario{}, install, true, true, "", []string{"no network boot after the callback"}},
		{"local boot not reached: not checked", Scenario{}, install, true, false, "", nil},
		{"direct boot: netkick sees no boots", Scenario{}, install, false, true, "", nil},
		{"TFTP file missing", Scenario{TFTPFiles: []string{"pxelinux.0", "ldlinux.c32"}}, append(install[:4:4], ev(50, "dhcp-ack", "x")), true, true, "dhcp-ack x", []string{"no transfer of ldlinux.c32"}},
		{"hint on a machine whose loader ran", Scenario{}, append(install[:4:4], ev(45, "hint", "odd"), ev(50, "tftp", "sent x (1 B)")), true, true, "tftp sent x (1 B)", []string{"added a hint"}},
		{"hint expected", Scenario{ExpectHint: "odd"}, []apiEvent{ev(1, "hint", "odd")}, true, false, "", nil},
		{"events before start do not count", Scenario{}, append([]apiEvent{ev(-60, "built", "")}, install[:1]...), true, true, "", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			seen, p := timelineProblems(tc.s, tc.evs, t0, tc.pxe, tc.local)
			if seen != tc.wantSeen {
				t.Errorf("seen %q, want %q", seen, tc.wantSeen)
			}
			wantProblems(t, p, tc.wantProblem...)
		})
	}
}

func TestRefusalProblems(t *testing.T) {
	s := Scenario{ExpectHint: "use the grub loader"}
	hint := &apiEvent{Kind: "hint", Detail: "use the grub loader"}
	denied := []byte("BdsDxe: failed to load Boot0001: Access Denied\n")
	for _, tc := range []struct {
		name   string
		hint   *apiEvent
		serial []byte
		ran    bool
		want   []string
	}{
		{"refused and explained", hint, denied, false, nil},
		{"no hint", nil, denied, false, []string{"no hint"}},
		{"another hint", &apiEvent{Detail: "something else"}, denied, false, []string{`hint is "something else"`}},
		{"firmware did not refuse", hint, []byte("booting\n"), false, []string{"Access Denied"}},
		{"the loader ran", hint, denied, true, []string{"ran after all"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			wantProblems(t, refusalProblems(s, tc.hint, tc.serial, tc.ran), tc.want...)
		})
	}
}

func TestExpectedFailureProblems(t *testing.T) {
	s := Scenario{ExpectFail: StagePre, ExpectError: "does not fit"}
	tl := func(detail string) *Timeline {
		tl := NewTimeline(time.Now())
		tl.Set(StagePre, StatusFail, detail, time.Now())
		return tl
	}
	part := []DiskTable{{Partitions: []Partition{{Number: 1}}}}
	wantProblems(t, expectedFailureProblems(s, tl("layout does not fit on sda"), []DiskTable{{}}))
	wantProblems(t, expectedFailureProblems(s, tl("parted crashed"), nil), `want a message containing "does not fit"`)
	wantProblems(t, expectedFailureProblems(s, tl("layout does not fit"), part), "left 1 partitions")
	wantProblems(t, expectedFailureProblems(s, NewTimeline(time.Now()), nil), "expected the install to stop in")
}

func TestFirmwarePXEProblem(t *testing.T) {
	if p := firmwarePXEProblem([]byte("NBP file downloaded successfully.\n")); p != "" {
		t.Errorf("a fetched NBP: %q", p)
	}
	if p := firmwarePXEProblem([]byte("PXE-E16: No valid offer received.\n")); !strings.Contains(p, "PXE-E16") {
		t.Errorf("no offer: %q", p)
	}
}

func TestPowerStatesAgree(t *testing.T) {
	for _, tc := range []struct {
		ipmitool, netkick, want string
		agree                   bool
	}{
		{"Chassis Power is on", "on", "on", true},
		{"Chassis Power is off", "off", "off", true},
		{"Chassis Power is on", "off", "on", false},
		{"Chassis Power is off", "off", "on", false},
		{"Error: Unable to establish IPMI v2 / RMCP+ session", "", "off", false},
	} {
		if got := PowerStatesAgree(tc.ipmitool, tc.netkick, tc.want); got != tc.agree {
			t.Errorf("PowerStatesAgree(%q, %q, %q) = %v", tc.ipmitool, tc.netkick, tc.want, got)
		}
	}
}

func TestKickstartToken(t *testing.T) {
	for _, tc := range []struct{ name, cmdline, want string }{
		{"inst.ks", "initrd=initrd.img inst.ks=http://192.0.2.1:8080/ks/52:54:00:4e:54:0d?token=592fbf console=ttyS0 testvm.marker", "592fbf"},
		{"ks with more query", "ks=http://h/ks/m?token=abc&x=1", "abc"},
		{"no token", "ks=http://h/ks/m", "none"},
		{"no ks", "console=ttyS0 testvm.ks=x", "none"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := KickstartToken(tc.cmdline); got != tc.want {
				t.Errorf("KickstartToken = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestMarkerPartition(t *testing.T) {
	for _, tc := range []struct {
		name   string
		onpart []string
		disk   string
		part   int
		err    string
	}{
		{"/boot first", []string{"/ /dev/sda3 ok", "/boot /dev/sda1 ok", "swap /dev/sda2 ok"}, "sda", 1, ""},
		{"--onpart names the device without /dev/", []string{"/boot sda1 ok"}, "sda", 1, ""},
		{"/ without /boot", []string{"swap /dev/sdb2 ok", "/ /dev/sdb1 ok"}, "sdb", 1, ""},
		{"a missing /boot does not count", []string{"/boot /dev/sda1 missing", "/ /dev/sda12 ok"}, "sda", 12, ""},
		{"neither", []string{"swap /dev/sda2 ok"}, "", 0, "no /boot or /"},
		{"a whole disk", []string{"/ /dev/sda ok"}, "", 0, "want a partition"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			disk, part, err := MarkerPartition(tc.onpart)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil || disk != tc.disk || part != tc.part {
				t.Errorf("MarkerPartition = %q %d %v, want %q %d", disk, part, err, tc.disk, tc.part)
			}
		})
	}
}

func TestMarkerProblems(t *testing.T) {
	m := func(tok string) string { return MarkerPrefix + tok + ".txt" }
	wantProblems(t, markerProblems("first install", []string{m("aa")}, "aa", ""))
	wantProblems(t, markerProblems("second install", []string{m("bb")}, "bb", "aa"))
	wantProblems(t, markerProblems("second install", []string{strings.ToUpper(m("bb"))}, "bb", "aa"))
	wantProblems(t, markerProblems("second install", []string{m("aa"), m("bb")}, "bb", "aa"), "earlier install's marker")
	wantProblems(t, markerProblems("second install", []string{m("aa")}, "bb", "aa"), "earlier install's marker", "lacks this install's marker")
	wantProblems(t, markerProblems("first install", nil, "aa", ""), "lacks this install's marker")
	wantProblems(t, markerProblems("first install", []string{m("zz"), m("aa")}, "aa", ""), "unexpected marker")
}

// TestReadMarkers reads markers off a FAT filesystem that BusyBox mkdosfs
// made (as the mini installer does) on partition 1 of an msdos disk image.
func TestReadMarkers(t *testing.T) {
	bb := testenv.RequireProgram(t, "busybox")
	parted := testenv.RequireProgram(t, "parted")
	dir := t.TempDir()
	img, fat := filepath.Join(dir, "disk.img"), filepath.Join(dir, "part.img")
	run := func(name string, args ...string) {
		if out, err := exec.Command(name, args...).CombinedOutput(); err != nil {
			t.Fatalf("%s %s: %v: %s", name, strings.Join(args, " "), err, out)
		}
	}
	if err := os.WriteFile(img, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(img, 80<<20); err != nil {
		t.Fatal(err)
	}
	run(parted, "-s", img, "mklabel", "msdos", "mkpart", "primary", "1MiB", "79MiB")
	if err := os.WriteFile(fat, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	run(bb, "mkdosfs", "-n", "NKINSTALL", fat, "79872") // 78 MiB in KiB
	run(bb, "dd", "if="+fat, "of="+img, "bs=1M", "seek=1", "conv=notrunc")

	found, err := ReadMarkers(img, 1)
	if err != nil || len(found) != 0 {
		t.Fatalf("fresh filesystem: markers %q, err %v; want none", found, err)
	}
	d, err := diskfs.Open(img)
	if err != nil {
		t.Fatal(err)
	}
	fsys, err := d.GetFilesystem(1)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{MarkerPrefix + "592fbfc156298139d831356ef9b0af9b.txt", "other.txt"} {
		f, err := fsys.OpenFile("/"+name, os.O_CREATE|os.O_RDWR)
		if err != nil {
			t.Fatalf("create %s: %v", name, err)
		}
		if _, err := f.Write([]byte("netkick-testvm install\n")); err != nil {
			t.Fatal(err)
		}
		f.Close()
	}
	d.Close()
	found, err = ReadMarkers(img, 1)
	if err != nil {
		t.Fatal(err)
	}
	wantProblems(t, markerProblems("install", found, "592fbfc156298139d831356ef9b0af9b", ""))
	if _, err := ReadMarkers(img, 2); err == nil {
		t.Error("partition 2 does not exist, but ReadMarkers read it")
	}
}
