package httpd

import (
	"bufio"
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/netkick/netkick/inventory"
	"github.com/netkick/netkick/kickstart"
)

// webServer runs a server with short timeouts and a small per-client cap
// on loopback, and returns its base URL.
func webServer(t *testing.T, limits Limits) (string, inventory.Store) {
	t.Helper()
	st, err := inventory.OpenSQLite(filepath.Join(t.TempDir(), "inventory.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if err := st.PutHost(context.Background(), &inventory.Host{MACs: []string{"52:54:00:4e:4b:01"}, Hostname: "a01", State: inventory.StateReady}); err != nil {
		t.Fatal(err)
	}
	r, err := kickstart.New(kickstart.Options{})
	if err != nil {
		t.Fatal(err)
	}
	s, err := New(Options{Store: st, Renderer: r, AdminToken: testToken, Logger: slog.New(slog.NewTextHandler(testWriter{t}, nil)),
		Limits: limits, WebHeartbeat: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	ready := make(chan string, 1)
	go func() { done <- s.ServeListener(ctx, ln, func(a string) { ready <- a }) }()
	t.Cleanup(func() { cancel(); <-done })
	return "http://" + <-ready, st
}

var csrfRE = regexp.MustCompile(`name="csrf" value="([0-9a-f]+)"`)

// webLogin logs a client in through the login form.
func webLogin(t *testing.T, base string) *http.Client {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, Transport: &http.Transport{DisableKeepAlives: true}}
	r, err := c.Get(base + "/login")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(r.Body)
	r.Body.Close()
	m := csrfRE.FindSubmatch(b)
	if m == nil {
		t.Fatalf("no CSRF field in the login form:\n%s", b)
	}
	r, err = c.PostForm(base+"/login", url.Values{"csrf": {string(m[1])}, "token": {testToken}, "next": {"/"}})
	if err != nil {
		t.Fatal(err)
	}
	r.Body.Close()
	if r.StatusCode != 200 || r.Request.URL.Path != "/" {
		t.Fatalf("login ended at %s with %s", r.Request.URL, r.Status)
	}
	return c
}

// TestWebEventStream: the page's event stream outlives the read and idle
// timeouts (heartbeats keep coming) but counts against the per-client cap.
func TestWebEventStream(t *testing.T) {
	base, _ := webServer(t, Limits{ReadTimeout: 300 * time.Millisecond, IdleTimeout: 300 * time.Millisecond,
		ReadHeaderTimeout: 300 * time.Millisecond, MaxConnsPerClient: 2})
	c := webLogin(t, base)
	open := func() (*http.Response, *bufio.Reader) {
		r, err := c.Get(base + "/web/events?host=52:54:00:4e:4b:01&last=0")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { r.Body.Close() })
		if ct := r.Header.Get("Content-Type"); r.StatusCode != 200 || ct != "text/event-stream" {
			t.Fatalf("event stream: %s, %s", r.Status, ct)
		}
		return r, bufio.NewReader(r.Body)
	}
	r1, br := open()
	start := time.Now()
	beats := 0
	for time.Since(start) < time.Second {
		line, err := br.ReadString('\n')
		if err != nil {
			t.Fatalf("stream ended after %v (timeouts 300ms): %v", time.Since(start), err)
		}
		if strings.HasPrefix(line, ": heartbeat") {
			beats++
		}
	}
	if beats < 3 {
		t.Fatalf("%d heartbeats in 1s at 100ms, want several", beats)
	}
	r2, _ := open()
	// Two streams hold this address's two connections: a third is closed at accept.
	if resp, err := (&http.Client{Transport: &http.Transport{DisableKeepAlives: true}, Timeout: 2 * time.Second}).Get(base + "/healthz"); err == nil {
		resp.Body.Close()
		t.Fatalf("a third connection from the same address was served (%s); want it refused by the per-client cap", resp.Status)
	}
	r1.Body.Close()
	r2.Body.Close()
	deadline := time.Now().Add(3 * time.Second)
	for {
		resp, err := http.Get(base + "/healthz")
		if err == nil {
			resp.Body.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("closed streams did not give their connections back: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestWebForms: headers, login, CSRF and the redirect to the login form.
func TestWebForms(t *testing.T) {
	base, st := webServer(t, Limits{})
	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	r, err := noRedirect.Get(base + "/hosts/a01")
	if err != nil {
		t.Fatal(err)
	}
	r.Body.Close()
	if loc := r.Header.Get("Location"); r.StatusCode != http.StatusSeeOther || loc != "/login?next=%2Fhosts%2Fa01" {
		t.Fatalf("a page without a session: %s to %q, want 303 to the login form", r.Status, loc)
	}
	if csp := r.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "script-src 'self'") || strings.Contains(csp, "unsafe-inline") ||
		r.Header.Get("X-Frame-Options") != "DENY" {
		t.Fatalf("headers: CSP %q, X-Frame-Options %q", csp, r.Header.Get("X-Frame-Options"))
	}
	c := webLogin(t, base)
	for _, tc := range []struct{ name, csrf string }{{"no CSRF field", ""}, {"wrong CSRF", strings.Repeat("0", 64)}} {
		t.Run(tc.name, func(t *testing.T) {
			form := url.Values{}
			if tc.csrf != "" {
				form.Set("csrf", tc.csrf)
			}
			r, err := c.PostForm(base+"/hosts/a01/build", form)
			if err != nil {
				t.Fatal(err)
			}
			r.Body.Close()
			if r.StatusCode != http.StatusForbidden {
				t.Fatalf("POST with %s: %s, want 403", tc.name, r.Status)
			}
			if h, _ := st.GetHost(context.Background(), "a01"); h.State != inventory.StateReady {
				t.Fatalf("POST with %s changed a01 to %s", tc.name, h.State)
			}
		})
	}
	// The page's own form (with its CSRF token) does build.
	r, err = c.Get(base + "/hosts/a01")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(r.Body)
	r.Body.Close()
	m := csrfRE.FindSubmatch(b)
	r, err = c.PostForm(base+"/hosts/a01/build", url.Values{"csrf": {string(m[1])}})
	if err != nil {
		t.Fatal(err)
	}
	r.Body.Close()
	if h, _ := st.GetHost(context.Background(), "a01"); r.StatusCode != 200 || h.State != inventory.StateBuild {
		t.Fatalf("build from the page: %s, state %s", r.Status, h.State)
	}
	// The page of a host in build mode offers the cancel; it needs the CSRF token too.
	r, err = c.Get(base + "/hosts/a01")
	if err != nil {
		t.Fatal(err)
	}
	b, _ = io.ReadAll(r.Body)
	r.Body.Close()
	if !strings.Contains(string(b), `/build/cancel"`) {
		t.Fatalf("host page in build mode has no cancel form:\n%s", b)
	}
	if r, err = c.PostForm(base+"/hosts/a01/build/cancel", url.Values{}); err != nil {
		t.Fatal(err)
	}
	r.Body.Close()
	if h, _ := st.GetHost(context.Background(), "a01"); r.StatusCode != http.StatusForbidden || h.State != inventory.StateBuild {
		t.Fatalf("cancel without CSRF: %s, state %s; want 403 and build", r.Status, h.State)
	}
	m = csrfRE.FindSubmatch(b)
	if r, err = c.PostForm(base+"/hosts/a01/build/cancel", url.Values{"csrf": {string(m[1])}}); err != nil {
		t.Fatal(err)
	}
	r.Body.Close()
	if h, _ := st.GetHost(context.Background(), "a01"); r.StatusCode != 200 || h.State != inventory.StateReady || h.BuildToken != "" {
		t.Fatalf("cancel from the page: %s, state %s, token %q", r.Status, h.State, h.BuildToken)
	}
	// A wrong token does not log in.
	jar, _ := cookiejar.New(nil)
	c2 := &http.Client{Jar: jar}
	r, _ = c2.Get(base + "/login")
	b, _ = io.ReadAll(r.Body)
	r.Body.Close()
	m = csrfRE.FindSubmatch(b)
	r, err = c2.PostForm(base+"/login", url.Values{"csrf": {string(m[1])}, "token": {"not-the-token-at-all"}})
	if err != nil {
		t.Fatal(err)
	}
	r.Body.Close()
	if r.StatusCode != http.StatusUnauthorized {
		t.Fatalf("login with a wrong token: %s, want 401", r.Status)
	}
}

// TestHostsQueryAPI: the hosts table's JSON twin.
func TestHostsQueryAPI(t *testing.T) {
	s, st := newTestServer(t)
	ctx := context.Background()
	for _, h := range []inventory.Host{
		{MACs: []string{"52:54:00:4e:4b:02"}, Hostname: "a02", Labels: map[string]string{"rack": "r1"}},
		{MACs: []string{"52:54:00:4e:4b:03"}, Hostname: "b01", Labels: map[string]string{"rack": "r2"}},
	} {
		if err := st.PutHost(ctx, &h); err != nil {
			t.Fatal(err)
		}
	}
	rec := s.do(call{method: "GET", path: "/api/v1/hosts?label=rack&sort=-hostname&per_page=1&page=2", auth: true})
	if rec.Code != 200 || !strings.Contains(rec.Body.String(), `"hostname":"a02"`) || rec.Header().Get("X-Total-Count") != "2" || rec.Header().Get("X-Pages") != "2" {
		t.Fatalf("label query: %d %s %v", rec.Code, rec.Body, rec.Header())
	}
	if rec := s.do(call{method: "GET", path: "/api/v1/hosts?sort=nope", auth: true}); rec.Code != 400 {
		t.Fatalf("unknown sort: %d", rec.Code)
	}
	if rec := s.do(call{method: "GET", path: "/api/v1/summary", auth: true}); rec.Code != 200 || !strings.Contains(rec.Body.String(), `"hosts":3`) || !strings.Contains(rec.Body.String(), `"build":1`) {
		t.Fatalf("summary: %d %s", rec.Code, rec.Body)
	}
	if rec := s.do(call{method: "GET", path: "/api/v1/layouts/home-opt/plan?disk=500G", auth: true}); rec.Code != 200 || !strings.Contains(rec.Body.String(), `"Mount":"/home"`) {
		t.Fatalf("layout plan: %d %s", rec.Code, rec.Body)
	}
	if rec := s.do(call{method: "GET", path: "/api/v1/layouts/home-opt/plan", auth: true}); rec.Code != 400 {
		t.Fatalf("layout plan without disks: %d", rec.Code)
	}
}
