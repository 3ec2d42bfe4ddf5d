package testvm

import (
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/netkick/netkick/boot"
)

// Stage names, in boot order. A failing scenario names the first stage that
// did not finish.
const (
	StageDHCP      = "DHCP"
	StageTFTP      = "TFTP"
	StageKernel    = "kernel"
	StageKickstart = "kickstart fetch"
	StagePre       = "%pre"
	StagePost      = "%post"
	StageCallback  = "callback"
	StageReport    = "report"
	StageLocalBoot = "local boot"
)

// Stages lists the stages in the order a scenario passes them.
func Stages() []string {
	return []string{StageDHCP, StageTFTP, StageKernel, StageKickstart, StagePre, StagePost, StageCallback, StageReport, StageLocalBoot}
}

// Stage statuses.
const (
	StatusOK      = "ok"
	StatusFail    = "FAIL"
	StatusSkipped = "skipped"
	StatusPending = "-"
)

// StageResult is one row of a scenario's table.
type StageResult struct {
	Stage  string
	Status string
	At     time.Duration // since the VM started
	Detail string
}

// Mark is one fact read from the serial console.
type Mark struct {
	Stage  string
	Status string
	Detail string
	Reboot bool // the installer is rebooting the machine
	Final  bool // the machine will do nothing more: stop it
	// NetBoot is a boot file the firmware fetched after the install.
	NetBoot string
}

// bootFetchFailed spots iPXE's "URL... error (http://ipxe.org/...)" lines.
func bootFetchFailed(line string) bool {
	if !(strings.HasPrefix(line, "http://") || strings.HasPrefix(line, "tftp://")) {
		return false
	}
	return strings.Contains(line, "(http://ipxe.org/")
}

var ansiRE = regexp.MustCompile(`\x1b\[[0-9;?]*[A-Za-z]|\x1bc|[\x00-\x08\x0b-\x1f]`)

// CleanConsoleLine strips terminal escapes and control characters.
func CleanConsoleLine(s string) string {
	return strings.TrimSpace(ansiRE.ReplaceAllString(s, ""))
}

// installerStage maps the mini installer's stage names to the table's.
var installerStage = map[string]string{
	"kernel": StageKernel, "drivers": StageKernel, "dhcp": StageDHCP,
	"ks-fetch": StageKickstart, "pre": StagePre, "include": StagePre,
	"post": StagePost, "bootloader": StagePost, "lvs": StagePost, "marker": StagePost, "report": StageReport,
}

