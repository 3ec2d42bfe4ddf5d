package testvm

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	diskfs "github.com/diskfs/go-diskfs"
)

// This file says what is wrong after a scenario's course: each check returns
// its problems (none when all is well).

// problems collects what checks found wrong, one sentence each.
type problems []string

func (p *problems) add(format string, a ...any) { *p = append(*p, fmt.Sprintf(format, a...)) }

// bootEvent says whether an event is netkick answering a network boot. In
// proxy mode netkick's DHCP answer is its offer (the site's server ACKs).
func bootEvent(kind, detail string) bool {
	return kind == "dhcp-ack" || kind == "tftp" || kind == "ipxe" ||
		kind == "dhcp-offer" && strings.HasPrefix(detail, "proxy ")
}

// eventLines are a timeline's events since start, as the result shows them.
func eventLines(evs []apiEvent, start time.Time) []string {
	var out []string
	for _, e := range evs {
		if !e.Time.Before(start.Add(-time.Second)) {
			out = append(out, fmt.Sprintf("%6.1fs %-12s %s", e.Time.Sub(start).Seconds(), e.Kind, e.Detail))
		}
	}
	return out
}

// lastHint is the last hint on a timeline since start (nil when none).
func lastHint(evs []apiEvent, start time.Time) *apiEvent {
	var hint *apiEvent
	for i, e := range evs {
		if e.Kind == "hint" && !e.Time.Before(start) {
			hint = &evs[i]
		}
	}
	return hint
}

// timelineProblems checks a host's timeline in netkick since start: no hint
// unless the scenario expects one; under PXE the scenario's TFTP files sent
// and, in proxy mode, the kickstart fetched from the address netkick learned.
// When netkick records network boots and the machine booted its disk
// (localBootOK), the boot after the callback must be among them: seen is
// then netkick's last answer after the callback, so the local boot is seen on
// both sides.
func timelineProblems(s Scenario, evs []apiEvent, start time.Time, pxe, localBootOK bool) (seen string, p problems) {
	var built time.Time
	bootsBefore := 0
	for _, e := range evs {
		if e.Time.Before(start.Add(-time.Second)) {
			continue
		}
		if e.Kind == "hint" && s.ExpectHint == "" {
			p.add("netkick added a hint to a machine whose loader ran: %s", e.Detail)
		}
		switch {
		case e.Kind == "built" && built.IsZero():
			built = e.Time
		case bootEvent(e.Kind, e.Detail) && built.IsZero():
			bootsBefore++
		case bootEvent(e.Kind, e.Detail):
			seen = e.Kind + " " + e.Detail
		}
	}
	if pxe {
		for _, f := range missingTFTPFiles(s.TFTPFiles, evs, start) {
			p.add("TFTP: netkick's timeline shows no transfer of %s (the boot did not go through pxelinux over TFTP)", f)
		}
	}
	if s.Proxy && pxe {
		if lp := LearnedAddressProblem(evs, start); lp != "" {
			p.add("proxy mode: %s", lp)
		}
	}
	if !pxe || built.IsZero() || !localBootOK {
		return "", p
	}
	if seen == "" && bootsBefore > 0 {
		p.add("local boot: netkick's timeline shows no network boot after the callback")
	}
	return seen, p
}

// missingTFTPFiles returns the files of want that no "tftp" event since
// start reports as sent ("sent NAME (…").
func missingTFTPFiles(want []string, evs []apiEvent, start time.Time) []string {
	var missing []string
	for _, f := range want {
		found := false
		for _, e := range evs {
			if e.Kind == "tftp" && !e.Time.Before(start.Add(-time.Second)) && strings.HasPrefix(e.Detail, "sent "+f+" (") {
				found = true
				break
			}
		}
		if !found {
			missing = append(missing, f)
		}
	}
	return missing
}

