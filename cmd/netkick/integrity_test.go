package main

import (
	"encoding/json"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// api calls a running server's API with the admin token of data.
func api(t *testing.T, data, method, url, body string) (int, string) {
	t.Helper()
	tok, err := os.ReadFile(filepath.Join(data, "admin.token"))
	if err != nil {
		t.Fatal(err)
	}
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+strings.TrimSpace(string(tok)))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// fails runs the binary and wants exit status 1 with want in its output.
func fails(t *testing.T, bin, want string, args ...string) {
	t.Helper()
	out, err := exec.Command(bin, args...).CombinedOutput()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 1 || !strings.Contains(string(out), want) {
		t.Fatalf("netkick %s: %v\n%s\nwant exit 1 and %q", strings.Join(args, " "), err, out, want)
	}
}

func TestInventoryIntegrity(t *testing.T) {
	bin := buildNetkick(t)
	data := t.TempDir()
	base, demo := startServe(t, bin, data, "--demo")
	token := map[string]string{}
	for _, u := range demo {
		m := regexp.MustCompile(`/ks/([0-9a-f:]+)\?token=(\w+)`).FindStringSubmatch(u)
		token[m[1]] = m[2]
	}
	const a01, b02 = "52:54:00:4e:4b:01", "52:54:00:4e:4b:04"
	_, before := api(t, data, "GET", base+"/api/v1/hosts/a01", "")

	// Re-adding a01 is refused, and a01 is unchanged.
	fails(t, bin, "host a01 (52:54:00:4e:4b:01) already exists with MAC 52:54:00:4e:4b:01; nothing was changed",
		"host", "add", a01, "--hostname", "a01-new", "--data", data)
	fails(t, bin, "`host set`"[1:9], "host", "add", "52:54:00:aa:00:99", "--hostname", "a01", "--data", data)
	if _, after := api(t, data, "GET", base+"/api/v1/hosts/a01", ""); after != before {
		t.Fatalf("a01 changed:\n%s\n%s", before, after)
	}
	// Nonexistent references are refused.
	fails(t, bin, "profile nosuch does not exist", "host", "set", "a01", "--profile", "nosuch", "--data", data)
	fails(t, bin, "not an IANA zone", "host", "set", "a01", "--timezone", "Mars/Olympus", "--data", data)
	fails(t, bin, "param console=", "host", "set", "a01", "--param", "console=ttyS0;reboot", "--data", data)

	// host set changes only the timezone: roles, state and build token stay
	// (the kickstart is still served with the token from before).
	var h1, h2 map[string]any
	json.Unmarshal([]byte(before), &h1)
	out := run(t, bin, "host", "set", "a01", "--timezone", "Asia/Tokyo", "--server", base, "--token-file", filepath.Join(data, "admin.token"))
	if !strings.Contains(out, "updated a01") {
		t.Fatal(out)
	}
	_, after := api(t, data, "GET", base+"/api/v1/hosts/a01", "")
	json.Unmarshal([]byte(after), &h2)
	if h2["timezone"] != "Asia/Tokyo" || h2["state"] != h1["state"] || h2["token_expires"] != h1["token_expires"] || h2["cluster"] != "web" ||
		strings.Join(strs(h2["roles"]), " ") != "lvs-director" || h2["root_password_hash"] != h1["root_password_hash"] {
		t.Fatalf("host set changed more than the timezone:\n%s\n%s", before, after)
	}
	if code, body := get(t, base+"/ks/"+a01+"?token="+token[a01]); code != 200 || !strings.Contains(body, "Asia/Tokyo") {
		t.Fatalf("a01's kickstart with its old token after host set: %d\n%s", code, body)
	}
	if show := run(t, bin, "host", "show", "a01", "--data", data); !strings.Contains(show, "timezone America/Montreal -> Asia/Tokyo (by API token admin)") {
		t.Fatalf("timeline:\n%s", show)
	}

	// Deleting a used profile: 409 listing b02.
	code, body := api(t, data, "DELETE", base+"/api/v1/profiles/centos-7.9", "")
	if code != 409 || !strings.Contains(body, `"users":["host b02"]`) {
		t.Fatalf("delete used profile: %d %s", code, body)
	}

	// render kickstart is byte for byte what GET /ks/ serves.
	code, served := get(t, base+"/ks/"+b02+"?token="+token[b02])
	if code != 200 {
		t.Fatalf("b02 kickstart: %d", code)
	}
	if local := run(t, bin, "render", "kickstart", "b02", "--data", data); local != served {
		t.Fatalf("render differs from the served kickstart:\n--- render\n%s\n--- served\n%s", local, served)
	}

	// Import of an export round-trips; a host exported in build mode is
	// restored with a fresh token its boot entry carries, and it can fetch.
	exp := run(t, bin, "export", "--data", data)
	file := filepath.Join(t.TempDir(), "inv.yaml")
	os.WriteFile(file, []byte(exp), 0o600)
	data2 := t.TempDir()
	base2, _ := startServe(t, bin, data2, "--token-binding", "off") // the test machine is loopback, not a leased host
	dry := run(t, bin, "import", file, "--dry-run", "--server", base2, "--token-file", filepath.Join(data2, "admin.token"))
	if !strings.Contains(dry, "would be added: host b02") || !strings.Contains(dry, "dry run, nothing written") {
		t.Fatalf("dry run:\n%s", dry)
	}
	if code, body := api(t, data2, "GET", base2+"/api/v1/hosts", ""); code != 200 || strings.TrimSpace(body) != "[]" {
		t.Fatalf("dry run wrote: %s", body)
	}
	imp := run(t, bin, "import", file, "--server", base2, "--token-file", filepath.Join(data2, "admin.token"))
	if !strings.Contains(imp, "note: host b02 is restored in build mode with a fresh build token") {
		t.Fatalf("import:\n%s", imp)
	}
	if exp2 := run(t, bin, "export", "--data", data2); strings.ReplaceAll(exp2, "state: build", "state: installing") != strings.ReplaceAll(exp, "state: build", "state: installing") {
		t.Fatalf("export after import differs:\n%s\n---\n%s", exp, exp2)
	}
	pxe := run(t, bin, "render", "pxelinux", "b02", "--data", data2)
	ks := regexp.MustCompile(`ks=(\S+)`).FindStringSubmatch(pxe)
	if ks == nil || strings.Contains(ks[1], token[b02]) {
		t.Fatalf("b02's boot entry after import:\n%s", pxe)
	}
	if code, _ := get(t, ks[1]); code != 200 {
		t.Fatalf("restored building host cannot fetch %s: %d", ks[1], code)
	}

	// Named tokens name who made a change.
	secret := strings.Fields(run(t, bin, "token", "add", "ci-deploy", "--data", data2))[0]
	req, _ := http.NewRequest("PATCH", base2+"/api/v1/hosts/b02", strings.NewReader(`{"labels":{"rack":"r9"}}`))
	req.Header.Set("Authorization", "Bearer "+secret)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("PATCH with a named token %q: %s %s", secret, resp.Status, b)
	}
	if show := run(t, bin, "host", "show", "b02", "--data", data2); !strings.Contains(show, "label rack=r9 (by API token ci-deploy)") {
		t.Fatalf("timeline:\n%s", show)
	}
	if l := run(t, bin, "token", "list", "--data", data2); !strings.Contains(l, "ci-deploy") || strings.Contains(l, secret) {
		t.Fatalf("token list:\n%s", l)
	}
	run(t, bin, "token", "revoke", "ci-deploy", "--data", data2)
	req, _ = http.NewRequest("GET", base2+"/api/v1/hosts", nil)
	req.Header.Set("Authorization", "Bearer "+secret)
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != 401 {
		t.Fatalf("revoked token: %v %+v", err, resp)
	}
}

