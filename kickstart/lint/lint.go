// Package lint checks a rendered kickstart for the mistakes that stop or
// silently break an install: unterminated or mixed sections, an %include that
// no %pre writes, missing required commands, clear-text root passwords,
// repeated or unknown commands.
package lint

import (
	"bufio"
	"fmt"
	"io"
	"regexp"
	"sort"
	"strings"
)

// Finding is one problem, at a 1-based line.
type Finding struct {
	Line     int    `json:"line"`
	Severity string `json:"severity"` // error or warning
	Message  string `json:"message"`
}

func (f Finding) String() string {
	if f.Line == 0 {
		return fmt.Sprintf("%s: %s", f.Severity, f.Message)
	}
	return fmt.Sprintf("line %d: %s: %s", f.Line, f.Severity, f.Message)
}

// knownCommands are the kickstart commands of RHEL 5 to 9 that netkick's templates and users write.
func knownCommands() map[string]bool {
	m := map[string]bool{}
	for _, c := range strings.Fields(`auth authconfig authselect autopart autostep bootloader btrfs cdrom clearpart
		cmdline device deviceprobe dmraid driverdisk eula fcoe firewall firstboot graphical group halt harddrive
		ignoredisk install interactive iscsi iscsiname key keyboard lang langsupport liveimg logging logvol
		mediacheck module monitor mouse multipath network nfs ostreesetup part partition poweroff raid realm
		reboot repo reqpart rescue rootpw selinux services shutdown skipx sshkey sshpw text timesource timezone
		upgrade url user vnc volgroup xconfig zerombr zfcp %include %ksappend`) {
		m[c] = true
	}
	return m
}

var sectionRE = regexp.MustCompile(`^%(pre|post|packages|onerror|traceback|pre-install|addon|anaconda)\b`)

// Release is the installer a kickstart is written for: its RHEL major
// version (Fedora and the rebuilds map to one). Zero means unknown: only the
// checks that hold for every release run.
type Release struct {
	Major int
}

// releaseRule is a command or option that one range of releases refuses or
// deprecates, as pykickstart's ksvalidator reports it for that version.
type releaseRule struct {
	cmd    string
	option string // "" the command itself, "*" any argument, else an option
	from   int    // first major the rule applies to
	to     int    // last one; 0: every later one too
	msg    string
}

// releaseRules is the one table of per-release kickstart syntax that
// netkick checks without the validator (every entry seen from ksvalidator).
func releaseRules() []releaseRule {
	return []releaseRule{
		{"firewall", "--service", 5, 5, "RHEL 5's firewall has no --service option (ksvalidator -v RHEL5: unrecognized arguments): open ssh with --ssh"},
		{"zerombr", "*", 5, 0, "zerombr takes no argument: `zerombr yes` is deprecated (ksvalidator warns, a later release makes it fatal); write plain zerombr"},
		{"install", "", 8, 8, "install is deprecated on RHEL 8 and has no effect (ksvalidator -v RHEL8 warns); remove it"},
		{"install", "", 9, 0, "install was removed in RHEL 9 (ksvalidator -v RHEL9: install has been removed); remove it"},
		{"authconfig", "", 8, 0, "authconfig is deprecated from RHEL 8 (ksvalidator warns): use authselect"},
		{"timezone", "--isUtc", 9, 0, "timezone --isUtc is deprecated from RHEL 9 (ksvalidator warns): use --utc"},
	}
}

// releaseFindings checks one command line against the rules of rel.
func releaseFindings(rel Release, fields []string) []string {
	if rel.Major == 0 {
		return nil
	}
	var out []string
	for _, r := range releaseRules() {
		if r.cmd != fields[0] || rel.Major < r.from || (r.to != 0 && rel.Major > r.to) {
			continue
		}
		hit := false
		switch r.option {
		case "":
			hit = true
		case "*":
			hit = len(fields) > 1
		default:
			hit = hasAny(fields[1:], r.option)
		}
		if hit {
			out = append(out, r.msg)
		}
	}
	return out
}

// Check lints a kickstart with the checks that hold for every release.
func Check(r io.Reader) ([]Finding, error) { return CheckRelease(r, Release{}) }