// refusalProblems checks a Secure Boot refusal: netkick's hint is the one
// the scenario expects, the firmware's console says it refused the loader,
// and nothing ran after it (ran: a kernel started or a report arrived).
func refusalProblems(s Scenario, hint *apiEvent, serial []byte, ran bool) []string {
	var p problems
	switch {
	case hint == nil:
		p.add("netkick's timeline has no hint after the loader was refused (want %q)", s.ExpectHint)
	case hint.Detail != s.ExpectHint:
		p.add("netkick's hint is %q, want %q", hint.Detail, s.ExpectHint)
	}
	if !bytes.Contains(serial, []byte("Access Denied")) {
		p.add("the firmware's console does not say it refused the loader (no \"Access Denied\")")
	}
	if ran {
		p.add("a kernel started or a report arrived: the refused loader ran after all")
	}
	return p
}

// checkOutcome reads the disks back and compares everything with the
// scenario; it sets the result's disks and, for problems of the layout or
// of %post, the stage that failed.
func (r *rig) checkOutcome(ctx context.Context, s Scenario, vm VM, rep *Report, tl *Timeline, res *Result) []string {
	var p problems
	disks, names, dp := readDisks(ctx, vm, rep)
	res.Disks = disks
	p = append(p, dp...)
	planned, pp := r.plan(ctx, s, rep)
	p = append(p, pp...)
	if s.ExpectFail != "" {
		return append(p, expectedFailureProblems(s, tl, disks)...)
	}
	if f := tl.FirstNotOK(); f != "" {
		row := tl.Row(f)
		p.add("stage %s: %s %s", f, row.Status, row.Detail)
		res.Failed = f
	}
	if s.FirmwarePXE && r.pxe {
		serial, _ := os.ReadFile(vm.Serial)
		if fp := firmwarePXEProblem(serial); fp != "" {
			p.add("%s", fp)
			if res.Failed == "" {
				res.Failed = StageTFTP
			}
		}
	}
	if rep == nil {
		return p
	}
	if lp := layoutProblems(rep, disks, names, planned); len(lp) > 0 {
		p = append(p, lp...)
		if res.Failed == "" {
			res.Failed = StagePre
		}
	}
	post := postProblems(s, rep)
	if s.SecureBoot {
		if line, sp := secureBootCheck(rep); sp != "" {
			post = append(post, sp)
		} else {
			res.Events = append(res.Events, line)
		}
	}
	if len(post) > 0 {
		p = append(p, post...)
		if res.Failed == "" {
			res.Failed = StagePost
		}
	}
	return p
}

// readDisks reads the partition tables of the machine's disk images with
// go-diskfs and parted (they must agree; parted's is kept, it also lists
// msdos logical partitions) and compares them with what the guest's parted
// printed. names are the guest's names of the images.
func readDisks(ctx context.Context, vm VM, rep *Report) (disks []DiskTable, names []string, p problems) {
	// The guest kernel names disks in probe order, which is not always QEMU's
	// order (sd probes asynchronously): match images to guest names by size.
	var sizes []int64
	for _, img := range vm.Disks {
		fi, err := os.Stat(img)
		if err != nil {
			sizes = append(sizes, -1)
			continue
		}
		sizes = append(sizes, fi.Size()>>20)
	}
	harddrives := ""
	if rep != nil {
		harddrives = rep.Entries["harddrives"]
	}
	names = GuestDiskNames(harddrives, sizes)
	for i, img := range vm.Disks {
		dt, err := ReadDiskfs(img)
		if err != nil {
			p.add("disk%d: %v", i, err)
			continue
		}
		pt, err := ReadParted(ctx, img)
		if err != nil {
			p.add("disk%d: %v", i, err)
		} else {
			if err := CompareTables(dt, pt); err != nil {
				p.add("disk%d: go-diskfs and parted disagree: %v", i, err)
			}
			dt = pt
		}
		if rep != nil {
			if g, ok := rep.Parted[names[i]]; ok {
				gt, err := ParsePartedMachine(g)
				if err == nil && !sameTable(gt, dt) {
					p.add("disk%d: the table read back from the image differs from what the guest's parted printed", i)
				}
			}
		}
		disks = append(disks, dt)
	}
	return disks, names, p
}