// TestRefusalsPerAddress: against the real server, 100 requests with a bad
// token from 127.0.0.2 are refused (401, then 429); the admin's token is then
// served from 127.0.0.1 and from 127.0.0.2 alike.
func TestRefusalsPerAddress(t *testing.T) {
	bin := buildNetkick(t)
	data := t.TempDir()
	base, _ := startServe(t, bin, data)
	tok, err := os.ReadFile(filepath.Join(data, "admin.token"))
	if err != nil {
		t.Fatal(err)
	}
	from := func(src string) *http.Client {
		d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(src)}}
		return &http.Client{Transport: &http.Transport{DialContext: d.DialContext}}
	}
	get := func(c *http.Client, token string) int {
		req, _ := http.NewRequest("GET", base+"/api/v1/hosts", nil)
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp.StatusCode
	}
	bad := from("127.0.0.2")
	codes := map[int]int{}
	for i := 0; i < 100; i++ {
		codes[get(bad, "not-the-token-not-the-token")]++
	}
	if codes[401]+codes[429] != 100 || codes[429] == 0 {
		t.Fatalf("100 bad tokens from 127.0.0.2: %v", codes)
	}
	admin := strings.TrimSpace(string(tok))
	if code := get(from("127.0.0.1"), admin); code != 200 {
		t.Fatalf("admin from 127.0.0.1: %d", code)
	}
	if code := get(bad, admin); code != 200 {
		t.Fatalf("admin from 127.0.0.2 after its refusals: %d", code)
	}
}

func strs(v any) []string {
	var out []string
	l, _ := v.([]any)
	for _, x := range l {
		s, _ := x.(string)
		out = append(out, s)
	}
	return out
}

func TestDerivePublicURL(t *testing.T) {
	for _, tc := range []struct {
		name, bound, dhcp string
		ifaces            []string
		want              string
	}{
		{"bound address", "192.0.2.1:8080", "", nil, "http://192.0.2.1:8080"},
		{"port 80 left out", "192.0.2.1:80", "", nil, "http://192.0.2.1"},
		{"all addresses, DHCP's wins", "[::]:8080", "192.0.2.1", []string{"198.51.100.7"}, "http://192.0.2.1:8080"},
		{"all addresses, first interface", "0.0.0.0:8080", "", []string{"198.51.100.7", "203.0.113.9"}, "http://198.51.100.7:8080"},
		{"nothing else: loopback", ":8080", "", nil, "http://127.0.0.1:8080"},
		{"ipv6 bound", "[2001:db8::1]:8080", "", nil, "http://[2001:db8::1]:8080"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := derivePublicURL(tc.bound, tc.dhcp, tc.ifaces); got != tc.want {
				t.Fatalf("got %s want %s", got, tc.want)
			}
		})
	}
}
