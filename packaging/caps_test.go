package packaging

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/netkick/netkick/internal/testenv"
)

// TestUnitCapabilities measures what the unit's capabilities are for: netkick
// runs as an unprivileged user holding exactly the unit's capabilities, in a
// network namespace, and serves DHCP (a real udhcpc gets a lease: the
// SO_BINDTODEVICE socket needs no capability since Linux 5.7), TFTP on 69 and
// HTTP on 80. Without them, binding DHCP's port 67 fails: the capability is needed.
func TestUnitCapabilities(t *testing.T) {
	testenv.RequireRoot(t)
	testenv.RequireProgram(t, "ip", "setpriv", "udhcpc", "tftp", "curl", "strace", "systemd-analyze")
	caps := unitSetting(t, "AmbientCapabilities")
	if fmt.Sprint(caps) != "[CAP_NET_BIND_SERVICE]" {
		t.Fatalf("the unit grants %v; this test measures CAP_NET_BIND_SERVICE alone: update both together", caps)
	}

	// A tree the unprivileged user can read: binary, config, data dir.
	dir := t.TempDir()
	for d := dir; d != os.TempDir() && d != "/"; d = filepath.Dir(d) {
		os.Chmod(d, 0o755)
	}
	bin := filepath.Join(dir, "netkick")
	if out, err := exec.Command("go", "build", "-o", bin, "../cmd/netkick").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	data := filepath.Join(dir, "data")
	os.MkdirAll(filepath.Join(data, "boot"), 0o755)
	os.WriteFile(filepath.Join(data, "boot", "hello.txt"), []byte("hello from netkick\n"), 0o644)
	if out, err := exec.Command("chown", "-R", "nobody:nogroup", data).CombinedOutput(); err != nil {
		t.Fatalf("chown: %v %s", err, out)
	}

	pid := os.Getpid()
	srv, cli := fmt.Sprintf("nkcap-%d-srv", pid), fmt.Sprintf("nkcap-%d-cli", pid)
	sif, cif := fmt.Sprintf("nkc%ds", pid%1000000), fmt.Sprintf("nkc%dc", pid%1000000)
	for _, ns := range []string{srv, cli} {
		run(t, "ip", "netns", "add", ns)
		t.Cleanup(func() { exec.Command("ip", "netns", "del", ns).Run() })
		run(t, "ip", "-n", ns, "link", "set", "lo", "up")
	}
	run(t, "ip", "link", "add", sif, "netns", srv, "type", "veth", "peer", "name", cif, "netns", cli)
	run(t, "ip", "-n", srv, "addr", "add", "192.0.2.1/24", "dev", sif)
	run(t, "ip", "-n", srv, "link", "set", sif, "up")
	run(t, "ip", "-n", cli, "link", "set", cif, "up")
	trace := filepath.Join(dir, "strace.out")
	cfg := filepath.Join(dir, "netkick.yaml")
	os.WriteFile(cfg, []byte(fmt.Sprintf(`http: ":80"
tftp: ":69"
data: %s
dhcp:
  interface: %s
  mode: full
  unknown: pool
  subnets:
    - cidr: 192.0.2.0/24
      pools: ["192.0.2.100-192.0.2.120"]
      router: 192.0.2.1
      lease: 1h
`, data, sif)), 0o644)

	// serveAs runs netkick serve as nobody with exactly caps (setpriv form,
	// e.g. ",+net_bind_service") and returns its log once it serves or exits.
	serveAs := func(caps string, wrap ...string) (log string, running bool, stop func()) {
		t.Helper()
		argv := append(wrap, "ip", "netns", "exec", srv, "setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups",
			"--inh-caps=-all"+caps, "--ambient-caps=-all"+caps, "--bounding-set=-all"+caps, "--no-new-privs",
			bin, "serve", "--config", cfg)
		cmd := exec.Command(argv[0], argv[1:]...)
		cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true} // strace and netkick: one group to stop
		stderr, _ := cmd.StderrPipe()
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		exited := make(chan struct{})
		var once sync.Once
		stop = func() {
			once.Do(func() {
				syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM) // netkick shuts down, strace flushes
				select {
				case <-exited:
				case <-time.After(15 * time.Second):
					syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
					<-exited
				}
			})
		}
		t.Cleanup(stop)
		lines := make(chan string)
		go func() {
			sc := bufio.NewScanner(stderr)
			for sc.Scan() {
				lines <- sc.Text()
			}
			close(lines)
			cmd.Wait()
			close(exited)
		}()
		var b strings.Builder
		deadline := time.After(30 * time.Second)
		for {
			select {
			case l, ok := <-lines:
				if !ok {
					return b.String(), false, stop
				}
				b.WriteString(l + "\n")
				if strings.Contains(l, "serving HTTP on") {
					go func() {
						for range lines {
						}
					}()
					return b.String(), true, stop
				}
			case <-deadline:
				t.Fatalf("netkick serve neither served nor exited in 30 s:\n%s", b.String())
			}
		}
	}

	t.Run("the unit's capabilities suffice", func(t *testing.T) {
		// Under strace, to measure the system calls and socket families
		// against the unit's filters below.
		log, running, stop := serveAs(",+net_bind_service", "strace", "-f", "-qq", "-o", trace)
		defer stop()
		if !running {
			t.Fatalf("netkick serve with CAP_NET_BIND_SERVICE alone did not start:\n%s", log)
		}
		out := run(t, "ip", "netns", "exec", cli, "udhcpc", "-i", cif, "-n", "-q", "-f", "-t", "5", "-s", "/bin/true")
		m := regexp.MustCompile(`lease of (192\.0\.2\.\d+) obtained from 192\.0\.2\.1`).FindStringSubmatch(out)
		if m == nil {
			t.Fatalf("udhcpc got no lease from netkick:\n%s\nnetkick:\n%s", out, log)
		}
		run(t, "ip", "-n", cli, "addr", "add", m[1]+"/24", "dev", cif)
		got := filepath.Join(dir, "got.txt")
		run(t, "ip", "netns", "exec", cli, "tftp", "192.0.2.1", "-c", "get", "hello.txt", got)
		if b, _ := os.ReadFile(got); string(b) != "hello from netkick\n" {
			t.Fatalf("TFTP on port 69 gave %q", b)
		}
		if code := run(t, "ip", "netns", "exec", cli, "curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "http://192.0.2.1/healthz"); code != "200" {
			t.Fatalf("HTTP on port 80: %s", code)
		}
		stop()
		checkTrace(t, trace, bin)
	})
	t.Run("without it DHCP cannot bind", func(t *testing.T) {
		log, running, stop := serveAs("")
		defer stop()
		if running || !strings.Contains(log, "port 67") || !strings.Contains(log, "permission denied") {
			t.Fatalf("netkick serve without capabilities: want a refusal to bind port 67, got (running %v):\n%s", running, log)
		}
	})
}