// expectedFailureProblems checks an install that must fail: in the stage
// the scenario names, with its message, leaving no partitions behind.
func expectedFailureProblems(s Scenario, tl *Timeline, disks []DiskTable) []string {
	var p problems
	failed := tl.Failed()
	if failed != s.ExpectFail {
		p.add("expected the install to stop in %s, but failed stage is %q", s.ExpectFail, failed)
		return p
	}
	row := tl.Row(failed)
	if s.ExpectError != "" && !strings.Contains(row.Detail, s.ExpectError) {
		p.add("%s failed with %q, want a message containing %q", failed, row.Detail, s.ExpectError)
	}
	for i, d := range disks {
		if len(d.Partitions) > 0 {
			p.add("disk%d: the failed install left %d partitions (want no half-written table)", i, len(d.Partitions))
		}
	}
	return p
}

// firmwarePXEProblem says why the firmware's own PXE client did not fetch
// the boot program ("" when its console shows it did).
func firmwarePXEProblem(serial []byte) string {
	if bytes.Contains(serial, []byte("NBP file downloaded successfully")) {
		return ""
	}
	why := "no offer it accepted"
	if bytes.Contains(serial, []byte("PXE-E16")) {
		why = "PXE-E16: No valid offer received"
	}
	return "the firmware's own PXE client never fetched a boot program over TFTP (" + why + "); it got in some other way"
}

// layoutProblems checks what %pre did: a layout was %include'd, disk0 is
// partitioned, every disk matches the plan (planned may be nil: no plan),
// and every "part --onpart" device exists.
func layoutProblems(rep *Report, disks []DiskTable, names []string, planned map[string]PlannedDisk) []string {
	var p problems
	if !strings.Contains(rep.Kick, "%include") {
		p.add("the kickstart has no %%include: no %%pre layout partitioned the disks (fixed fallback layout)")
	} else if len(disks) > 0 && len(disks[0].Partitions) == 0 {
		p.add("disk0 has no partitions after %%pre")
	}
	if planned != nil {
		for i, dt := range disks {
			name := names[i]
			pd, ok := planned[name]
			if !ok {
				if len(dt.Partitions) > 0 {
					p.add("%s: partitioned, but the plan leaves it alone", name)
				}
				continue
			}
			for _, d := range ComparePlan(pd, dt) {
				p.add("plan mismatch: %s", d)
			}
		}
	}
	for _, l := range rep.OnPart {
		if strings.HasSuffix(l, " missing") {
			p.add("part --onpart: %s", l)
		}
	}
	return p
}

// postProblems checks what %post wrote: the scenario's files with their
// lines, and for a director the IPVS table.
func postProblems(s Scenario, rep *Report) []string {
	var p problems
	for path, want := range s.Files {
		got, ok := rep.Files[path]
		if !ok {
			p.add("%%post did not write %s (wrote: %s)", path, strings.Join(rep.FileNames(), ", "))
			continue
		}
		for _, w := range want {
			if !strings.Contains(got, w) {
				p.add("%s lacks %q", path, w)
			}
		}
	}
	if s.IPVS {
		p = append(p, ipvsProblems(rep)...)
	}
	return p
}

// secureBootCheck reads the guest's Secure Boot state: a result line when
// enabled, else the problem.
func secureBootCheck(rep *Report) (line, problem string) {
	sb := strings.TrimSpace(rep.Entries["secureboot"])
	if !strings.HasPrefix(sb, "enabled SecureBoot-") {
		return "", fmt.Sprintf("the guest's /sys/firmware/efi/efivars/SecureBoot-* does not show Secure Boot enabled: %q", sb)
	}
	return "guest: Secure Boot " + sb, ""
}

