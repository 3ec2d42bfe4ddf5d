package main

import (
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestGlobalFlagsAnywhere: --data and --server work before and after the
// subcommand, and help speaks GNU long flags.
func TestGlobalFlagsAnywhere(t *testing.T) {
	bin := buildNetkick(t)
	data := t.TempDir()
	run(t, bin, "import", "demo.yaml", "--data", data)
	for _, args := range [][]string{
		{"--data", data, "host", "list"},
		{"host", "--data", data, "list"},
		{"host", "list", "--data", data},
		{"--data=" + data, "host", "list"},
	} {
		if out := run(t, bin, args...); !strings.Contains(out, "a01") {
			t.Errorf("netkick %s: no a01 in\n%s", strings.Join(args, " "), out)
		}
	}
	help := run(t, bin, "host", "add", "--help")
	for _, want := range []string{"--cluster", "--hostname", "--data", "--server", "--token-file"} {
		if !strings.Contains(help, "  "+want+" ") && !strings.Contains(help, ", "+want+" ") {
			t.Errorf("host add --help lacks %s:\n%s", want, help)
		}
	}
	if strings.Contains(help, " -cluster") {
		t.Errorf("host add --help shows single-dash long flags:\n%s", help)
	}
	// The old single-dash spelling of a long flag is now a usage error.
	cmd := exec.Command(bin, "host", "list", "-data", data)
	if out, err := cmd.CombinedOutput(); cmd.ProcessState.ExitCode() != 2 {
		t.Errorf("host list -data: exit %d (%v), want 2\n%s", cmd.ProcessState.ExitCode(), err, out)
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{nil, "missing command"},
		{[]string{"hots"}, "did you mean host"},
		{[]string{"host"}, "missing subcommand"},
		{[]string{"layout", "plan"}, "want one layout NAME"},
		{[]string{"host", "list", "--nope"}, "unknown flag: --nope"},
	} {
		cmd := exec.Command(bin, tc.args...)
		cmd.Dir = t.TempDir()
		out, _ := cmd.CombinedOutput()
		if cmd.ProcessState.ExitCode() != 2 || !strings.Contains(string(out), tc.want) {
			t.Errorf("netkick %s: exit %d, want 2 and %q:\n%s", strings.Join(tc.args, " "), cmd.ProcessState.ExitCode(), tc.want, out)
		}
		if _, err := exec.Command("test", "-e", filepath.Join(cmd.Dir, "netkick-data")).CombinedOutput(); err == nil {
			t.Errorf("netkick %s created ./netkick-data", strings.Join(tc.args, " "))
		}
	}
}