func run(t *testing.T, name string, args ...string) string {
	t.Helper()
	out, err := exec.Command(name, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return string(out)
}

// unitSetting returns the values of a [Service] key of netkick.service, one
// per line it appears on.
func unitSetting(t *testing.T, key string) []string {
	t.Helper()
	b, err := os.ReadFile("netkick.service")
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, m := range regexp.MustCompile(`(?m)^`+key+`=(.*)$`).FindAllSubmatch(b, -1) {
		out = append(out, string(m[1]))
	}
	return out
}

// syscallGroups reads systemd's syscall groups (systemd-analyze syscall-filter).
func syscallGroups(t *testing.T) map[string][]string {
	t.Helper()
	groups := map[string][]string{}
	cur := ""
	for _, l := range strings.Split(run(t, "systemd-analyze", "syscall-filter"), "\n") {
		switch {
		case strings.HasPrefix(l, "@"):
			cur = strings.TrimSpace(l)
		case strings.HasPrefix(l, "    ") && !strings.HasPrefix(strings.TrimSpace(l), "#") && cur != "":
			groups[cur] = append(groups[cur], strings.TrimSpace(l))
		}
	}
	return groups
}

func expand(groups map[string][]string, name string, into map[string]bool) {
	if !strings.HasPrefix(name, "@") {
		into[name] = true
		return
	}
	for _, m := range groups[name] {
		expand(groups, m, into)
	}
}

// checkTrace holds what netkick did under strace against the unit: every
// system call made after netkick's execve must pass SystemCallFilter, and
// every socket family it asked for must be in RestrictAddressFamilies (the ARP
// probe's AF_PACKET, which fails without CAP_NET_RAW, excepted).
func checkTrace(t *testing.T, trace, bin string) {
	t.Helper()
	groups := syscallGroups(t)
	allowed := map[string]bool{}
	for _, v := range unitSetting(t, "SystemCallFilter") {
		deny := strings.HasPrefix(v, "~")
		set := map[string]bool{}
		for _, f := range strings.Fields(strings.TrimPrefix(v, "~")) {
			expand(groups, f, set)
		}
		for c := range set {
			if deny {
				delete(allowed, c)
			} else {
				allowed[c] = true
			}
		}
	}
	if len(allowed) < 100 {
		t.Fatalf("the unit's SystemCallFilter expands to %d system calls: systemd-analyze syscall-filter not understood", len(allowed))
	}
	families := map[string]bool{}
	for _, f := range strings.Fields(strings.Join(unitSetting(t, "RestrictAddressFamilies"), " ")) {
		families[f] = true
	}

	b, err := os.ReadFile(trace)
	if err != nil {
		t.Fatal(err)
	}
	line := regexp.MustCompile(`^(\d+) +([a-z0-9_]+)\((.*)`)
	socketRe := regexp.MustCompile(`^(AF_[A-Z0-9]+),`) // the result may be on a later "resumed" line
	started := map[string]bool{}                       // pids that have exec'd netkick, and threads born after
	used := map[string]int{}
	var denied, badFamilies []string
	seen := map[string]bool{}
	for _, l := range strings.Split(string(b), "\n") {
		m := line.FindStringSubmatch(l)
		if m == nil {
			continue
		}
		pid, call, rest := m[1], m[2], m[3]
		if call == "execve" && strings.HasPrefix(rest, `"`+bin+`"`) {
			started[pid] = true
			continue
		}
		if len(started) == 0 {
			continue // ip and setpriv, before systemd would apply the filter
		}
		started[pid] = true
		used[call]++
		if call == "socket" {
			s := socketRe.FindStringSubmatch(rest)
			if s == nil {
				continue
			}
			seen[s[1]] = true
			// AF_PACKET is the ARP probe, which fails without CAP_NET_RAW (EPERM).
			if !families[s[1]] && s[1] != "AF_PACKET" {
				badFamilies = append(badFamilies, l)
			}
		}
	}
	if used["socket"] == 0 || used["bind"] == 0 || !seen["AF_INET"] {
		t.Fatalf("the trace of %s shows no IPv4 socket being bound (%d calls parsed): the trace was not read", bin, len(used))
	}
	for c := range used {
		if !allowed[c] {
			denied = append(denied, c)
		}
	}
	if len(denied) > 0 {
		t.Errorf("netkick made system calls the unit's SystemCallFilter denies: %v", denied)
	}
	if len(badFamilies) > 0 {
		t.Errorf("netkick opened sockets of families RestrictAddressFamilies denies:\n%s", strings.Join(badFamilies, "\n"))
	}
	t.Logf("%d distinct system calls, all allowed by the unit's filter; socket families %v", len(used), seen)
}
