package kickstart

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/netkick/netkick/internal/testenv"
	"github.com/netkick/netkick/inventory"
	"github.com/netkick/netkick/kickstart/layout"
	"github.com/netkick/netkick/kickstart/lint"
)

// matrixProfiles are the OS dialects every built-in template combination is
// rendered for: CentOS/RHEL 5 to 9, Rocky and Alma 8 and 9.
func matrixProfiles() []*inventory.Profile {
	var out []*inventory.Profile
	for _, p := range []struct{ os, version string }{
		{"centos", "5.3"}, {"centos", "6.10"}, {"centos", "7.9"}, {"centos", "8.5"}, {"rhel", "9.4"},
		{"rocky", "8.10"}, {"almalinux", "8.10"}, {"rocky", "9.4"}, {"almalinux", "9.4"},
	} {
		out = append(out, &inventory.Profile{Name: p.os + "-" + p.version, OS: p.os, Version: p.version,
			InstallURL: "http://mirror.example.com/" + p.os + "/" + p.version + "/os/x86_64/"})
	}
	return out
}

// matrixLayout is one disk layout case: the layout the host names, its
// firmware, and the disks its %pre would find (to expand the %include the
// way the installer reads it).
type matrixLayout struct {
	name, layout, arch string
	disks              []layout.Disk
}

func matrixLayouts() []matrixLayout {
	return []matrixLayout{
		{"fallback", "", "", nil}, // firmware not known yet: reqpart from 7 on
		{"fallback-uefi", "", "efi-x86_64", nil},
		{"home-opt", "home-opt", "bios", []layout.Disk{{Name: "sda", SizeMiB: 300 * 1000}}},
		{"gpt-uefi", "home-opt", "efi-x86_64", []layout.Disk{{Name: "sda", SizeMiB: 300 * 1000}}},
		{"two-disks", "home-opt", "bios", []layout.Disk{{Name: "sda", SizeMiB: 500 * 1000}, {Name: "sdb", SizeMiB: 1000 * 1000}}},
	}
}

// matrixZones: a zone the CentOS 5.3 installer lacks (the %post fix) and one it has.
var matrixZones = []struct{ name, zone string }{{"zone-lacking", "America/Montreal"}, {"zone-present", DefaultFallbackZone}}

var matrixNets = []string{"static", "dhcp"}

// matrixSubnets is the DHCP subnet the static hosts' reservations lie in.
func matrixSubnets() []Subnet {
	return []Subnet{{Prefix: netip.MustParsePrefix("192.0.2.0/24"), Router: netip.MustParseAddr("192.0.2.1"),
		DNS: []netip.Addr{netip.MustParseAddr("192.0.2.1"), netip.MustParseAddr("192.0.2.2")}}}
}

// combo is one rendered combination and its outcome.
type combo struct {
	profile *inventory.Profile
	os      OS
	role    string
	lay     matrixLayout
	zone    string
	net     string
	ks      string // as served
	read    string // as the installer reads it: %include replaced by what %pre writes
	refused string // netkick's error, when it refuses to render
}

func (c combo) name() string {
	return strings.Join([]string{c.profile.Name, c.role, c.lay.name, c.zone, c.net}, "_")
}

// renderMatrix renders every combination of OS × role × layout × zone ×
// network with the built-in templates.
func renderMatrix(t *testing.T) []combo {
	t.Helper()
	r, err := New(Options{Subnets: matrixSubnets()})
	if err != nil {
		t.Fatal(err)
	}
	hosts := map[string]*inventory.Host{}
	for _, h := range demoHosts() {
		hosts[h.Hostname] = h
	}
	roleHost := map[string]string{"none": "", inventory.RoleLVSDirector: "a01", inventory.RoleLVSRealServer: "b01"}
	var out []combo
	for _, p := range matrixProfiles() {
		o, err := ParseOS(p.OS, p.Version)
		if err != nil {
			t.Fatal(err)
		}
		for _, role := range []string{"none", inventory.RoleLVSDirector, inventory.RoleLVSRealServer} {
			for _, lay := range matrixLayouts() {
				for _, z := range matrixZones {
					for _, n := range matrixNets {
						h := &inventory.Host{MACs: []string{"52:54:00:4e:4b:31"}, Hostname: "n01", IP: "192.0.2.31"}
						if name := roleHost[role]; name != "" {
							h = hosts[name]
							h.Params = map[string]string{"lvs_address": h.IP}
						}
						hc := *h
						hc.Profile, hc.Layout, hc.Arch, hc.Timezone = p.Name, lay.layout, lay.arch, z.zone
						hc.RootPasswordHash = demoHosts()[0].RootPasswordHash
						if n == "dhcp" {
							hc.IP = ""
						}
						c := combo{profile: p, os: o, role: role, lay: lay, zone: z.name, net: n}
						out = append(out, c.render(t, r, &hc))
					}
				}
			}
		}
	}
	return out
}

