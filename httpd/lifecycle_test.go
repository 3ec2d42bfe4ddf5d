package httpd

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/netkick/netkick/inventory"
	"github.com/netkick/netkick/provision"
)

// realServer runs the handler on a loopback listener.
func realServer(t *testing.T) (*Server, inventory.Store, string) {
	t.Helper()
	s, st := newTestServer(t)
	ts := httptest.NewServer(s.Handler())
	t.Cleanup(ts.Close)
	return s, st, ts.URL
}

func httpDo(t *testing.T, method, url, body string, admin bool) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if admin {
		req.Header.Set("Authorization", "Bearer "+testToken)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestLifecycleInstallsOnce(t *testing.T) {
	_, st, base := realServer(t)
	ctx := context.Background()
	if err := st.PutHost(ctx, &inventory.Host{MACs: []string{"52:54:00:00:00:10"}, Hostname: "web1", Profile: "centos-5.3"}); err != nil {
		t.Fatal(err)
	}
	// A ready host's kickstart is not served.
	if code, _ := httpDo(t, "GET", base+"/ks/52:54:00:00:00:10", "", false); code != 403 {
		t.Fatalf("ready host: %d", code)
	}
	code, body := httpDo(t, "POST", base+"/api/v1/hosts/web1/build", "", true)
	if code != 200 {
		t.Fatalf("build: %d %s", code, body)
	}
	var br BuildResponse
	if err := json.Unmarshal([]byte(body), &br); err != nil || len(br.Token) != 32 || br.Host.State != inventory.StateBuild {
		t.Fatalf("build response: %v %s", err, body)
	}
	if strings.Contains(body, `"build_token"`) {
		t.Fatalf("host JSON leaks the stored token: %s", body)
	}
	code, ks := httpDo(t, "GET", base+"/ks/52-54-00-00-00-10?token="+br.Token, "", false)
	if code != 200 || !strings.Contains(ks, "/api/v1/hosts/52:54:00:00:00:10/built?token="+br.Token) {
		t.Fatalf("kickstart: %d\n%s", code, ks)
	}
	h, _ := st.GetHost(ctx, "web1")
	if h.State != inventory.StateInstalling {
		t.Fatalf("after fetch: %s", h.State)
	}
	// A refetch during the install is fine (anaconda retries), with the same token.
	if code, _ := httpDo(t, "GET", base+"/ks/52:54:00:00:00:10?token="+br.Token, "", false); code != 200 {
		t.Fatalf("refetch while installing: %d", code)
	}
	if code, body := httpDo(t, "POST", base+"/api/v1/hosts/52:54:00:00:00:10/built?token="+br.Token, "", false); code != 200 || !strings.Contains(body, "installed") {
		t.Fatalf("callback: %d %s", code, body)
	}
	h, _ = st.GetHost(ctx, "web1")
	if h.State != inventory.StateInstalled || h.BuildToken != "" {
		t.Fatalf("after callback: %s token=%q", h.State, h.BuildToken)
	}
	// The token is burnt: no second kickstart, no replayed callback.
	if code, _ := httpDo(t, "GET", base+"/ks/52:54:00:00:00:10?token="+br.Token, "", false); code != 403 {
		t.Fatalf("second fetch: %d", code)
	}
	if code, _ := httpDo(t, "POST", base+"/api/v1/hosts/52:54:00:00:00:10/built?token="+br.Token, "", false); code != 403 {
		t.Fatalf("replayed callback: %d", code)
	}
	code, body = httpDo(t, "GET", base+"/api/v1/hosts/web1/events", "", true)
	for _, kind := range []string{`"build"`, `"kickstart"`, `"built"`} {
		if code != 200 || !strings.Contains(body, kind) {
			t.Fatalf("timeline lacks %s: %s", kind, body)
		}
	}
}

func TestLifecycleFailureReport(t *testing.T) {
	_, st, base := realServer(t)
	ctx := context.Background()
	st.PutHost(ctx, &inventory.Host{MACs: []string{"52:54:00:00:00:11"}, Hostname: "web2", Profile: "centos-5.3"})
	h, err := startBuild(t, ctx, st, "web2", time.Hour, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	code, _ := httpDo(t, "POST", base+"/api/v1/hosts/52:54:00:00:00:11/failed?token="+h.BuildToken, "line1\nparted: no space left\n", false)
	if code != 200 {
		t.Fatalf("failed report: %d", code)
	}
	h, _ = st.GetHost(ctx, "web2")
	ev, _ := st.Events(ctx, h.ID(), 0)
	if h.State != inventory.StateFailed || !strings.Contains(ev[len(ev)-1].Detail, "no space left") {
		t.Fatalf("state %s events %+v", h.State, ev)
	}
}

func TestExpiredTokenAndWrongSource(t *testing.T) {
	_, st, base := realServer(t)
	ctx := context.Background()
	st.PutHost(ctx, &inventory.Host{MACs: []string{"52:54:00:00:00:12"}, Hostname: "old", Profile: "centos-5.3"})
	h, _ := startBuild(t, ctx, st, "old", time.Hour, time.Now().Add(-2*time.Hour)) // expired an hour ago
	if code, _ := httpDo(t, "GET", base+"/ks/52:54:00:00:00:12?token="+h.BuildToken, "", false); code != 403 {
		t.Fatalf("expired token: %d", code)
	}
	// A host with a reservation only gets its kickstart from that address (the test client is 127.0.0.1).
	st.PutHost(ctx, &inventory.Host{MACs: []string{"52:54:00:00:00:13"}, Hostname: "res", Profile: "centos-5.3", IP: "192.0.2.50"})
	h, _ = startBuild(t, ctx, st, "res", time.Hour, time.Now())
	if code, _ := httpDo(t, "GET", base+"/ks/52:54:00:00:00:13?token="+h.BuildToken, "", false); code != 403 {
		t.Fatalf("wrong source: %d", code)
	}
	st.PutHost(ctx, &inventory.Host{MACs: []string{"52:54:00:00:00:14"}, Hostname: "lo", Profile: "centos-5.3", IP: "127.0.0.1"})
	h, _ = startBuild(t, ctx, st, "lo", time.Hour, time.Now())
	if code, _ := httpDo(t, "GET", base+"/ks/52:54:00:00:00:14?token="+h.BuildToken, "", false); code != 200 {
		t.Fatalf("right source: %d", code)
	}
}

// TestHostileRequests throws requests an attacker on the provisioning network
// could send; every one is refused and the inventory is unchanged.
func TestHostileRequests(t *testing.T) {
	s, st, base := realServer(t)
	s.failures = newFailureLimiter(1000, time.Minute) // this test is about refusals, not the rate limit
	ctx := context.Background()
	st.PutHost(ctx, &inventory.Host{MACs: []string{"52:54:00:00:00:20"}, Hostname: "victim", Profile: "centos-5.3"})
	victim, _ := startBuild(t, ctx, st, "victim", time.Hour, time.Now())
	st.PutHost(ctx, &inventory.Host{MACs: []string{"52:54:00:00:00:21"}, Hostname: "other", Profile: "centos-5.3"})
	other, _ := startBuild(t, ctx, st, "other", time.Hour, time.Now())
	before, _ := inventory.Export(ctx, st)
	big := strings.Repeat("a", 2<<20)
	tests := []struct {
		name, method, path, body string
		admin                    bool
		status                   int
	}{
		{"kickstart no token", "GET", "/ks/52:54:00:00:00:20", "", false, 403},
		{"kickstart empty token", "GET", "/ks/52:54:00:00:00:20?token=", "", false, 403},
		{"kickstart short token", "GET", "/ks/52:54:00:00:00:20?token=" + victim.BuildToken[:8], "", false, 403},
		{"kickstart forged token", "GET", "/ks/52:54:00:00:00:20?token=" + strings.Repeat("0", 32), "", false, 403},
		{"kickstart token with suffix", "GET", "/ks/52:54:00:00:00:20?token=" + victim.BuildToken + "00", "", false, 403},
		{"kickstart another host's token", "GET", "/ks/52:54:00:00:00:20?token=" + other.BuildToken, "", false, 403},
		{"kickstart path traversal", "GET", "/ks/..%2f..%2fetc%2fpasswd", "", false, 400},
		{"kickstart MAC with shell", "GET", "/ks/52:54:00:00:00:2$(id)", "", false, 400},
		{"kickstart too-long MAC", "GET", "/ks/52:54:00:00:00:20:00", "", false, 400},
		{"callback without token", "POST", "/api/v1/hosts/52:54:00:00:00:20/built", "", false, 403},
		{"callback forged token", "POST", "/api/v1/hosts/52:54:00:00:00:20/built?token=" + strings.Repeat("f", 32), "", false, 403},
		{"callback another host's token", "POST", "/api/v1/hosts/52:54:00:00:00:20/built?token=" + other.BuildToken, "", false, 403},
		{"failure report forged", "POST", "/api/v1/hosts/52:54:00:00:00:20/failed?token=x", "boom", false, 403},
		{"callback bad MAC", "POST", "/api/v1/hosts/..%2fx/built?token=" + victim.BuildToken, "", false, 403},
		{"api list without admin", "GET", "/api/v1/hosts", "", false, 401},
		{"api build without admin", "POST", "/api/v1/hosts/victim/build", "", false, 401},
		{"api put without admin", "PUT", "/api/v1/hosts/52:54:00:00:00:30", `{"hostname":"x"}`, false, 401},
		{"api delete with build token as admin", "DELETE", "/api/v1/hosts/victim", "", false, 401},
		{"oversized body", "PUT", "/api/v1/hosts/52:54:00:00:00:30", `{"hostname":"` + big + `"}`, true, 413},
		{"label injection", "PUT", "/api/v1/hosts/52:54:00:00:00:30", `{"hostname":"x1","labels":{"a":"x\n%post\nreboot"}}`, true, 400},
		{"param injection key", "PUT", "/api/v1/hosts/52:54:00:00:00:30", `{"hostname":"x1","params":{"a;reboot":"1"}}`, true, 400},
		{"hostname injection", "PUT", "/api/v1/hosts/52:54:00:00:00:30", `{"hostname":"x$(reboot)"}`, true, 400},
		{"timezone injection", "PUT", "/api/v1/hosts/52:54:00:00:00:30", `{"hostname":"x1","timezone":"UTC;reboot"}`, true, 400},
		{"clear-text password", "PUT", "/api/v1/hosts/52:54:00:00:00:30", `{"hostname":"x1","root_password_hash":"secret"}`, true, 400},
		{"role injection", "POST", "/api/v1/hosts/victim/roles", `{"add":["$(reboot)"]}`, true, 400},
		{"not JSON", "PUT", "/api/v1/hosts/52:54:00:00:00:30", `hostname=x`, true, 400},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, body := httpDo(t, tc.method, base+tc.path, tc.body, tc.admin)
			if code != tc.status {
				t.Fatalf("%s %s: %d %s, want %d", tc.method, tc.path, code, body, tc.status)
			}
			if code == 403 && (strings.Contains(body, "token") && strings.Contains(body, victim.BuildToken)) {
				t.Fatalf("refusal leaks the token: %s", body)
			}
		})
	}
	after, _ := inventory.Export(ctx, st)
	a, _ := json.Marshal(before)
	b, _ := json.Marshal(after)
	if string(a) != string(b) {
		t.Fatalf("hostile requests changed the inventory:\n%s\n%s", a, b)
	}
	for _, mac := range []string{"52:54:00:00:00:20", "52:54:00:00:00:21"} {
		h, _ := st.GetHost(ctx, mac)
		if h.State != inventory.StateBuild {
			t.Fatalf("%s state changed to %s", mac, h.State)
		}
	}
	if len(tests) < 20 {
		t.Fatalf("want at least 20 hostile requests, have %d", len(tests))
	}
}

