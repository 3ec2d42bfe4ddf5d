package main

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/netkick/netkick/internal/testenv"
)

// demoData imports the demo inventory into a new data directory.
func demoData(t *testing.T, bin string) string {
	t.Helper()
	data := filepath.Join(t.TempDir(), "data")
	run(t, bin, "import", "demo.yaml", "--data", data) // import creates it
	return data
}

// exitOf runs the binary in dir with env added and returns output and exit code.
func exitOf(t *testing.T, bin, dir string, env []string, args ...string) (string, int) {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	out, _ := cmd.CombinedOutput()
	return string(out), cmd.ProcessState.ExitCode()
}

func TestEnvironmentVariables(t *testing.T) {
	bin := buildNetkick(t)
	data := demoData(t, bin)
	elsewhere := t.TempDir()

	t.Run("NETKICK_DATA names the data dir", func(t *testing.T) {
		out, code := exitOf(t, bin, elsewhere, []string{"NETKICK_DATA=" + data}, "host", "list")
		if code != 0 || !strings.Contains(out, "a01") {
			t.Fatalf("exit %d:\n%s", code, out)
		}
	})
	t.Run("--data wins over NETKICK_DATA", func(t *testing.T) {
		out, code := exitOf(t, bin, elsewhere, []string{"NETKICK_DATA=" + filepath.Join(elsewhere, "nope")}, "host", "list", "--data", data)
		if code != 0 || !strings.Contains(out, "a01") {
			t.Fatalf("exit %d:\n%s", code, out)
		}
	})
	t.Run("a missing data dir is an error with the fix", func(t *testing.T) {
		for _, args := range [][]string{{"host", "list"}, {"render", "kickstart", "a01"}, {"profile", "list"}, {"bootfiles"}, {"export"}} {
			out, code := exitOf(t, bin, elsewhere, nil, args...)
			if code != 1 || !strings.Contains(out, "./netkick-data does not exist") || !strings.Contains(out, "--data") || !strings.Contains(out, "NETKICK_DATA") {
				t.Errorf("netkick %s: exit %d:\n%s", strings.Join(args, " "), code, out)
			}
			if _, err := os.Stat(filepath.Join(elsewhere, "netkick-data")); err == nil {
				t.Fatalf("netkick %s created ./netkick-data", strings.Join(args, " "))
			}
		}
	})
	t.Run("import and serve create it", func(t *testing.T) {
		fresh := filepath.Join(elsewhere, "fresh")
		if out, code := exitOf(t, bin, elsewhere, []string{"NETKICK_DATA=" + fresh}, "import", filepath.Join(mustGetwd(t), "demo.yaml")); code != 0 {
			t.Fatalf("import: exit %d:\n%s", code, out)
		}
		if _, err := os.Stat(filepath.Join(fresh, "inventory.db")); err != nil {
			t.Fatal(err)
		}
		served := filepath.Join(elsewhere, "served")
		t.Setenv("NETKICK_DATA", served)
		base, _ := startServe(t, bin, served) // its --data, and the env agrees
		if _, err := os.Stat(filepath.Join(served, "admin.token")); err != nil {
			t.Fatal(err)
		}
		t.Setenv("NETKICK_DATA", "")
		t.Run("NETKICK_SERVER names the server", func(t *testing.T) {
			out, code := exitOf(t, bin, elsewhere, []string{"NETKICK_SERVER=" + base, "NETKICK_TOKEN="},
				"host", "list", "--token-file", filepath.Join(served, "admin.token"))
			if code != 0 || !strings.HasPrefix(out, "HOSTNAME") {
				t.Fatalf("exit %d:\n%s", code, out)
			}
		})
	})
}

func mustGetwd(t *testing.T) string {
	t.Helper()
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	return wd
}

