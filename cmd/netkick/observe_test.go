package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/netkick/netkick/internal/testenv"
)

// loggedServer is a `netkick serve` whose whole stderr (every log line) is
// kept in a file for the test to read.
type loggedServer struct {
	base    string // http://127.0.0.1:PORT
	tftp    int    // TFTP port on 127.0.0.1
	data    string
	logPath string
}

// startLoggedServe runs `netkick serve` on loopback with its log in a file.
func startLoggedServe(t *testing.T, bin, data string, extra ...string) *loggedServer {
	t.Helper()
	ls := &loggedServer{tftp: freeUDPPort(t), data: data, logPath: filepath.Join(t.TempDir(), "serve.log")}
	args := append([]string{"serve", "--data", data, "--http", "127.0.0.1:0", "--tftp", "127.0.0.1:" + strconv.Itoa(ls.tftp)}, extra...)
	ls.base = startServeLogged(t, bin, ls.logPath, args...)
	return ls
}

// randomSecret is a value that appears nowhere unless something leaks it.
func randomSecret(t *testing.T, prefix string) string {
	t.Helper()
	b := make([]byte, 12)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return prefix + hex.EncodeToString(b)
}

// webClient calls one server with a cookie jar (for the web page).
type webClient struct {
	t    *testing.T
	base string
	hc   *http.Client
}

func newWebClient(t *testing.T, base string) *webClient {
	jar, _ := cookiejar.New(nil)
	return &webClient{t: t, base: base, hc: &http.Client{Jar: jar, Timeout: 30 * time.Second}}
}

// do sends a request and returns status and body; bearer "" sends none.
func (c *webClient) do(method, path, bearer, ctype, body string) (int, string) {
	c.t.Helper()
	hdr := map[string]string{}
	if ctype != "" {
		hdr["Content-Type"] = ctype
	}
	return c.doWith(method, path, bearer, body, hdr)
}