// plan runs `netkick layout plan` for what the guest saw and returns its
// disks (nil when there is no layout or no report). For a scenario that
// must not fit, the planner must refuse too.
func (r *rig) plan(ctx context.Context, s Scenario, rep *Report) (map[string]PlannedDisk, []string) {
	if s.Layout == "" || rep == nil || rep.Entries["harddrives"] == "" {
		return nil, nil
	}
	var p problems
	args := PlanArgs(s.Layout, rep.Entries["harddrives"], MemTotalMiB(rep.Entries["meminfo"]), s.UEFI)
	out, err := r.nk.LayoutPlan(ctx, args)
	if s.ExpectFail != "" {
		if err == nil {
			p.add("netkick %s plans a layout, but the scenario expects it not to fit", strings.Join(args, " "))
		} else if s.ExpectError != "" && !strings.Contains(err.Error(), s.ExpectError) {
			p.add("%v: lacks %q", err, s.ExpectError)
		}
		return nil, p
	}
	if err != nil {
		p.add("%v", err)
		return nil, p
	}
	planned, err := ParsePlan(out)
	if err != nil {
		p.add("%v", err)
		return nil, p
	}
	return planned, nil
}

// IPVSHex is how /proc/net/ip_vs spells an IPv4 address and port.
func IPVSHex(ip string, port int) string {
	var a [4]int
	fmt.Sscanf(ip, "%d.%d.%d.%d", &a[0], &a[1], &a[2], &a[3])
	return fmt.Sprintf("%02X%02X%02X%02X:%04X", a[0], a[1], a[2], a[3], port)
}

// ipvsProblems reads the director's IPVS table as the guest's kernel listed
// it after `netkick lvs apply`: the rig cluster's service and every real server.
func ipvsProblems(rep *Report) []string {
	var p problems
	table, ok := rep.Entries["lvs/proc-net-ip_vs"]
	if !ok {
		p.add("no IPVS table in the report (netkick lvs apply/status did not run in the guest)")
		return p
	}
	if !strings.Contains(table, "TCP  "+IPVSHex(RigVIP, RigPort)) {
		p.add("the guest's IPVS table lacks the virtual service TCP %s:%d:\n%s", RigVIP, RigPort, table)
	}
	for _, s := range Scenarios() {
		if contains(s.Roles, "lvs-real-server") && s.Cluster == RigCluster {
			if !strings.Contains(table, "-> "+IPVSHex(s.IP, RigPort)) {
				p.add("the guest's IPVS table lacks real server %s:%d (%s):\n%s", s.IP, RigPort, s.Hostname, table)
			}
		}
	}
	if !strings.Contains(rep.Entries["lvs/status"], RigVIP) {
		p.add("netkick lvs status does not show the VIP %s: %s", RigVIP, rep.Entries["lvs/status"])
	}
	return p
}

func sameTable(a, b DiskTable) bool {
	if a.Label != b.Label || len(a.Partitions) != len(b.Partitions) {
		return false
	}
	for i := range a.Partitions {
		p, q := a.Partitions[i], b.Partitions[i]
		if p.Number != q.Number || p.Start != q.Start || p.Size != q.Size {
			return false
		}
	}
	return true
}

// MarkerPrefix starts the name of the file the mini installer leaves on the
// disk when asked (testvm.marker): MarkerPrefix + build token + ".txt".
const MarkerPrefix = "netkick-install-"

// KickstartToken is the build token of the ks= (or inst.ks=) URL on a
// kernel command line, as it is spelled there ("none" without one): the
// mini installer names its marker after it.
func KickstartToken(cmdline string) string {
	for _, f := range strings.Fields(cmdline) {
		_, u, ok := strings.Cut(f, "ks=")
		if !ok || !(strings.HasPrefix(f, "ks=") || strings.HasPrefix(f, "inst.ks=")) {
			continue
		}
		if _, q, ok := strings.Cut(u, "token="); ok {
			tok, _, _ := strings.Cut(q, "&")
			return tok
		}
		return "none"
	}
	return "none"
}