func TestOutputFormats(t *testing.T) {
	bin := buildNetkick(t)
	data := demoData(t, bin)
	t.Run("host list json", func(t *testing.T) {
		var hosts []struct {
			Hostname string   `json:"hostname"`
			MACs     []string `json:"macs"`
			State    string   `json:"state"`
		}
		mustJSON(t, run(t, bin, "host", "list", "-o", "json", "--data", data), &hosts)
		if len(hosts) != 4 || hosts[0].Hostname != "a01" || hosts[0].MACs[0] != "52:54:00:4e:4b:01" || hosts[0].State != "ready" {
			t.Fatalf("%+v", hosts)
		}
	})
	t.Run("empty list is [] not null", func(t *testing.T) {
		if out := run(t, bin, "host", "list", "--role", "nosuch", "--output=json", "--data", data); strings.TrimSpace(out) != "[]" {
			t.Fatalf("%q", out)
		}
	})
	t.Run("host show yaml has the timeline", func(t *testing.T) {
		run(t, bin, "host", "build", "b01", "--data", data)
		var h struct {
			Hostname string `yaml:"hostname"`
			State    string `yaml:"state"`
			Events   []struct {
				Kind string `yaml:"kind"`
			} `yaml:"events"`
		}
		if err := yaml.Unmarshal([]byte(run(t, bin, "host", "show", "b01", "-o", "yaml", "--data", data)), &h); err != nil {
			t.Fatal(err)
		}
		if h.Hostname != "b01" || h.State != "build" || len(h.Events) == 0 {
			t.Fatalf("%+v", h)
		}
	})
	t.Run("profile list json", func(t *testing.T) {
		var ps []map[string]any
		mustJSON(t, run(t, bin, "profile", "list", "-o", "json", "--data", data), &ps)
		if len(ps) == 0 || ps[0]["name"] == nil {
			t.Fatalf("%v", ps)
		}
	})
	t.Run("layout list and show json", func(t *testing.T) {
		var ls []map[string]any
		mustJSON(t, run(t, bin, "layout", "list", "-o", "json", "--data", data), &ls)
		found := false
		for _, l := range ls {
			found = found || (l["name"] == "home-opt" && l["source"] == "built-in")
		}
		if !found {
			t.Fatalf("no built-in home-opt in %v", ls)
		}
		var l map[string]any
		mustJSON(t, run(t, bin, "layout", "show", "home-opt", "-o", "json", "--data", data), &l)
		if l["name"] != "home-opt" {
			t.Fatalf("%v", l)
		}
	})
	t.Run("lvs list yaml", func(t *testing.T) {
		var cs []struct {
			Name    string `yaml:"name"`
			Primary string `yaml:"primary"`
		}
		if err := yaml.Unmarshal([]byte(run(t, bin, "lvs", "list", "-o", "yaml", "--data", data)), &cs); err != nil {
			t.Fatal(err)
		}
		if len(cs) != 1 || cs[0].Name != "web" || cs[0].Primary != "a01" {
			t.Fatalf("%+v", cs)
		}
	})
	t.Run("token list json", func(t *testing.T) {
		run(t, bin, "token", "add", "ci-bot", "--data", data)
		var ts []map[string]any
		mustJSON(t, run(t, bin, "token", "list", "-o", "json", "--data", data), &ts)
		if len(ts) != 1 || ts[0]["name"] != "ci-bot" || ts[0]["created"] == nil || ts[0]["hash"] != nil {
			t.Fatalf("%v", ts)
		}
	})
	t.Run("unknown format is a usage error", func(t *testing.T) {
		for _, args := range [][]string{{"host", "list", "-o", "xml"}, {"layout", "show", "home-opt", "-o", "table"}} {
			out, code := exitOf(t, bin, ".", nil, append(args, "--data", data)...)
			if code != 2 || !strings.Contains(out, "want") {
				t.Errorf("netkick %s: exit %d:\n%s", strings.Join(args, " "), code, out)
			}
		}
	})
}

func mustJSON(t *testing.T, s string, v any) {
	t.Helper()
	if err := json.Unmarshal([]byte(s), v); err != nil {
		t.Fatalf("%v in:\n%s", err, s)
	}
}