func (c combo) render(t *testing.T, r *Renderer, h *inventory.Host) combo {
	t.Helper()
	ks, err := r.Kickstart(context.Background(), demoSource(h, c.profile), Request{Host: h.ID(), Server: "http://192.0.2.1:8080"})
	if err != nil {
		c.refused = err.Error()
		return c
	}
	c.ks = string(ks)
	c.read = c.ks
	if c.lay.layout != "" {
		l, _ := layout.Builtin(c.lay.layout)
		tab, err := layout.Plan(l, c.lay.disks, 2048, layout.ParseFirmware(c.lay.arch))
		if err != nil {
			t.Fatalf("%s: plan: %v", c.name(), err)
		}
		inc := "%include " + layout.IncludeFile + "\n"
		if !strings.Contains(c.read, inc) {
			t.Fatalf("%s: no %s in:\n%s", c.name(), inc, c.ks)
		}
		c.read = strings.Replace(c.read, inc, tab.PartLines(), 1)
	}
	return c
}

// refusalExpected says which combinations netkick must refuse, and with what.
func (c combo) refusalExpected() string {
	if c.os.Major == 5 && strings.Contains(c.lay.arch, "efi") {
		return "has no supported x86_64 UEFI install"
	}
	return ""
}

// repoRoot is the repository's top directory (the parent of kickstart/).
func repoRoot(t *testing.T) string {
	t.Helper()
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	return filepath.Dir(wd)
}

// findValidator finds ksvalidator: NETKICK_KSVALIDATOR, then ksvalidator on
// PATH, then shared/tools/pykickstart beside the repository or one of its
// parents (a CI clone has ../shared beside it). Missing: skip, or fail under CI.
func findValidator(t *testing.T) *lint.Validator {
	t.Helper()
	v, err := lint.FindValidator(os.Getenv, lint.CheckoutsBeside(repoRoot(t))...)
	if err != nil {
		testenv.Missing(t, err.Error())
		return nil
	}
	if _, err := exec.LookPath("python3"); err != nil && v.PythonPath != "" {
		testenv.Missing(t, "python3 is not installed (scripts/deps.sh installs it)")
	}
	return v
}

// validateAll runs testdata/ksvalidate.py (ksvalidator's main, once per
// file, in one Python process per half of the list) and returns each file's
// output when the validator printed anything or failed.
func validateAll(t *testing.T, v *lint.Validator, files map[string]string) map[string]string {
	t.Helper()
	driver, err := filepath.Abs(filepath.Join("testdata", "ksvalidate.py"))
	if err != nil {
		t.Fatal(err)
	}
	var list []string
	for f, ver := range files {
		list = append(list, ver+"\t"+f)
	}
	sort.Strings(list)
	const procs = 2
	var (
		mu       sync.Mutex
		wg       sync.WaitGroup
		findings = map[string]string{}
		seen     = map[string]bool{}
		errs     []string
	)
	for i := 0; i < procs; i++ {
		var part []string
		for j := i; j < len(list); j += procs {
			part = append(part, list[j])
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			cmd := exec.Command("python3", driver, v.Script)
			cmd.Env = v.Env()
			cmd.Stdin = strings.NewReader(strings.Join(part, "\n") + "\n")
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			out, err := cmd.Output()
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				errs = append(errs, fmt.Sprintf("%s: %v\n%s", driver, err, stderr.String()))
			}
			sc := bufio.NewScanner(bytes.NewReader(out))
			sc.Buffer(make([]byte, 1<<20), 16<<20)
			for sc.Scan() {
				var res struct {
					File, Version, Output string
					RC                    int
				}
				if err := json.Unmarshal(sc.Bytes(), &res); err != nil {
					errs = append(errs, fmt.Sprintf("driver printed %q: %v", sc.Text(), err))
					continue
				}
				seen[res.File] = true
				fs := lint.ParseValidatorOutput(res.Output)
				if res.RC != 0 || len(fs) > 0 {
					findings[res.File] = fmt.Sprintf("rc %d: %s", res.RC, strings.TrimSpace(res.Output))
				}
			}
		}()
	}
	wg.Wait()
	for _, e := range errs {
		t.Error(e)
	}
	for f := range files {
		if !seen[f] {
			t.Errorf("%s: the validator driver reported nothing for it", f)
		}
	}
	return findings
}

