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

// Check lints a kickstart.
func Check(r io.Reader) ([]Finding, error) {
	var out []Finding
	add := func(line int, sev, format string, a ...any) {
		out = append(out, Finding{Line: line, Severity: sev, Message: fmt.Sprintf(format, a...)})
	}
	known := knownCommands()
	seen := map[string]int{}
	var (
		section      string
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
			section = m[1]
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
