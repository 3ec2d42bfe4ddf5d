package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/netkick/netkick/internal/testenv"
	"github.com/netkick/netkick/kickstart/lint"
)

// buildNetkick builds the real binary once per test binary run.
func buildNetkick(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "netkick")
	out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// startServe runs `netkick serve` on a free loopback port and returns its
// base URL and the demo's kickstart URLs (with --demo).
func startServe(t *testing.T, bin, data string, extra ...string) (string, []string) {
	t.Helper()
	st := startServeFull(t, bin, data, extra...)
	return st.base, st.urls
}

// served is what a started `netkick serve` printed.
type served struct {
	base  string   // http://ADDR
	urls  []string // the demo's kickstart URLs
	https string   // https://ADDR, with --tls-cert
}

// startServeFull is startServe, also returning the HTTPS URL.
func startServeFull(t *testing.T, bin, data string, extra ...string) served {
	t.Helper()
	args := append([]string{"serve", "--data", data, "--http", "127.0.0.1:0", "--tftp", "off"}, extra...)
	cmd := exec.Command(bin, args...)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	stopAtCleanup(t, cmd)
	re := regexp.MustCompile(`serving HTTP on (\S+)`)
	httpsRE := regexp.MustCompile(`over HTTPS on (\S+)`)
	demoRE := regexp.MustCompile(`demo host \S+ \([^)]*\)\)? is in build mode: curl '(\S+)'`)
	type started struct {
		addr, https string
		urls        []string
	}
	found := make(chan started, 1)
	lines := make(chan string, 100)
	go func() {
		sc := bufio.NewScanner(stderr)
		var st started
		for sc.Scan() {
			select {
			case lines <- sc.Text():
			default: // keep reading: a server blocked on a full stderr pipe stops answering
			}
			if m := re.FindStringSubmatch(sc.Text()); m != nil {
				st.addr = m[1]
			}
			if m := httpsRE.FindStringSubmatch(sc.Text()); m != nil {
				st.https = m[1]
			}
			if m := demoRE.FindStringSubmatch(sc.Text()); m != nil {
				st.urls = append(st.urls, m[1])
			}
			if st.addr != "" && (len(st.urls) == 4 || !strings.Contains(strings.Join(args, " "), "--demo")) &&
				(st.https != "" || !strings.Contains(strings.Join(args, " "), "--tls-cert")) {
				found <- st
				st.addr = ""
			}
		}
		close(lines)
	}()
	select {
	case st := <-found:
		s := served{base: "http://" + st.addr, urls: st.urls}
		if st.https != "" {
			s.https = "https://" + st.https
		}
		return s
	case <-time.After(20 * time.Second):
		var log bytes.Buffer
		for len(lines) > 0 {
			log.WriteString(<-lines + "\n")
		}
		t.Fatalf("serve did not start:\n%s", log.String())
	}
	return served{}
}

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func run(t *testing.T, bin string, args ...string) string {
	t.Helper()
	out, err := exec.Command(bin, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("netkick %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

func TestCLIServeDemoAndHostCommands(t *testing.T) {
	bin := buildNetkick(t)
	data := t.TempDir()
	base, urls := startServe(t, bin, data, "--demo")
	if len(urls) != 4 {
		t.Fatalf("demo printed %d kickstart URLs", len(urls))
	}
	for _, u := range urls {
		code, body := get(t, u)
		if code != 200 || !strings.Contains(body, "# netkick kickstart for") || !strings.Contains(body, "%post") || !strings.Contains(body, "/built?token=") {
			t.Fatalf("demo kickstart %s: %d\n%s", u, code, body)
		}
	}
	if code, _ := get(t, base+"/ks/52:54:00:4e:4b:01"); code != 403 {
		t.Fatalf("kickstart without token: %d", code)
	}
	st, err := os.Stat(filepath.Join(data, "admin.token"))
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("admin token: %v %v", err, st)
	}

	// Local mode while the server runs on the same data dir.
	run(t, bin, "host", "add", "52-54-00-AA-00-01", "--hostname", "web9", "--profile", "centos-6.10", "--data", data)
	run(t, bin, "host", "tag", "web9", "lvs-real-server", "--data", data)
	out := run(t, bin, "host", "build", "web9", "--data", data, "--public-url", base)
	ksURL := regexp.MustCompile(`kickstart: (\S+)`).FindStringSubmatch(out)
	if ksURL == nil {
		t.Fatalf("host build printed no URL: %s", out)
	}
	code, body := get(t, ksURL[1])
	if code != 200 || !strings.Contains(body, "# role lvs-real-server") {
		t.Fatalf("after tag: %d\n%s", code, body)
	}
	// Remote mode through the API.
	out = run(t, bin, "host", "untag", "web9", "lvs-real-server", "--server", base, "--token-file", filepath.Join(data, "admin.token"))
	if !strings.Contains(out, "web9 roles: -") {
		t.Fatalf("untag: %s", out)
	}
	list := run(t, bin, "host", "list", "--server", base, "--token-file", filepath.Join(data, "admin.token"))
	for _, h := range []string{"a01", "a02", "b01", "b02", "web9"} {
		if !strings.Contains(list, h) {
			t.Fatalf("host list lacks %s:\n%s", h, list)
		}
	}
	show := run(t, bin, "host", "show", "web9", "--data", data)
	if !strings.Contains(show, "roles lvs-real-server -> - (by API token admin)") || !strings.Contains(show, "kickstart fetched") {
		t.Fatalf("host show lacks the timeline:\n%s", show)
	}
	// Cancel a build: remote through the API, then the token no longer serves; local refuses a second cancel.
	if out := run(t, bin, "host", "build", "web9", "--cancel", "--server", base, "--token-file", filepath.Join(data, "admin.token")); !strings.Contains(out, "web9: build cancelled, token burnt; it is ready again.") {
		t.Fatalf("host build --cancel: %s", out)
	}
	if code, _ := get(t, ksURL[1]); code != 403 {
		t.Fatalf("kickstart after cancel: %d, want 403", code)
	}
	if out, err := exec.Command(bin, "host", "build", "web9", "--cancel", "--data", data).CombinedOutput(); err == nil || !strings.Contains(string(out), "not building: nothing to cancel") {
		t.Fatalf("second cancel: %v %s", err, out)
	}
	local := run(t, bin, "render", "kickstart", "a01", "--data", data, "--public-url", "http://192.0.2.1:8080")
	if !strings.Contains(local, "baseurl=http://192.0.2.1:8080/repo/cpan/") {
		t.Fatalf("render: %s", local)
	}

	// Bad input: a clear error and exit 1, nothing written.
	cmd := exec.Command(bin, "host", "add", "52:54:00:aa:00:02", "--hostname", "a$(reboot)", "--data", data)
	out2, err := cmd.CombinedOutput()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 1 || !strings.Contains(string(out2), "RFC 1123") {
		t.Fatalf("bad hostname: %v %s", err, out2)
	}
	cmd = exec.Command(bin, "host", "bogus")
	if err := cmd.Run(); err == nil || cmd.ProcessState.ExitCode() != 2 {
		t.Fatalf("unknown subcommand exit code: %v", err)
	}
}

func TestImportExportRoundTrip(t *testing.T) {
	bin := buildNetkick(t)
	data := t.TempDir()
	// The demo document, imported into an empty store, exports to itself.
	in := filepath.Join(t.TempDir(), "demo.yaml")
	if err := os.WriteFile(in, demoYAML, 0o644); err != nil {
		t.Fatal(err)
	}
	run(t, bin, "import", in, "--data", data)
	first := run(t, bin, "export", "--data", data)
	again := filepath.Join(t.TempDir(), "again.yaml")
	if err := os.WriteFile(again, []byte(first), 0o644); err != nil {
		t.Fatal(err)
	}
	data2 := t.TempDir()
	run(t, bin, "import", again, "--data", data2)
	second := run(t, bin, "export", "--data", data2)
	if first != second {
		t.Fatalf("export → import → export differs:\n%s\n---\n%s", first, second)
	}
	for _, want := range []string{"hostname: a01", "name: centos-5.3", "roles:", "- lvs-director"} {
		if !strings.Contains(first, want) {
			t.Fatalf("export lacks %q:\n%s", want, first)
		}
	}
	// A bad document is refused whole.
	bad := filepath.Join(t.TempDir(), "bad.yaml")
	os.WriteFile(bad, []byte("hosts:\n  - macs: [\"52:54:00:aa:00:09\"]\n    hostname: ok1\n  - macs: [\"zz\"]\n    hostname: ok2\n"), 0o644)
	if out, err := exec.Command(bin, "import", bad, "--data", data2).CombinedOutput(); err == nil || !strings.Contains(string(out), "hosts[1]") {
		t.Fatalf("bad import: %v %s", err, out)
	}
	if out := run(t, bin, "host", "list", "--data", data2); strings.Contains(out, "ok1") {
		t.Fatalf("partial import:\n%s", out)
	}
}

func TestStartupErrors(t *testing.T) {
	bin := buildNetkick(t)
	tests := []struct {
		name  string
		setup func(dir string) []string
		want  string
	}{
		{"corrupt database", func(dir string) []string {
			os.WriteFile(filepath.Join(dir, "inventory.db"), bytes.Repeat([]byte("garbage!"), 1000), 0o600)
			return []string{"serve", "--data", dir, "--http", "127.0.0.1:0"}
		}, "inventory.db"},
		{"unknown config key", func(dir string) []string {
			os.WriteFile(filepath.Join(dir, "c.yaml"), []byte("htp: :8080\n"), 0o600)
			return []string{"serve", "--config", filepath.Join(dir, "c.yaml")}
		}, `c.yaml:1: unknown key "htp"; did you mean "http"?`},
		{"port taken", func(dir string) []string {
			return []string{"serve", "--data", dir, "--http", "256.0.0.1:1"}
		}, "choose another address with --http"},
		{"postgres password on the command line", func(dir string) []string {
			return []string{"serve", "--data", dir, "--store", "postgres://netkick:secret@127.0.0.1/netkick"}
		}, "holds a password"},
		{"postgres unreachable", func(dir string) []string {
			return []string{"serve", "--data", dir, "--http", "127.0.0.1:0", "--store", "postgres://netkick@127.0.0.1:1/netkick?connect_timeout=2"}
		}, "postgres://127.0.0.1:1/netkick"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			args := tc.setup(t.TempDir())
			out, err := exec.CommandContext(ctx, bin, args...).CombinedOutput()
			if err == nil || !strings.Contains(string(out), tc.want) {
				t.Fatalf("%v: %v\n%s", args, err, out)
			}
			fmt.Fprint(io.Discard, out)
		})
	}
}

func TestLintCommand(t *testing.T) {
	bin := buildNetkick(t)
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.ks")
	os.WriteFile(bad, []byte("url --url=http://x/\nrootpw hunter2\ntimezone UTC\n%include /tmp/x.ks\n"), 0o644)
	out, err := exec.Command(bin, "lint", bad).CombinedOutput()
	if err == nil || !strings.Contains(string(out), "line 2: error: rootpw in clear text") || !strings.Contains(string(out), "no %pre section writes") {
		t.Fatalf("lint bad: %v\n%s", err, out)
	}
	data := t.TempDir()
	in := filepath.Join(dir, "demo.yaml")
	os.WriteFile(in, demoYAML, 0o644)
	run(t, bin, "import", in, "--data", data)
	for _, h := range []string{"a01", "b01", "b02"} {
		if out := run(t, bin, "lint", "--host", h, "--data", data); !strings.Contains(out, ": ok") {
			t.Fatalf("lint %s: %s", h, out)
		}
	}

	// --os: what that release refuses, with the line.
	el5 := filepath.Join(dir, "el5.ks")
	os.WriteFile(el5, []byte("url --url=http://x/\nrootpw --iscrypted $6$x$y\ntimezone --utc UTC\nfirewall --enabled --service=ssh\nzerombr yes\nautopart\n"), 0o644)
	out, err = exec.Command(bin, "lint", el5, "--os", "centos-5.3").CombinedOutput()
	if err == nil || !strings.Contains(string(out), "line 4: error: RHEL 5's firewall has no --service") || !strings.Contains(string(out), "line 5: error: zerombr takes no argument") {
		t.Fatalf("lint --os centos-5.3: %v\n%s", err, out)
	}
	if out, err := exec.Command(bin, "lint", el5, "--os", "centos").CombinedOutput(); err == nil || !strings.Contains(string(out), "want NAME-VERSION") {
		t.Fatalf("lint --os centos: %v\n%s", err, out)
	}

	// A user's template the release rejects: render prints the kickstart on
	// stdout and the findings on stderr.
	tmpl := filepath.Join(dir, "templates", "snippets")
	os.MkdirAll(tmpl, 0o755)
	os.WriteFile(filepath.Join(tmpl, "network.tmpl"), []byte("network --bootproto=dhcp --device=eth0 --hostname={{.Host.Hostname}}\ninstall\n"), 0o644)
	cmd := exec.Command(bin, "render", "kickstart", "b01", "--data", data, "--templates", filepath.Join(dir, "templates"))
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	run(t, bin, "host", "set", "b01", "--profile", "rocky-9.4", "--data", data)
	if err := cmd.Run(); err != nil {
		t.Fatalf("render: %v\n%s", err, stderr.String())
	}
	if !strings.Contains(stdout.String(), "\ninstall\n") || !strings.Contains(stderr.String(), "kickstart of b01 (RHEL9): line 9: error: install was removed in RHEL 9") {
		t.Fatalf("render with a template RHEL 9 rejects: stderr:\n%s", stderr.String())
	}
}

// TestLintRunsValidator: with ksvalidator found (here through
// NETKICK_KSVALIDATOR), lint reports its findings with their lines too.
func TestLintRunsValidator(t *testing.T) {
	wd, _ := os.Getwd()
	v, err := lint.FindValidator(os.Getenv, lint.CheckoutsBeside(filepath.Dir(filepath.Dir(wd)))...)
	if err != nil {
		testenv.Missing(t, err.Error())
	}
	env := v.Script
	if v.PythonPath != "" && v.PythonPath != "-" {
		env = v.PythonPath
	}
	bin := buildNetkick(t)
	ks := filepath.Join(t.TempDir(), "el6.ks")
	os.WriteFile(ks, []byte("url --url=http://x/\nrootpw --iscrypted $6$x$y\ntimezone --utc UTC\nautopart\nfrobnicate --now\n"), 0o644)
	cmd := exec.Command(bin, "lint", ks, "--os", "centos-6.10")
	cmd.Env = append(os.Environ(), "NETKICK_KSVALIDATOR="+env)
	out, err := cmd.CombinedOutput()
	if err == nil || !strings.Contains(string(out), `line 5: error: unknown command "frobnicate"`) || !strings.Contains(string(out), "line 5: error: ksvalidator: The following problem occurred on line 5 of the kickstart file: Unknown command: frobnicate") {
		t.Fatalf("lint with ksvalidator: %v\n%s", err, out)
	}
	good := filepath.Join(t.TempDir(), "el6.ks")
	os.WriteFile(good, []byte("url --url=http://x/\nrootpw --iscrypted $6$x$y\ntimezone --utc UTC\nautopart\n"), 0o644)
	cmd = exec.Command(bin, "lint", good, "--os", "centos-6.10")
	cmd.Env = append(os.Environ(), "NETKICK_KSVALIDATOR="+env)
	if out, err := cmd.CombinedOutput(); err != nil || !strings.Contains(string(out), "and ksvalidator -v RHEL6") {
		t.Fatalf("lint of a good file: %v\n%s", err, out)
	}
}

// stopAtCleanup stops a started `netkick serve` when the test ends: an
// interrupt, then a kill if it has not exited within 10 s. Cleanups
// registered before it run after the process is gone.
func stopAtCleanup(t *testing.T, cmd *exec.Cmd) {
	t.Cleanup(func() {
		cmd.Process.Signal(os.Interrupt)
		done := make(chan struct{})
		go func() { cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			cmd.Process.Kill()
			<-done
		}
	})
}