// TestTemplateMatrix renders every built-in template combination (OS
// dialect × role × layout × zone × network) and has pykickstart's
// ksvalidator, the parser anaconda uses, read each one with the syntax of
// its release: pass is no error and no warning. EL5 on UEFI must be refused
// by netkick itself. The table of combinations is in docs/kickstart.md
// (rewritten with -update; a stale table fails).
func TestTemplateMatrix(t *testing.T) {
	combos := renderMatrix(t)
	v := findValidator(t)
	dir := t.TempDir()
	files := map[string]string{}
	byFile := map[string]*combo{}
	for i := range combos {
		c := &combos[i]
		want := c.refusalExpected()
		switch {
		case want != "" && !strings.Contains(c.refused, want):
			t.Errorf("%s: want netkick to refuse (%q), got %q", c.name(), want, firstLine(c.ks+c.refused))
			continue
		case want == "" && c.refused != "":
			t.Errorf("%s: refused: %s", c.name(), c.refused)
			continue
		case c.refused != "":
			continue
		}
		f := filepath.Join(dir, c.name()+".ks")
		if err := os.WriteFile(f, []byte(c.read), 0o644); err != nil {
			t.Fatal(err)
		}
		files[f] = c.os.Validator
		byFile[f] = c
	}
	// A control the validator must reject, so a driver that reports
	// nothing cannot pass the matrix: RHEL 5 has no firewall --service.
	control := filepath.Join(dir, "control-rhel5-firewall-service.ks")
	if err := os.WriteFile(control, []byte("url --url=http://x/\nrootpw --iscrypted !!\nfirewall --enabled --service=ssh\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	files[control] = "RHEL5"
	findings := validateAll(t, v, files)
	if !strings.Contains(findings[control], "--service=ssh") {
		t.Fatalf("the validator did not reject the control file %s: %q", control, findings[control])
	}
	delete(findings, control)
	delete(files, control)
	names := make([]string, 0, len(findings))
	for f := range findings {
		names = append(names, f)
	}
	sort.Strings(names)
	for i, f := range names {
		if i < 20 {
			t.Errorf("%s: ksvalidator -v %s: %s\n--- as the installer reads it:\n%s", byFile[f].name(), files[f], findings[f], numbered(byFile[f].read))
		}
	}
	if len(findings) > 0 {
		t.Fatalf("%d of %d kickstarts have ksvalidator findings", len(findings), len(files))
	}
	t.Logf("%d combinations: %d accepted by ksvalidator with 0 findings, %d refused by netkick", len(combos), len(files), len(combos)-len(files))
	checkDocTable(t, matrixTable(combos))
}

func firstLine(s string) string {
	l, _, _ := strings.Cut(s, "\n")
	return l
}

func numbered(s string) string {
	var b strings.Builder
	for i, l := range strings.Split(s, "\n") {
		fmt.Fprintf(&b, "%4d  %s\n", i+1, l)
	}
	return b.String()
}

// matrixTable is the Markdown table of the combinations and their result,
// one row per OS and layout.
func matrixTable(combos []combo) string {
	type row struct {
		os, validator, layout string
		n, ok, refused        int
	}
	var rows []*row
	idx := map[string]*row{}
	for _, c := range combos {
		k := c.profile.Name + "/" + c.lay.name
		r := idx[k]
		if r == nil {
			r = &row{os: c.profile.OS + " " + c.profile.Version, validator: c.os.Validator, layout: c.lay.name}
			idx[k] = r
			rows = append(rows, r)
		}
		r.n++
		if c.refused != "" {
			r.refused++
		} else {
			r.ok++
		}
	}
	var b strings.Builder
	total, ok := 0, 0
	for _, r := range rows {
		total, ok = total+r.n, ok+r.ok
	}
	fmt.Fprintf(&b, "%d combinations (%d OS dialects × 3 roles × %d layouts × %d zones × %d networks): %d accepted by ksvalidator with 0 errors and 0 warnings, %d refused by netkick.\n\n",
		total, len(matrixProfiles()), len(matrixLayouts()), len(matrixZones), len(matrixNets), ok, total-ok)
	b.WriteString("| OS | ksvalidator -v | layout | combinations (roles × zones × networks) | result |\n|---|---|---|---|---|\n")
	for _, r := range rows {
		res := fmt.Sprintf("%d accepted, 0 findings", r.ok)
		if r.refused > 0 {
			res = fmt.Sprintf("%d refused by netkick: no supported x86_64 UEFI install", r.refused)
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %d | %s |\n", r.os, r.validator, r.layout, r.n, res)
	}
	return b.String()
}

const (
	docBegin = "<!-- BEGIN template matrix (generated by go test ./kickstart -run TestTemplateMatrix -update) -->\n"
	docEnd   = "<!-- END template matrix -->\n"
)

// checkDocTable compares the table in docs/kickstart.md with table, or
// rewrites it with -update.
func checkDocTable(t *testing.T, table string) {
	t.Helper()
	path := filepath.Join(repoRoot(t), "docs", "kickstart.md")
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	doc := string(b)
	i, j := strings.Index(doc, docBegin), strings.Index(doc, docEnd)
	if i < 0 || j < i {
		t.Fatalf("%s lacks the markers %q and %q around the template matrix", path, strings.TrimSpace(docBegin), strings.TrimSpace(docEnd))
	}
	cur := doc[i+len(docBegin) : j]
	if cur == table {
		return
	}
	if !*update {
		t.Fatalf("the template matrix in %s is stale; run go test ./kickstart -run TestTemplateMatrix -update\n--- want:\n%s", path, table)
	}
	if err := os.WriteFile(path, []byte(doc[:i+len(docBegin)]+table+doc[j:]), 0o644); err != nil {
		t.Fatal(err)
	}
}

// shellSections cuts the %pre, %post and %onerror bodies out of a kickstart.
func shellSections(ks string) []string {
	var out []string
	var cur *strings.Builder
	for _, l := range strings.Split(ks, "\n") {
		t := strings.TrimSpace(l)
		switch {
		case strings.HasPrefix(t, "%pre") || strings.HasPrefix(t, "%post") || strings.HasPrefix(t, "%onerror"):
			if cur != nil {
				out = append(out, cur.String())
			}
			cur = &strings.Builder{}
		case strings.HasPrefix(t, "%packages") || t == "%end":
			if cur != nil {
				out = append(out, cur.String())
			}
			cur = nil
		case cur != nil:
			cur.WriteString(l + "\n")
		}
	}
	if cur != nil {
		out = append(out, cur.String())
	}
	return out
}

// TestTemplateShell runs shellcheck (POSIX sh, severity warning) on every
// distinct %pre, %post and %onerror of the template matrix.
func TestTemplateShell(t *testing.T) {
	sc := testenv.RequireProgram(t, "shellcheck")
	combos := renderMatrix(t)
	dir := t.TempDir()
	where := map[string]string{}
	var files []string
	for _, c := range combos {
		for i, s := range shellSections(c.ks) {
			sum := sha256.Sum256([]byte(s))
			f := filepath.Join(dir, hex.EncodeToString(sum[:8])+".sh")
			if _, ok := where[f]; ok {
				continue
			}
			where[f] = fmt.Sprintf("%s section %d", c.name(), i+1)
			if err := os.WriteFile(f, []byte(s), 0o644); err != nil {
				t.Fatal(err)
			}
			files = append(files, f)
		}
	}
	if len(files) < len(matrixProfiles()) {
		t.Fatalf("only %d shell sections found", len(files))
	}
	out, err := exec.Command(sc, append([]string{"-s", "sh", "-S", "warning", "-f", "gcc"}, files...)...).CombinedOutput()
	if err != nil || len(out) > 0 {
		for _, l := range strings.Split(strings.TrimSpace(string(out)), "\n") {
			f, rest, _ := strings.Cut(l, ":")
			t.Errorf("%s: %s", where[f], rest)
		}
		t.Fatalf("shellcheck: %v", err)
	}
	t.Logf("shellcheck -s sh -S warning: %d distinct sections of %d combinations, 0 findings", len(files), len(combos))
}