// CheckRelease lints a kickstart for the installer of rel: besides Check's
// findings, the options and commands that release refuses or deprecates,
// and sections without %end where it requires one (RHEL 6 and later).
func CheckRelease(r io.Reader, rel Release) ([]Finding, error) {
	var out []Finding
	add := func(line int, sev, format string, a ...any) {
		out = append(out, Finding{Line: line, Severity: sev, Message: fmt.Sprintf(format, a...)})
	}
	known := knownCommands()
	seen := map[string]int{}
	var (
		section      string
		sectionLine  int
		ends, nosect int // sections closed by %end, sections closed by the next section
		includes     []struct {
			line int
			path string
		}
		preText strings.Builder
	)
	closeSection := func(byEnd bool) {
		if section == "" {
			return
		}
		if byEnd {
			ends++
		} else {
			nosect++
			if rel.Major >= 6 {
				add(sectionLine, "error", "section %%%s does not end with %%end, which RHEL 6 and later require", section)
			}
		}
		section = ""
	}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 4<<20)
	n := 0
	for sc.Scan() {
		n++
		raw := sc.Text()
		line := strings.TrimSpace(raw)
		if m := sectionRE.FindStringSubmatch(line); m != nil {
			closeSection(false)
			section, sectionLine = m[1], n
			continue
		}
		if line == "%end" {
			if section == "" {
				add(n, "error", "%%end without an open section")
			}
			closeSection(true)
			continue
		}
		if section != "" {
			if section == "pre" {
				preText.WriteString(raw + "\n")
			}
			continue
		}
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		fields := strings.Fields(line)
		cmd := fields[0]
		if cmd == "%include" {
			if len(fields) < 2 {
				add(n, "error", "%%include without a file")
			} else {
				includes = append(includes, struct {
					line int
					path string
				}{n, fields[1]})
			}
			continue
		}
		if !known[cmd] {
			add(n, "error", "unknown command %q", cmd)
			continue
		}
		switch cmd {
		case "part", "partition", "logvol", "volgroup", "raid", "repo", "network", "user", "sshkey", "group", "device", "driverdisk", "btrfs", "iscsi", "logging", "timesource", "module":
		default:
			if prev, dup := seen[cmd]; dup {
				add(n, "warning", "%s given again (first on line %d); the installer uses the last one", cmd, prev)
			}
		}
		seen[cmd] = n
		for _, msg := range releaseFindings(rel, fields) {
			add(n, "error", "%s", msg)
		}
		if cmd == "rootpw" && !hasAny(fields[1:], "--iscrypted", "--lock") {
			add(n, "error", "rootpw in clear text: give a crypt hash with --iscrypted (netkick stores only hashes)")
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read kickstart: %w", err)
	}
	closeSection(false)
	if ends > 0 && nosect > 0 {
		add(n, "error", "%d section(s) end with %%end and %d do not: the installer expects one style (RHEL 5 none, 6 and later %%end)", ends, nosect)
	}
	pre := preText.String()
	for _, inc := range includes {
		if !strings.Contains(pre, inc.path) {
			add(inc.line, "error", "%%include %s: no %%pre section writes that file (the install would stop)", inc.path)
		}
	}
	if !hasKey(seen, "url", "nfs", "cdrom", "harddrive", "liveimg", "ostreesetup") {
		add(0, "error", "no installation source: add url --url=…")
	}
	if !hasKey(seen, "rootpw") {
		add(0, "warning", "no rootpw: the installer will ask for one, interrupting an unattended install")
	}
	if !hasKey(seen, "part", "partition", "autopart", "logvol", "raid", "btrfs", "reqpart") && len(includes) == 0 {
		add(0, "error", "no partitioning: add part lines, autopart or a %%include of a %%pre-generated layout")
	}
	if !hasKey(seen, "timezone") {
		add(0, "warning", "no timezone: the installer will ask for one")
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Line < out[j].Line })
	return out, nil
}

// Errors counts findings of severity error.
func Errors(fs []Finding) int {
	n := 0
	for _, f := range fs {
		if f.Severity == "error" {
			n++
		}
	}
	return n
}

func hasAny(fields []string, flags ...string) bool {
	for _, f := range fields {
		for _, fl := range flags {
			if f == fl || strings.HasPrefix(f, fl+"=") {
				return true
			}
		}
	}
	return false
}

func hasKey(m map[string]int, keys ...string) bool {
	for _, k := range keys {
		if _, ok := m[k]; ok {
			return true
		}
	}
	return false
}