// doWith is do with any request headers.
func (c *webClient) doWith(method, path, bearer, body string, hdr map[string]string) (int, string) {
	c.t.Helper()
	req, err := http.NewRequest(method, c.base+path, strings.NewReader(body))
	if err != nil {
		c.t.Fatal(err)
	}
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		c.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// must is do that wants one status.
func (c *webClient) must(want int, method, path, bearer, body string) string {
	c.t.Helper()
	ctype := ""
	if body != "" {
		ctype = "application/json"
	}
	code, out := c.do(method, path, bearer, ctype, body)
	if code != want {
		c.t.Fatalf("%s %s: %d, want %d: %s", method, path, code, want, out)
	}
	return out
}

// provisioningRun drives a server through what a site does in a day, and
// returns every secret value that went through it: the admin token, a named
// API token, a root password (clear and hashed), a password hash given as
// such, two BMC passwords (API and CLI), a build token (kickstart fetch over HTTP, configs over
// TFTP and HTTP, the install report), a wrong token, a web session.
func provisioningRun(t *testing.T, bin string, s *loggedServer, admin string) map[string]string {
	t.Helper()
	c := newWebClient(t, s.base)
	secrets := map[string]string{"admin token": admin}
	const mac = "52:54:00:6c:6f:01"

	// A profile, through the admin token.
	c.must(200, "PUT", "/api/v1/profiles/rocky-9.4", admin, `{"name":"rocky-9.4","os":"rocky","version":"9.4","kernel":"rocky-9.4/vmlinuz","initrd":"rocky-9.4/initrd.img",`+
		`"install_url":"http://mirror.example.com/rocky/9.4/BaseOS/x86_64/os/"}`)
	// A named API token; the rest goes through it.
	var tok struct{ Token string }
	if err := json.Unmarshal([]byte(c.must(201, "POST", "/api/v1/tokens", admin, `{"name":"ci-deploy"}`)), &tok); err != nil || tok.Token == "" {
		t.Fatalf("token add: %v %+v", err, tok)
	}
	api := tok.Token
	secrets["API token"] = api
	rootPW := randomSecret(t, "rootpw")
	secrets["root password"] = rootPW
	out := c.must(201, "POST", "/api/v1/hosts", api, `{"macs":["`+mac+`"],"hostname":"ks01","profile":"rocky-9.4","root_password":"`+rootPW+`"}`)
	if m := regexp.MustCompile(`"root_password_hash":"([^"]+)"`).FindStringSubmatch(out); m != nil {
		secrets["root password hash"] = m[1]
	} else {
		// Not shown by the API: read it from the store through the CLI.
		show := run(t, bin, "host", "show", "ks01", "--data", s.data, "-o", "json")
		if m := regexp.MustCompile(`"root_password_hash":\s*"([^"]+)"`).FindStringSubmatch(show); m != nil {
			secrets["root password hash"] = m[1]
		}
	}
	// A password hash set on the host directly (merge patch).
	presetHash := "$6$" + randomSecret(t, "salt")[:16] + "$" + randomSecret(t, "hash") + randomSecret(t, "")
	secrets["preset password hash"] = presetHash
	c.must(200, "PATCH", "/api/v1/hosts/"+mac, api, `{"root_password_hash":"`+presetHash+`"}`)
	// Refused changes, each with a secret that must stay out of their audit
	// lines: an edit with a stale ETag (carrying another password hash), an
	// edit without a token and one with a wrong token, a profile whose
	// install URL holds a password and is refused.
	staleHash := "$6$" + randomSecret(t, "salt")[:16] + "$" + randomSecret(t, "stale") + randomSecret(t, "")
	secrets["refused password hash"] = staleHash
	if code, body := c.doWith("PATCH", "/api/v1/hosts/"+mac, api, `{"root_password_hash":"`+staleHash+`"}`, map[string]string{"Content-Type": "application/json", "If-Match": `"0123456789abcdef01234567"`}); code != http.StatusPreconditionFailed {
		t.Fatalf("an edit with a stale ETag: %d %s", code, body)
	}
	if code, body := c.do("PATCH", "/api/v1/hosts/"+mac, "", "application/json", `{"timezone":"UTC"}`); code != http.StatusUnauthorized {
		t.Fatalf("an edit without a token: %d %s", code, body)
	}
	wrongAPI := randomSecret(t, "nk_")
	secrets["wrong API token"] = wrongAPI
	if code, body := c.do("DELETE", "/api/v1/hosts/"+mac, wrongAPI, "", ""); code != http.StatusUnauthorized {
		t.Fatalf("a removal with a wrong token: %d %s", code, body)
	}
	urlPW := randomSecret(t, "urlpw")
	secrets["install URL password"] = urlPW
	if code, body := c.do("PUT", "/api/v1/profiles/refused", api, "application/json", `{"name":"refused","os":"rocky","version":"9.4","install_url":"ftp://mirror:`+urlPW+`@mirror.example.com/rocky/"}`); code != http.StatusBadRequest {
		t.Fatalf("a profile with an ftp:// install URL: %d %s", code, body)
	}
	// The BMC password, through the host's power settings (API and CLI).
	bmcPW := randomSecret(t, "bmc")[:19] // IPMI: at most 20 bytes
	secrets["BMC password"] = bmcPW
	c.must(200, "PATCH", "/api/v1/hosts/"+mac+"/bmc", api, `{"driver":"ipmi","address":"127.0.0.1","port":6230,"user":"admin","password":"`+bmcPW+`"}`)
	bmcPW2 := randomSecret(t, "cli")[:19]
	secrets["BMC password (CLI)"] = bmcPW2
	cli := exec.Command(bin, "--server", s.base, "host", "set", "ks01", "--bmc-user", "root", "--bmc-password-stdin")
	cli.Env = append(os.Environ(), "NETKICK_TOKEN="+api)
	cli.Stdin = strings.NewReader(bmcPW2 + "\n")
	if o, err := cli.CombinedOutput(); err != nil {
		t.Fatalf("host set --bmc-password-stdin: %v %s", err, o)
	} else if bytes.Contains(o, []byte(bmcPW2)) {
		t.Fatalf("host set printed the BMC password: %s", o)
	}
	// Build mode: the build token.
	var built struct{ Token string }
	if err := json.Unmarshal([]byte(c.must(200, "POST", "/api/v1/hosts/"+mac+"/build", api, "")), &built); err != nil || built.Token == "" {
		t.Fatalf("build: %v %+v", err, built)
	}
	secrets["build token"] = built.Token
	// The machine: a refused fetch with a wrong token, its configs over TFTP
	// and HTTP, the kickstart, the report.
	wrong := randomSecret(t, "wrongtoken")
	secrets["wrong token"] = wrong
	if code, _ := c.do("GET", "/ks/"+mac+"?token="+wrong, "", "", ""); code != http.StatusForbidden {
		t.Fatalf("kickstart with a wrong token: %d, want 403", code)
	}
	tftpGet(t, s.tftp, "pxelinux.cfg/01-52-54-00-6c-6f-01")
	if code, body := c.do("GET", "/boot.ipxe?mac="+url.QueryEscape(mac), "", "", ""); code != 200 {
		t.Fatalf("boot.ipxe: %d %s", code, body)
	}
	c.must(200, "GET", "/boot/pxelinux.cfg/01-52-54-00-6c-6f-01", "", "")
	ks := c.must(200, "GET", "/ks/"+mac+"?token="+url.QueryEscape(built.Token), "", "")
	if !strings.Contains(ks, presetHash) {
		t.Fatalf("the kickstart carries no root password hash:\n%s", ks)
	}
	c.must(200, "POST", "/api/v1/hosts/"+mac+"/built?token="+url.QueryEscape(built.Token), "", "")
	// The web page: log in with the API token, tag the host.
	code, form := c.do("GET", "/login", "", "", "")
	m := regexp.MustCompile(`name="csrf" value="([0-9a-f]+)"`).FindStringSubmatch(form)
	if code != 200 || m == nil {
		t.Fatalf("login form: %d\n%s", code, form)
	}
	secrets["login CSRF token"] = m[1]
	code, _ = c.do("POST", "/login", "", "application/x-www-form-urlencoded", url.Values{"csrf": {m[1]}, "token": {api}, "next": {"/hosts/" + mac}}.Encode())
	u, _ := url.Parse(s.base)
	var session string
	for _, ck := range c.hc.Jar.Cookies(u) {
		if ck.Name == "netkick_session" {
			session = ck.Value
		}
	}
	if code != 200 || session == "" {
		t.Fatalf("login: %d, session cookie %q", code, session)
	}
	secrets["web session"] = session
	_, page := c.do("GET", "/hosts/"+mac, "", "", "")
	m = regexp.MustCompile(`name="csrf" value="([0-9a-f]+)"`).FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("host page has no CSRF field:\n%s", page)
	}
	secrets["session CSRF token"] = m[1]
	if code, body := c.do("POST", "/hosts/"+mac+"/roles", "", "application/x-www-form-urlencoded", url.Values{"csrf": {m[1]}, "role": {"web"}, "op": {"tag"}}.Encode()); code >= 400 {
		t.Fatalf("web tag: %d %s", code, body)
	}
	// A form without the CSRF token: refused, and audited.
	if code, body := c.do("POST", "/hosts/"+mac+"/roles", "", "application/x-www-form-urlencoded", url.Values{"role": {"db"}, "op": {"tag"}}.Encode()); code != http.StatusForbidden {
		t.Fatalf("web tag without the CSRF token: %d %s", code, body)
	}
	return secrets
}

