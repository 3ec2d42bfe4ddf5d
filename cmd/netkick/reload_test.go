package main

import (
	"bufio"
	"crypto/tls"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/netkick/netkick/dhcp"
)

func TestChangedKeys(t *testing.T) {
	base := defaultServeConfig()
	cases := []struct {
		name string
		edit func(*serveConfig)
		want []string
	}{
		{"nothing", func(*serveConfig) {}, nil},
		{"log level is applied, not reported", func(c *serveConfig) { c.LogLevel = "debug" }, nil},
		{"listener and ttl", func(c *serveConfig) { c.HTTP = ":80"; c.TokenTTL = time.Hour }, []string{"http", "token_ttl"}},
		{"dhcp block", func(c *serveConfig) { c.DHCP = dhcp.Config{Interface: "eth1", Mode: "full"} }, []string{"dhcp"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			b := base
			c.edit(&b)
			if got := changedKeys(base, b); !reflect.DeepEqual(got, c.want) {
				t.Fatalf("got %v, want %v", got, c.want)
			}
		})
	}
}

// TestServeReload: SIGHUP (systemctl reload) parses the templates again,
// re-reads the config file and the HTTPS certificate, with RELOADING=1 and
// READY=1 around it; a broken template leaves the running ones in place,
// and the server never stops.
func TestServeReload(t *testing.T) {
	bin := buildNetkick(t)
	dir := t.TempDir()
	tdir := filepath.Join(dir, "templates")
	os.MkdirAll(filepath.Join(tdir, "ks"), 0o755)
	writeTemplate := func(body string) {
		if err := os.WriteFile(filepath.Join(tdir, "ks", "default.tmpl"), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	writeConfig := func(body string) {
		if err := os.WriteFile(filepath.Join(dir, "netkick.yaml"), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	writeTemplate("# reload test: first\n")
	writeConfig("log_level: info\ntoken_ttl: 1h\n")
	sock, next := notifySocket(t, dir)
	first, second := newTestPKI(t), newTestPKI(t)
	certFile, keyFile := filepath.Join(dir, "tls.crt"), filepath.Join(dir, "tls.key")
	useCert := func(p testPKI) {
		for from, to := range map[string]string{p.cert: certFile, p.key: keyFile} {
			b, err := os.ReadFile(from)
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(to, b, 0o600); err != nil {
				t.Fatal(err)
			}
		}
	}
	useCert(first)

	cmd := exec.Command(bin, "serve", "--config", filepath.Join(dir, "netkick.yaml"), "--data", filepath.Join(dir, "data"),
		"--templates", tdir, "--http", "127.0.0.1:0", "--tftp", "off", "--demo",
		"--tls-cert", certFile, "--tls-key", keyFile, "--https", "127.0.0.1:0")
	cmd.Env = append(os.Environ(), "NOTIFY_SOCKET="+sock)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var log syncBuffer
	drained := make(chan struct{})
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			log.add(sc.Text())
		}
		close(drained)
	}()
	t.Cleanup(func() {
		cmd.Process.Kill()
		<-drained
		cmd.Wait()
	})
	recv := func() string { t.Helper(); return next(&log) }
	hup := func(wantStatus string) {
		t.Helper()
		if err := cmd.Process.Signal(syscall.SIGHUP); err != nil {
			t.Fatal(err)
		}
		if got := recv(); got != "RELOADING=1\nSTATUS=reloading" {
			t.Fatalf("after SIGHUP: %q, want RELOADING=1", got)
		}
		if got := recv(); got != "READY=1\nSTATUS="+wantStatus {
			t.Fatalf("after the reload: %q, want READY=1 and STATUS=%s\n%s", got, wantStatus, log.String())
		}
	}

	if got := recv(); !strings.HasPrefix(got, "READY=1\n") {
		t.Fatalf("first notification %q, want READY=1", got)
	}
	var m []string
	for i := 0; i < 100 && m == nil; i++ {
		m = regexp.MustCompile(`curl '(http://\S+/ks/\S+)'`).FindStringSubmatch(log.String())
		time.Sleep(50 * time.Millisecond)
	}
	if m == nil {
		t.Fatalf("no demo kickstart URL in the log:\n%s", log.String())
	}
	ks := m[1]
	if code, body := get(t, ks); code != 200 || !strings.Contains(body, "reload test: first") {
		t.Fatalf("kickstart before the reload: %d %q", code, body)
	}
	hm := regexp.MustCompile(`over HTTPS on (\S+)`).FindStringSubmatch(log.String())
	if hm == nil {
		t.Fatalf("no HTTPS address in the log:\n%s", log.String())
	}
	servedBy := func(p testPKI) bool { // the HTTPS listener's certificate is p's
		t.Helper()
		conn, err := tls.Dial("tcp", hm[1], &tls.Config{RootCAs: p.pool})
		if err != nil {
			return false
		}
		conn.Close()
		return true
	}
	if !servedBy(first) || servedBy(second) {
		t.Fatal("before the reload HTTPS does not serve the first certificate")
	}

	writeTemplate("# reload test: second\n")
	writeConfig("log_level: debug\ntoken_ttl: 2h\n")
	useCert(second)
	hup("reloaded")
	if !servedBy(second) {
		t.Errorf("after the reload HTTPS does not serve the renewed certificate:\n%s", log.String())
	}
	if code, body := get(t, ks); code != 200 || !strings.Contains(body, "reload test: second") {
		t.Fatalf("kickstart after the reload: %d %q", code, body)
	}
	for _, want := range []string{"reload: templates parsed again", "reload: TLS certificate read again", "reload: log level changed", "keys=token_ttl"} {
		if !strings.Contains(log.String(), want) {
			t.Errorf("log lacks %q:\n%s", want, log.String())
		}
	}

	writeTemplate("# reload test: {{ broken\n")
	hup("reload failed: templates (see the log)")
	if code, body := get(t, ks); code != 200 || !strings.Contains(body, "reload test: second") {
		t.Fatalf("after a failed reload the previous templates must serve: %d %q", code, body)
	}
	if !strings.Contains(log.String(), "templates not reloaded") || !strings.Contains(log.String(), "ks/default") {
		t.Errorf("log does not name the broken template:\n%s", log.String())
	}
}

func TestTokenNotice(t *testing.T) {
	const tok = "0123456789abcdef0123456789abcdef"
	cases := []struct {
		name      string
		toJournal bool
		shown     bool
	}{{"terminal: shown once", false, true}, {"journal: only the path", true, false}}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			n := tokenNotice("/var/lib/netkick/admin.token", tok, c.toJournal)
			if strings.Contains(n, tok) != c.shown || !strings.Contains(n, "/var/lib/netkick/admin.token") {
				t.Fatalf("notice %q: token shown %v, want %v, and the path", n, strings.Contains(n, tok), c.shown)
			}
		})
	}
}