// ClassifyLine reads one (cleaned) serial console line: firmware, boot loader,
// kernel and mini-installer messages become marks; anything else is ignored.
// afterReboot says the installer already rebooted the machine (second boot).
func ClassifyLine(line string, afterReboot bool) (Mark, bool) {
	switch {
	case strings.HasPrefix(line, "NETKICK-TESTVM stage="):
		f := strings.Fields(line)
		st := strings.TrimPrefix(f[1], "stage=")
		status := ""
		var detail []string
		for _, x := range f[2:] {
			switch {
			case strings.HasPrefix(x, "status="):
				status = strings.TrimPrefix(x, "status=")
			case strings.HasPrefix(x, "t="):
			default:
				detail = append(detail, x)
			}
		}
		if st == "reboot" {
			return Mark{Reboot: true}, true
		}
		stage, ok := installerStage[st]
		if !ok {
			return Mark{}, false
		}
		m := Mark{Stage: stage, Status: StatusOK, Detail: strings.Join(detail, " ")}
		if status == "fail" {
			m.Status = StatusFail
		}
		if status == "start" {
			return Mark{}, false
		}
		return m, true
	case strings.Contains(line, LocalBootMarker):
		return Mark{Stage: StageLocalBoot, Status: StatusOK, Detail: "the installed disk printed its banner (boot sector, or startup.nsh on the EFI system partition)"}, true
	case afterReboot && strings.Contains(line, "EFI Internal Shell") && strings.Contains(line, "Security Violation"):
		// Secure Boot: the firmware went past the network entries (netkick's
		// local-boot answer) and the disk, whose stand-in loader is an
		// unsigned startup.nsh, to its shell, which Secure Boot refuses.
		return Mark{Stage: StageLocalBoot, Status: StatusOK, Final: true,
			Detail: "firmware went on to the disk and past it (Secure Boot refuses OVMF's unsigned shell, so the disk's startup.nsh cannot print its banner): " + line}, true
	case afterReboot && strings.Contains(line, "BdsDxe:") && strings.Contains(line, "HARDDISK") && strings.Contains(line, "failed to load"):
		// No EFI loader on the disk: OVMF goes on to its shell, which runs
		// the installer's startup.nsh (the banner above).
		return Mark{}, false
	case afterReboot && strings.Contains(line, "BdsDxe:") && strings.Contains(line, "HARDDISK"):
		return Mark{Stage: StageLocalBoot, Status: StatusOK, Detail: "firmware went on to the disk: " + line}, true
	case afterReboot && (strings.Contains(line, "not a bootable disk") || strings.Contains(line, "No bootable device")):
		return Mark{Stage: StageLocalBoot, Status: StatusFail, Detail: "the firmware found no bootable disk: " + line, Final: true}, true
	case afterReboot && strings.Contains(line, "Linux version "):
		return Mark{Stage: StageLocalBoot, Status: StatusFail, Detail: "the installer booted again instead of the local disk (install loop)"}, true
	case afterReboot && strings.HasSuffix(line, "/"+boot.FileLocalBoot):
		// netkick's local-boot answer to UEFI firmware: a name TFTP and HTTP
		// refuse, so nothing is booted from the network.
		return Mark{}, false
	case afterReboot && (strings.HasPrefix(line, "Filename: ") || strings.HasPrefix(line, "URI: ")):
		return Mark{NetBoot: line}, true
	case afterReboot:
		return Mark{}, false
	case strings.Contains(line, "No bootable device"):
		return Mark{Status: StatusFail, Detail: "the firmware found nothing to boot (" + line + ")", Final: true}, true
	case bootFetchFailed(line):
		return Mark{Stage: StageTFTP, Status: StatusFail, Detail: "iPXE could not fetch its boot file: " + line}, true
	case strings.HasPrefix(line, "Configuring (net0") && strings.HasSuffix(line, "ok"):
		return Mark{Stage: StageDHCP, Status: StatusOK, Detail: "iPXE got a lease"}, true
	case strings.Contains(line, "Station IP address is"):
		return Mark{Stage: StageDHCP, Status: StatusOK, Detail: "UEFI PXE: " + line}, true
	case strings.HasPrefix(line, "Configuring (net0") && strings.Contains(line, "No configuration methods succeeded"):
		return Mark{Stage: StageDHCP, Status: StatusFail, Detail: line}, true
	case strings.HasPrefix(line, "PXELINUX ") || strings.HasPrefix(line, "SYSLINUX ") && strings.Contains(line, "EFI"):
		return Mark{Stage: StageTFTP, Status: StatusOK, Detail: strings.Join(strings.Fields(line)[:2], " ") + " loaded"}, true
	case strings.HasPrefix(line, "Filename: "):
		return Mark{Stage: StageTFTP, Status: StatusOK, Detail: "boot file " + strings.TrimPrefix(line, "Filename: ")}, true
	case strings.Contains(line, "NBP file downloaded successfully"):
		return Mark{Stage: StageTFTP, Status: StatusOK, Detail: "firmware PXE: boot program fetched over TFTP"}, true
	case strings.HasPrefix(line, "PXE-E") && !strings.Contains(line, "PXE-E16"):
		return Mark{Stage: StageTFTP, Status: StatusFail, Detail: "firmware PXE: " + line}, true
	case strings.HasPrefix(line, "Linux version "):
		return Mark{Stage: StageKernel, Status: StatusOK, Detail: "kernel started"}, true
	case strings.Contains(line, "Kernel panic"):
		return Mark{Stage: StageKernel, Status: StatusFail, Detail: line}, true
	}
	return Mark{}, false
}