// TestCompletion loads each shell's script into the real shell and asks it
// to complete `netkick host show ` from the demo inventory.
func TestCompletion(t *testing.T) {
	bin := buildNetkick(t)
	data := demoData(t, bin)
	dir := t.TempDir()
	for _, sh := range []string{"bash", "zsh", "fish"} {
		script := filepath.Join(dir, "netkick."+sh)
		if err := os.WriteFile(script, []byte(run(t, bin, "completion", sh)), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	env := []string{"NETKICK_DATA=" + data, "PATH=" + filepath.Dir(bin) + ":" + os.Getenv("PATH")}
	t.Run("bash", func(t *testing.T) {
		sh := testenv.RequireProgram(t, "bash")
		// The script needs the bash-completion package, as on a real system.
		testenv.RequireFile(t, "/usr/share/bash-completion/bash_completion")
		// What bash does on TAB at the end of a line, without a terminal
		// (compopt works only inside a real completion: a no-op here).
		complete := func(line string) string {
			prog := `source /usr/share/bash-completion/bash_completion; source "$1"; compopt() { :; }
COMP_LINE="$2"; COMP_POINT=${#COMP_LINE}; read -ra COMP_WORDS <<<"$COMP_LINE"
case "$COMP_LINE" in *" ") COMP_WORDS+=("");; esac; COMP_CWORD=$((${#COMP_WORDS[@]}-1))
__start_netkick netkick "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD-1]}"; printf '%s\n' "${COMPREPLY[@]}"`
			out, code := exitOf(t, sh, dir, env, "-c", prog, "bash", filepath.Join(dir, "netkick.bash"), line)
			if code != 0 {
				t.Fatalf("complete %q: exit %d:\n%s", line, code, out)
			}
			return out
		}
		if out := complete("netkick host show "); !strings.Contains(out, "a01") || !strings.Contains(out, "b02") {
			t.Errorf("host show <TAB>:\n%s", out)
		}
		if out := complete("netkick ren"); !strings.Contains(out, "render") {
			t.Errorf("ren<TAB>:\n%s", out)
		}
		if out := complete("netkick render kickstart a0"); !strings.Contains(out, "a01") || strings.Contains(out, "b01") {
			t.Errorf("render kickstart a0<TAB>:\n%s", out)
		}
		if out := complete("netkick host add 52:54:00:aa:00:01 --profile cent"); !strings.Contains(out, "centos-7.9") || strings.Contains(out, "rocky") {
			t.Errorf("--profile cent<TAB>:\n%s", out)
		}
		if out := complete("netkick lvs render "); strings.TrimSpace(out) != "web" {
			t.Errorf("lvs render <TAB>:\n%s", out)
		}
		if out := complete("netkick host set a01 --layout "); !strings.Contains(out, "home-opt") {
			t.Errorf("--layout <TAB>:\n%s", out)
		}
		if out := complete("netkick host list -o "); !strings.Contains(out, "json") {
			t.Errorf("host list -o <TAB>:\n%s", out)
		}
	})
	t.Run("fish", func(t *testing.T) {
		sh := testenv.RequireProgram(t, "fish")
		out, code := exitOf(t, sh, dir, env, "-c", `source $argv[1]; complete --do-complete "netkick host show "`, filepath.Join(dir, "netkick.fish"))
		if code != 0 || !strings.Contains(out, "a01") || !strings.Contains(out, "b02") {
			t.Fatalf("exit %d:\n%s", code, out)
		}
	})
	t.Run("zsh", func(t *testing.T) {
		sh := testenv.RequireProgram(t, "zsh")
		// zsh completes only inside its line editor; check the script parses
		// and defines the function, and that the protocol it calls answers.
		out, code := exitOf(t, sh, dir, env, "-c", `autoload -U compinit && compinit -u; source "$1" && whence -w _netkick`, "zsh", filepath.Join(dir, "netkick.zsh"))
		if code != 0 || !strings.Contains(out, "_netkick: function") {
			t.Fatalf("exit %d:\n%s", code, out)
		}
		out, code = exitOf(t, bin, dir, env, "__complete", "host", "show", "")
		if code != 0 || !strings.Contains(out, "a01\n") || !strings.Contains(out, ":4") {
			t.Fatalf("__complete: exit %d:\n%s", code, out)
		}
	})
}
