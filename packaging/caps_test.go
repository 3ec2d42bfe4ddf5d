package packaging

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/netkick/netkick/internal/testenv"
)

// unitCaps reads the capabilities netkick.service grants (AmbientCapabilities).
func unitCaps(t *testing.T) []string {
	t.Helper()
	b, err := os.ReadFile("netkick.service")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^AmbientCapabilities=(.*)$`).FindSubmatch(b)
	if m == nil {
		t.Fatal("netkick.service has no AmbientCapabilities=")
	}
	return strings.Fields(string(m[1]))
}

// TestUnitCapabilities measures what the unit's capabilities are for: netkick
// runs as an unprivileged user holding exactly the unit's capabilities, in a
// network namespace, and serves DHCP (a real udhcpc gets a lease: the
// SO_BINDTODEVICE socket needs no capability since Linux 5.7), TFTP on 69 and
// HTTP on 80. Without them, binding DHCP's port 67 fails: the capability is needed.
func TestUnitCapabilities(t *testing.T) {
	testenv.RequireRoot(t)
	testenv.RequireProgram(t, "ip", "setpriv", "udhcpc", "tftp", "curl")
	caps := unitCaps(t)
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
	serveAs := func(caps string) (log string, running bool, stop func()) {
		t.Helper()
		cmd := exec.Command("ip", "netns", "exec", srv, "setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups",
			"--inh-caps=-all"+caps, "--ambient-caps=-all"+caps, "--bounding-set=-all"+caps, "--no-new-privs",
			bin, "serve", "--config", cfg)
		stderr, _ := cmd.StderrPipe()
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		exited := make(chan struct{})
		stop = func() {
			cmd.Process.Kill()
			<-exited
		}
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
				stop()
				t.Fatalf("netkick serve neither served nor exited in 30 s:\n%s", b.String())
			}
		}
	}

	t.Run("the unit's capabilities suffice", func(t *testing.T) {
		log, running, stop := serveAs(",+net_bind_service")
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