// Timeline accumulates a VM's stages as its console and the server report them.
type Timeline struct {
	Start    time.Time
	Rebooted bool
	Stopped  bool // the machine gave up (nothing left to boot)
	netBoots []string
	rows     map[string]*StageResult
}

// NewTimeline starts an empty timeline at start.
func NewTimeline(start time.Time) *Timeline {
	t := &Timeline{Start: start, rows: map[string]*StageResult{}}
	for _, s := range Stages() {
		t.rows[s] = &StageResult{Stage: s, Status: StatusPending}
	}
	return t
}

// Set records a stage result at time now; a failure is never overwritten by
// a later ok, and the first ok keeps its time. It reports whether anything changed.
func (t *Timeline) Set(stage, status, detail string, now time.Time) bool {
	r, ok := t.rows[stage]
	if !ok || r.Status == StatusFail {
		return false
	}
	if r.Status == StatusOK && status == StatusOK {
		return false
	}
	r.Status, r.Detail, r.At = status, detail, now.Sub(t.Start)
	return true
}

// Feed classifies one console line; it returns the changed row, if any.
func (t *Timeline) Feed(raw string, now time.Time) *StageResult {
	line := CleanConsoleLine(raw)
	if line == "" {
		return nil
	}
	m, ok := ClassifyLine(line, t.Rebooted)
	if !ok {
		return nil
	}
	if m.Reboot {
		t.Rebooted = true
		return nil
	}
	if m.Final {
		t.Stopped = true
	}
	if m.NetBoot != "" {
		// One network boot after the install is netkick's local-boot answer;
		// another means the firmware went round again instead of to the disk.
		t.netBoots = append(t.netBoots, m.NetBoot)
		if len(t.netBoots) < 2 {
			return nil
		}
		t.Stopped = true
		m = Mark{Stage: StageLocalBoot, Status: StatusFail,
			Detail: "the firmware booted from the network again after netkick's local-boot answer (" + strings.Join(t.netBoots, " | ") + ")"}
	}
	if m.Stage == "" {
		m.Stage = t.FirstNotOK()
		if m.Stage == "" {
			return nil
		}
	}
	if m.Stage == StageKernel && m.Status == StatusOK && m.Detail == "kernel started" {
		// The kernel was fetched, so the boot loader's TFTP (or HTTP) worked.
		t.Set(StageTFTP, StatusOK, "kernel and initrd loaded", now)
	}
	if t.Set(m.Stage, m.Status, m.Detail, now) {
		return t.rows[m.Stage]
	}
	return nil
}

// Row returns one stage's result.
func (t *Timeline) Row(stage string) StageResult { return *t.rows[stage] }

// Rows returns all stages in order.
func (t *Timeline) Rows() []StageResult {
	var out []StageResult
	for _, s := range Stages() {
		out = append(out, *t.rows[s])
	}
	return out
}

// FirstNotOK names the first stage that failed or never finished ("" if all are ok or skipped).
func (t *Timeline) FirstNotOK() string {
	for _, s := range Stages() {
		if r := t.rows[s]; r.Status != StatusOK && r.Status != StatusSkipped {
			return s
		}
	}
	return ""
}

// Failed names the first stage marked FAIL ("" if none).
func (t *Timeline) Failed() string {
	for _, s := range Stages() {
		if t.rows[s].Status == StatusFail {
			return s
		}
	}
	return ""
}

func (r StageResult) String() string {
	at := ""
	if r.Status != StatusPending {
		at = fmt.Sprintf("%5.1fs", r.At.Seconds())
	}
	return fmt.Sprintf("%-16s %-8s %7s  %s", r.Stage, r.Status, at, r.Detail)
}