// TestRefusalLimitSparesValidTokens: refusals are counted per source
// address and only ever turn refusals into 429; the right token is served
// from any address, including the one that failed.
func TestRefusalLimitSparesValidTokens(t *testing.T) {
	s, st, _ := realServer(t)
	get := func(addr, token string) int {
		req := httptest.NewRequest("GET", "/api/v1/hosts", nil)
		req.RemoteAddr = addr + ":40000"
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		rec := httptest.NewRecorder()
		s.Handler().ServeHTTP(rec, req)
		return rec.Code
	}
	codes := map[int]int{}
	for i := 0; i < 100; i++ {
		codes[get("192.0.2.66", "wrong-token-wrong-token")]++
	}
	if codes[401] != 20 || codes[429] != 80 {
		t.Fatalf("100 bad tokens from one address: %v; want 20 x 401 then 429", codes)
	}
	if code := get("192.0.2.77", testToken); code != 200 {
		t.Fatalf("admin from another address: %d", code)
	}
	if code := get("192.0.2.66", testToken); code != 200 {
		t.Fatalf("admin from the refused address: %d", code)
	}
	// A named token too, and a host's own kickstart token.
	secret, err := s.prov.AddToken(context.Background(), provision.Actor{Via: "test"}, "ci")
	if err != nil {
		t.Fatal(err)
	}
	if code := get("192.0.2.66", secret); code != 200 {
		t.Fatalf("named token from the refused address: %d", code)
	}
	h, err := startBuild(t, context.Background(), st, "a01", time.Hour, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	req := httptest.NewRequest("GET", "/ks/"+h.ID()+"?token="+h.BuildToken, nil)
	req.RemoteAddr = "192.0.2.66:40001"
	rec := httptest.NewRecorder()
	s.Handler().ServeHTTP(rec, req)
	if rec.Code != 200 {
		t.Fatalf("host token from the refused address: %d %s", rec.Code, rec.Body)
	}
	if code := get("192.0.2.66", "still-wrong-still-wrong"); code != 429 {
		t.Fatalf("a bad token from the refused address: %d", code)
	}
}

// TestBootConfigFollowsLifecycle walks the whole flow through the boot files a
// PXE client reads: build → pxelinux/iPXE install entries with the token →
// kickstart → callback → local boot.
func TestBootConfigFollowsLifecycle(t *testing.T) {
	base, _, _, _ := newBootServer(t)
	mac := "52:54:00:4e:4b:01"
	cfgPath := "/boot/pxelinux.cfg/01-52-54-00-4e-4b-01"
	code, body := httpDo(t, "POST", base+"/api/v1/hosts/"+mac+"/build", "", true)
	var br BuildResponse
	if code != 200 || json.Unmarshal([]byte(body), &br) != nil {
		t.Fatalf("build: %d %s", code, body)
	}
	code, cfg := httpDo(t, "GET", base+cfgPath, "", false)
	if code != 200 || !strings.Contains(cfg, "ks=") || !strings.Contains(cfg, "token="+br.Token) || strings.Contains(cfg, "LOCALBOOT") {
		t.Fatalf("pxelinux config in build mode: %d\n%s", code, cfg)
	}
	code, ipxe := httpDo(t, "GET", base+"/boot.ipxe?mac=52-54-00-4E-4B-01", "", false)
	if code != 200 || !strings.Contains(ipxe, "kernel") || !strings.Contains(ipxe, "token="+br.Token) {
		t.Fatalf("iPXE script in build mode: %d\n%s", code, ipxe)
	}
	if code, _ := httpDo(t, "GET", base+"/ks/"+mac+"?token="+br.Token, "", false); code != 200 {
		t.Fatalf("kickstart: %d", code)
	}
	if code, _ := httpDo(t, "POST", base+"/api/v1/hosts/"+mac+"/built?token="+br.Token, "", false); code != 200 {
		t.Fatalf("callback: %d", code)
	}
	code, cfg = httpDo(t, "GET", base+cfgPath, "", false)
	if code != 200 || !strings.Contains(cfg, "LOCALBOOT 0") || strings.Contains(cfg, br.Token) {
		t.Fatalf("pxelinux config after the install: %d\n%s", code, cfg)
	}
	code, ipxe = httpDo(t, "GET", base+"/boot.ipxe?mac="+mac, "", false)
	if code != 200 || strings.Contains(ipxe, "kernel") || !(strings.Contains(ipxe, "exit") || strings.Contains(ipxe, "sanboot")) {
		t.Fatalf("iPXE script after the install: %d\n%s", code, ipxe)
	}
	if code, _ := httpDo(t, "GET", base+"/ks/"+mac+"?token="+br.Token, "", false); code != 403 {
		t.Fatalf("kickstart after the install: %d", code)
	}
}

func TestCancelBuildAPI(t *testing.T) {
	_, st, base := realServer(t)
	ctx := context.Background()
	if err := st.PutHost(ctx, &inventory.Host{MACs: []string{"52:54:00:00:00:12"}, Hostname: "web3", Profile: "centos-5.3"}); err != nil {
		t.Fatal(err)
	}
	if code, body := httpDo(t, "DELETE", base+"/api/v1/hosts/web3/build", "", true); code != 400 && code != 409 {
		t.Fatalf("cancel of a ready host: %d %s, want a refusal", code, body)
	}
	if code, _ := httpDo(t, "DELETE", base+"/api/v1/hosts/web3/build", "", false); code != 401 {
		t.Fatalf("cancel without the admin token: %d, want 401", code)
	}
	code, body := httpDo(t, "POST", base+"/api/v1/hosts/web3/build", "", true)
	var br BuildResponse
	if code != 200 || json.Unmarshal([]byte(body), &br) != nil {
		t.Fatalf("build: %d %s", code, body)
	}
	code, body = httpDo(t, "DELETE", base+"/api/v1/hosts/web3/build", "", true)
	if code != 200 || !strings.Contains(body, `"state":"ready"`) {
		t.Fatalf("cancel: %d %s", code, body)
	}
	if code, _ := httpDo(t, "GET", base+"/ks/52:54:00:00:00:12?token="+br.Token, "", false); code != 403 {
		t.Fatalf("kickstart after cancel: %d, want 403", code)
	}
	h, _ := st.GetHost(ctx, "web3")
	if h.State != inventory.StateReady || h.BuildToken != "" {
		t.Fatalf("after cancel: %s token %q", h.State, h.BuildToken)
	}
	code, body = httpDo(t, "GET", base+"/api/v1/hosts/web3/events", "", true)
	if code != 200 || !strings.Contains(body, `"cancel"`) || !strings.Contains(body, "build cancelled by API token") {
		t.Fatalf("timeline lacks the cancel: %s", body)
	}
}