// MarkerPartition says where the mini installer puts its marker: /boot,
// else /, from a report's "part --onpart" lines ("MOUNT DEVICE ok"), as the
// guest's disk name and the partition number.
func MarkerPartition(onpart []string) (disk string, part int, err error) {
	for _, mnt := range []string{"/boot", "/"} {
		for _, l := range onpart {
			f := strings.Fields(l)
			if len(f) != 3 || f[0] != mnt || f[2] != "ok" {
				continue
			}
			dev := strings.TrimPrefix(f[1], "/dev/")
			i := strings.IndexFunc(dev, func(r rune) bool { return r >= '0' && r <= '9' })
			if i <= 0 {
				return "", 0, fmt.Errorf("marker partition %s: want a partition such as /dev/sda1", f[1])
			}
			n, err := strconv.Atoi(dev[i:])
			if err != nil {
				return "", 0, fmt.Errorf("marker partition %s: %w", f[1], err)
			}
			return dev[:i], n, nil
		}
	}
	return "", 0, fmt.Errorf("no /boot or / among the part --onpart lines (%s)", strings.Join(onpart, "; "))
}

// ReadMarkers lists the marker files in the root directory of the
// filesystem on partition part of a disk image, read with go-diskfs.
func ReadMarkers(img string, part int) ([]string, error) {
	d, err := diskfs.Open(img, diskfs.WithOpenMode(diskfs.ReadOnly))
	if err != nil {
		return nil, fmt.Errorf("open disk image %s: %w", img, err)
	}
	defer d.Close()
	fsys, err := d.GetFilesystem(part)
	if err != nil {
		return nil, fmt.Errorf("%s partition %d: no filesystem go-diskfs reads: %w", img, part, err)
	}
	entries, err := fsys.ReadDir(".")
	if err != nil {
		return nil, fmt.Errorf("%s partition %d: read the root directory: %w", img, part, err)
	}
	var names []string
	for _, e := range entries {
		if strings.HasPrefix(strings.ToLower(e.Name()), MarkerPrefix) {
			names = append(names, e.Name())
		}
	}
	return names, nil
}

// markerProblems checks the markers found on the disk after an install
// (step): exactly the one of the install's build token, none of an earlier
// install's (gone, when not "").
func markerProblems(step string, found []string, token, gone string) []string {
	var p problems
	want := MarkerPrefix + token + ".txt"
	has := false
	for _, f := range found {
		switch {
		case strings.EqualFold(f, want):
			has = true
		case gone != "" && strings.EqualFold(f, MarkerPrefix+gone+".txt"):
			p.add("%s: the earlier install's marker %s is still on the disk", step, f)
		default:
			p.add("%s: an unexpected marker %s is on the disk", step, f)
		}
	}
	if !has {
		p.add("%s: the disk lacks this install's marker %s (found: %s)", step, want, strings.Join(found, ", "))
	}
	return p
}

// diskMarkers reads the markers an install left, from the disk image the
// report's /boot (or /) is on.
func diskMarkers(vm VM, rep *Report) ([]string, error) {
	disk, part, err := MarkerPartition(rep.OnPart)
	if err != nil {
		return nil, err
	}
	var sizes []int64
	for _, img := range vm.Disks {
		fi, err := os.Stat(img)
		if err != nil {
			return nil, err
		}
		sizes = append(sizes, fi.Size()>>20)
	}
	for i, n := range GuestDiskNames(rep.Entries["harddrives"], sizes) {
		if n == disk {
			return ReadMarkers(vm.Disks[i], part)
		}
	}
	return nil, fmt.Errorf("the guest's %s is none of the machine's disk images", disk)
}
