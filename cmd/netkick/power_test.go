package main

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/netkick/netkick/internal/ipmisim"
)

// TestCLIPowerAndReinstall drives two ipmi_sim BMCs through `host set
// --bmc-*`, `host power` and `host reinstall`, locally and through a
// running server, with ipmitool cross-checking the power state.
func TestCLIPowerAndReinstall(t *testing.T) {
	simA, simB := ipmisim.Start(t), ipmisim.Start(t)
	bin := buildNetkick(t)
	data := t.TempDir()
	run(t, bin, "profile", "add", "bare", "--version", "7.9", "--data", data)
	run(t, bin, "host", "add", "52:54:00:aa:10:01", "--hostname", "r01", "--profile", "bare", "--data", data)
	run(t, bin, "host", "add", "52:54:00:aa:10:02", "--hostname", "r02", "--profile", "bare", "--data", data)
	pw := filepath.Join(t.TempDir(), "bmc.pw")
	if err := os.WriteFile(pw, []byte(ipmisim.Password+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	out := run(t, bin, "host", "set", "r01", "--bmc-address", "127.0.0.1", "--bmc-port", fmt.Sprint(simA.Port),
		"--bmc-user", ipmisim.User, "--bmc-password-file", pw, "--data", data)
	if !strings.Contains(out, "password read from "+pw) {
		t.Errorf("host set: %s", out)
	}
	cmd := exec.Command(bin, "host", "set", "r02", "--bmc-address", "127.0.0.1", "--bmc-port", fmt.Sprint(simB.Port),
		"--bmc-user", ipmisim.User, "--bmc-password-stdin", "--data", data)
	cmd.Stdin = strings.NewReader(ipmisim.Password + "\n")
	if out, err := cmd.CombinedOutput(); err != nil || !strings.Contains(string(out), "password set") {
		t.Fatalf("host set --bmc-password-stdin: %v %s", err, out)
	}
	// The password is in no output: show, export, timeline.
	for _, args := range [][]string{{"host", "show", "r02"}, {"host", "show", "r02", "-o", "json"}, {"export"}} {
		if out := run(t, bin, append(args, "--data", data)...); strings.Contains(out, ipmisim.Password) {
			t.Errorf("netkick %s shows the BMC password:\n%s", strings.Join(args, " "), out)
		}
	}
	if fi, err := os.Stat(filepath.Join(data, "inventory.db")); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("store file: %v %v", fi.Mode(), err)
	}

	out = run(t, bin, "host", "power", "r01", "r02", "status", "--data", data)
	if !regexp.MustCompile(`r01\s+off\s`).MatchString(out) || !strings.Contains(out, "status: 2 of 2 succeeded") {
		t.Errorf("status:\n%s", out)
	}
	run(t, bin, "host", "power", "r02", "on", "--data", data)
	if got := simB.PowerState(t); got != "on" {
		t.Fatalf("ipmitool: r02 %s after power on", got)
	}

	// Through a running server: reinstall both, two at once.
	base, _ := startServe(t, bin, data)
	tok := filepath.Join(data, "admin.token")
	out = run(t, bin, "host", "reinstall", "r01", "r02", "--parallel", "2", "--server", base, "--token-file", tok)
	for _, want := range []string{"power on (chassis was off)", "power cycle (chassis was on)", "next boot PXE refused by the BMC", "reinstall: 2 of 2 succeeded"} {
		if !strings.Contains(out, want) {
			t.Errorf("reinstall output lacks %q:\n%s", want, out)
		}
	}
	// r01 was off (one start: the power on), r02 on (its second start ends the cycle).
	simA.WaitBoots(t, 1)
	simB.WaitBoots(t, 2)
	var all []struct{ Hostname, State, Error string }
	if err := json.Unmarshal([]byte(run(t, bin, "host", "power", "status", "--all", "-o", "json", "--server", base, "--token-file", tok)), &all); err != nil {
		t.Fatal(err)
	}
	if len(all) != 2 || all[0].State != "on" || all[1].State != "on" {
		t.Errorf("status --all: %+v", all)
	}
	out = run(t, bin, "host", "show", "r01", "--data", data)
	for _, want := range []string{"bmc:", "password read from", "power on at", "build"} {
		if !strings.Contains(out, want) {
			t.Errorf("host show lacks %q:\n%s", want, out)
		}
	}
	// export --secrets carries the BMC settings; import restores them in a new store.
	dump := run(t, bin, "export", "--secrets", "--data", data)
	if !strings.Contains(dump, "bmcs:") || !strings.Contains(dump, "password: "+ipmisim.Password) || !strings.Contains(dump, "password_file: "+pw) {
		t.Fatalf("export --secrets:\n%s", dump)
	}
	f := filepath.Join(t.TempDir(), "dump.yaml")
	if err := os.WriteFile(f, []byte(dump), 0o600); err != nil {
		t.Fatal(err)
	}
	data2 := t.TempDir()
	run(t, bin, "import", f, "--data", data2)
	if out := run(t, bin, "host", "power", "r01", "r02", "status", "--data", data2); !strings.Contains(out, "status: 2 of 2 succeeded") {
		t.Errorf("status after import:\n%s", out)
	}
	// A host without BMC settings fails with the fix; the others still run.
	run(t, bin, "host", "add", "52:54:00:aa:10:03", "--hostname", "r03", "--profile", "bare", "--data", data)
	c := exec.Command(bin, "host", "power", "r01", "r03", "status", "--data", data)
	b, err := c.CombinedOutput()
	if err == nil || !strings.Contains(string(b), "--bmc-address") || !strings.Contains(string(b), "status: 1 of 2 succeeded") {
		t.Errorf("r03 without BMC: %v\n%s", err, b)
	}
}