// tftpGet fetches one file with tftp-hpa.
func tftpGet(t *testing.T, port int, name string) []byte {
	t.Helper()
	bin := testenv.RequireProgram(t, "tftp")
	local := filepath.Join(t.TempDir(), "got")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if o, err := exec.CommandContext(ctx, bin, "-m", "binary", "127.0.0.1", strconv.Itoa(port), "-c", "get", name, local).CombinedOutput(); err != nil || len(o) > 0 {
		t.Fatalf("tftp get %s: %v %s", name, err, o)
	}
	b, _ := os.ReadFile(local)
	return b
}

// presetToken writes the admin token serve would make, so that serve does
// not print a new one.
func presetToken(t *testing.T) (data, token string) {
	t.Helper()
	data = t.TempDir()
	token = randomSecret(t, "admintoken")
	if err := os.WriteFile(filepath.Join(data, "admin.token"), []byte(token+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return data, token
}

// TestLogsRedactSecrets runs a day of provisioning (API calls with the admin
// token and a named token, password hashes, a host's root and BMC passwords, build mode, configs over TFTP and HTTP, the kickstart with
// its token, the install report, the web page) with every log line kept, in
// text and in JSON, and looks for each secret value in the log: none may
// appear. The access and audit lines it must find prove that the requests
// and changes were logged at all.
func TestLogsRedactSecrets(t *testing.T) {
	testenv.RequireProgram(t, "tftp")
	bin := buildNetkick(t)
	for _, format := range []string{"text", "json"} {
		t.Run(format, func(t *testing.T) {
			data, admin := presetToken(t)
			s := startLoggedServe(t, bin, data, "--log-format", format, "--log-level", "debug", "--token-binding", "off")
			secrets := provisioningRun(t, bin, s, admin)
			logb, _ := os.ReadFile(s.logPath)
			log := string(logb)
			for what, v := range secrets {
				if v == "" {
					t.Errorf("no %s was seen: the run did not exercise it", what)
					continue
				}
				if strings.Contains(log, v) {
					t.Errorf("the log holds the %s:\n%s", what, redactAll(grepLines(log, v), secrets))
				}
			}
			// What must be there: an access line per kickstart, boot config
			// (TFTP and HTTP) and API request; an audit line per change.
			for _, want := range accessAndAudit(format) {
				if !want.MatchString(log) {
					t.Errorf("no log line matches %s", want)
				}
			}
			if t.Failed() || os.Getenv("SHOWLOG") != "" {
				t.Logf("log (%d lines):\n%s", strings.Count(log, "\n"), redactAll(log, secrets))
			}
		})
	}
}

// accessAndAudit are patterns of lines the run must have logged.
func accessAndAudit(format string) []*regexp.Regexp {
	q := regexp.QuoteMeta
	if format == "json" {
		return []*regexp.Regexp{
			regexp.MustCompile(`"msg":"access","stage":"kickstart","method":"GET","path":"` + q("/ks/52:54:00:6c:6f:01?token=REDACTED") + `","status":200,"host":"ks01 \(52:54:00:6c:6f:01\)","source":"127.0.0.1","duration":`),
			regexp.MustCompile(`"msg":"access","stage":"kickstart","method":"GET","path":"` + q("/ks/52:54:00:6c:6f:01?token=REDACTED") + `","status":403`),
			regexp.MustCompile(`"msg":"access","stage":"boot_config","proto":"tftp","path":"pxelinux.cfg/01-52-54-00-6c-6f-01","status":"sent","host":"ks01 \(52:54:00:6c:6f:01\)"`),
			regexp.MustCompile(`"msg":"access","stage":"boot_config","method":"GET","path":"/boot.ipxe\?mac=52%3A54%3A00%3A6c%3A6f%3A01","status":200,"host":"ks01 \(52:54:00:6c:6f:01\)"`),
			regexp.MustCompile(`"msg":"access","stage":"api","method":"PATCH","path":"/api/v1/hosts/52:54:00:6c:6f:01/bmc","status":200.*"by":"API token ci-deploy"`),
			regexp.MustCompile(`"msg":"audit","by":"API token ci-deploy","op":"bmc set","host":"ks01 \(52:54:00:6c:6f:01\)"`),
			regexp.MustCompile(`"msg":"audit","by":"API token admin","op":"token add","target":"ci-deploy"`),
			regexp.MustCompile(`"msg":"audit","by":"API token admin","op":"profile put","target":"rocky-9.4"`),
			regexp.MustCompile(`"msg":"audit","by":"the machine at 127.0.0.1","op":"report built","host":"ks01 \(52:54:00:6c:6f:01\)"`),
			regexp.MustCompile(`"msg":"audit","by":"web user ci-deploy","op":"host roles","host":"ks01 \(52:54:00:6c:6f:01\)"`),
			// Refused changes: their audit lines, at warn, with the reason.
			regexp.MustCompile(`"level":"WARN","msg":"audit","by":"API token ci-deploy","op":"host set","host":"52:54:00:6c:6f:01","outcome":"refused","reason":"host ks01 changed since you read it`),
			regexp.MustCompile(`"level":"WARN","msg":"audit","by":"an unauthenticated client at 127.0.0.1","op":"PATCH /api/v1/hosts/:mac","host":"52:54:00:6c:6f:01","outcome":"refused","reason":"admin token missing or wrong"`),
			regexp.MustCompile(`"level":"WARN","msg":"audit","by":"an unauthenticated client at 127.0.0.1","op":"DELETE /api/v1/hosts/:mac","host":"52:54:00:6c:6f:01","outcome":"refused"`),
			regexp.MustCompile(`"level":"WARN","msg":"audit","by":"API token ci-deploy","op":"profile put","target":"refused","outcome":"refused","reason":"[^"]*install_url \\"ftp://mirror:REDACTED@mirror.example.com/rocky/\\"`),
			regexp.MustCompile(`"level":"WARN","msg":"audit","by":"the machine at 127.0.0.1","op":"kickstart fetch","host":"52:54:00:6c:6f:01","outcome":"refused","reason":"wrong token presented for host ks01"`),
			regexp.MustCompile(`"level":"WARN","msg":"audit","by":"web user ci-deploy","op":"POST /hosts/\{key\}/roles","host":"52:54:00:6c:6f:01","outcome":"refused","reason":"CSRF token missing or wrong"`),
		}
	}
	return []*regexp.Regexp{
		regexp.MustCompile(`msg=access stage=kickstart method=GET path="` + q("/ks/52:54:00:6c:6f:01?token=REDACTED") + `" status=200 host="ks01 \(52:54:00:6c:6f:01\)" source=127.0.0.1 duration=`),
		regexp.MustCompile(`msg=access stage=kickstart method=GET path="` + q("/ks/52:54:00:6c:6f:01?token=REDACTED") + `" status=403`),
		regexp.MustCompile(`msg=access stage=boot_config proto=tftp path=pxelinux.cfg/01-52-54-00-6c-6f-01 status=sent host="ks01 \(52:54:00:6c:6f:01\)"`),
		regexp.MustCompile(`msg=access stage=boot_config method=GET path="/boot.ipxe\?mac=52%3A54%3A00%3A6c%3A6f%3A01" status=200 host="ks01 \(52:54:00:6c:6f:01\)"`),
		regexp.MustCompile(`msg=access stage=api method=PATCH path=/api/v1/hosts/52:54:00:6c:6f:01/bmc status=200 .*by="API token ci-deploy"`),
		regexp.MustCompile(`msg=audit by="API token ci-deploy" op="bmc set" host="ks01 \(52:54:00:6c:6f:01\)"`),
		regexp.MustCompile(`msg=audit by="API token admin" op="token add" target=ci-deploy`),
		regexp.MustCompile(`msg=audit by="API token admin" op="profile put" target=rocky-9.4`),
		regexp.MustCompile(`msg=audit by="the machine at 127.0.0.1" op="report built" host="ks01 \(52:54:00:6c:6f:01\)"`),
		regexp.MustCompile(`msg=audit by="web user ci-deploy" op="host roles" host="ks01 \(52:54:00:6c:6f:01\)"`),
		regexp.MustCompile(`level=WARN msg=audit by="API token ci-deploy" op="host set" host=52:54:00:6c:6f:01 outcome=refused reason="host ks01 changed since you read it`),
		regexp.MustCompile(`level=WARN msg=audit by="an unauthenticated client at 127.0.0.1" op="PATCH /api/v1/hosts/:mac" host=52:54:00:6c:6f:01 outcome=refused reason="admin token missing or wrong"`),
		regexp.MustCompile(`level=WARN msg=audit by="an unauthenticated client at 127.0.0.1" op="DELETE /api/v1/hosts/:mac" host=52:54:00:6c:6f:01 outcome=refused`),
		regexp.MustCompile(`level=WARN msg=audit by="API token ci-deploy" op="profile put" target=refused outcome=refused reason="[^"]*install_url \\"ftp://mirror:REDACTED@mirror.example.com/rocky/\\"`),
		regexp.MustCompile(`level=WARN msg=audit by="the machine at 127.0.0.1" op="kickstart fetch" host=52:54:00:6c:6f:01 outcome=refused reason="wrong token presented for host ks01"`),
		regexp.MustCompile(`level=WARN msg=audit by="web user ci-deploy" op="POST /hosts/\{key\}/roles" host=52:54:00:6c:6f:01 outcome=refused reason="CSRF token missing or wrong"`),
	}
}

// redactAll replaces each secret in log, for printing the log of a failed
// run without leaking into the test output what the test looks for.
func redactAll(log string, secrets map[string]string) string {
	for what, v := range secrets {
		if v != "" {
			log = strings.ReplaceAll(log, v, "<"+what+">")
		}
	}
	return log
}

// grepLines returns the lines of log that contain v.
func grepLines(log, v string) string {
	var out []string
	sc := bufio.NewScanner(strings.NewReader(log))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		if strings.Contains(sc.Text(), v) {
			out = append(out, sc.Text())
		}
	}
	return strings.Join(out, "\n")
}

// TestMetricsPromtool checks the live /metrics of a running server, after
// the provisioning run's traffic, with Prometheus's own promtool, and that
// the exposition has the runtime, process, build and netkick families.
func TestMetricsPromtool(t *testing.T) {
	promtool := testenv.RequireProgram(t, "promtool")
	testenv.RequireProgram(t, "tftp")
	bin := buildNetkick(t)
	data, admin := presetToken(t)
	s := startLoggedServe(t, bin, data, "--token-binding", "off")
	provisioningRun(t, bin, s, admin)
	code, body := get(t, s.base+"/metrics")
	if code != 200 {
		t.Fatalf("/metrics: %d", code)
	}
	cmd := exec.Command(promtool, "check", "metrics")
	cmd.Stdin = strings.NewReader(body)
	if out, err := cmd.CombinedOutput(); err != nil || len(bytes.TrimSpace(out)) > 0 {
		t.Fatalf("promtool check metrics: %v\n%s\n--- /metrics:\n%s", err, out, body)
	}
	for _, want := range []string{
		"go_goroutines ", "go_memstats_heap_alloc_bytes ", "process_resident_memory_bytes ", "process_open_fds ",
		`netkick_build_info{commit="`,
		`netkick_renders_total{kind="kickstart",outcome="ok"} 1`,
		`netkick_renders_total{kind="kickstart",outcome="forbidden"} 1`,
		`netkick_http_request_duration_seconds_count{stage="kickstart"} 2`,
		`netkick_http_request_duration_seconds_count{stage="boot_config"} 2`,
		`netkick_http_request_duration_seconds_bucket{stage="api",le="+Inf"} `,
		`netkick_tftp_transfers_total{result="served"} 1`,
		`netkick_tftp_transfer_duration_seconds_count{kind="config"} 1`,
		`netkick_http_requests_total{code="200",route="/ks/:mac"} 1`,
		`netkick_render_seconds_count 1`,
		"netkick_store_up 1",
		`netkick_power_hosts{state="unread"} 1`,
		`netkick_http_connections{state="open"} `,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
	if t.Failed() {
		t.Logf("/metrics:\n%s", body)
	}
}

// TestServeDebugAddr: --debug-addr serves pprof on loopback, the main HTTP
// port does not, and an address other than loopback is refused at start
// unless --debug-allow-remote says so.
func TestServeDebugAddr(t *testing.T) {
	testenv.RequireProgram(t, "tftp")
	bin := buildNetkick(t)
	data, _ := presetToken(t)
	s := startLoggedServe(t, bin, data, "--debug-addr", "127.0.0.1:0")
	var debugURL string
	for deadline := time.Now().Add(5 * time.Second); debugURL == "" && time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		b, _ := os.ReadFile(s.logPath)
		if m := regexp.MustCompile(`serving pprof on (http://\S+/debug/pprof/)`).FindSubmatch(b); m != nil {
			debugURL = string(m[1])
		}
	}
	if !strings.HasPrefix(debugURL, "http://127.0.0.1:") {
		b, _ := os.ReadFile(s.logPath)
		t.Fatalf("no pprof address in the log:\n%s", b)
	}
	if code, body := get(t, debugURL); code != 200 || !strings.Contains(body, "goroutine") {
		t.Fatalf("%s: %d\n%s", debugURL, code, body)
	}
	if code, body := get(t, debugURL+"goroutine?debug=1"); code != 200 || !strings.Contains(body, "goroutine profile:") {
		t.Fatalf("goroutine profile: %d\n%s", code, body)
	}
	if code, body := get(t, s.base+"/debug/pprof/goroutine?debug=1"); code == 200 && strings.Contains(body, "goroutine profile:") {
		t.Fatal("the main HTTP port serves pprof")
	}

	for _, addr := range []string{"0.0.0.0:0", ":0"} {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		out, err := exec.CommandContext(ctx, bin, "serve", "--data", t.TempDir(), "--http", "127.0.0.1:0", "--tftp", "off", "--debug-addr", addr).CombinedOutput()
		cancel()
		if err == nil || !strings.Contains(string(out), "--debug-allow-remote") || !strings.Contains(string(out), "use a loopback address such as 127.0.0.1:6060") {
			t.Fatalf("serve --debug-addr %s: %v, want a refusal naming --debug-allow-remote:\n%s", addr, err, out)
		}
	}
}
