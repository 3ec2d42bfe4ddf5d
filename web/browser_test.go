package web_test

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/netkick/netkick/internal/ipmisim"
	"github.com/netkick/netkick/internal/testenv"
	"github.com/netkick/netkick/inventory"
)

var updateShots = flag.Bool("update", false, "write the current screenshots named web-* to docs/")

// demo is a running `netkick serve --demo` on loopback.
type demo struct {
	base, token string
	data        string // its data directory
}

// startDemo builds netkick and runs `serve --demo` on a free loopback port;
// the process group is killed in t.Cleanup.
func startDemo(t *testing.T) *demo {
	t.Helper()
	dir := t.TempDir()
	bin := filepath.Join(dir, "netkick")
	build := exec.Command("go", "build", "-o", bin, "../cmd/netkick")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build ./cmd/netkick: %v\n%s", err, out)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	data := filepath.Join(dir, "data")
	cmd := exec.Command(bin, "serve", "--demo", "--data", data, "--http", addr, "--tftp", "off")
	log, err := os.Create(filepath.Join(dir, "serve.log"))
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = log, log
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		_ = cmd.Wait()
		log.Close()
		if t.Failed() {
			b, _ := os.ReadFile(log.Name())
			t.Logf("serve log:\n%s", b)
		}
	})
	d := &demo{base: "http://" + addr, data: data}
	deadline := time.Now().Add(30 * time.Second)
	for {
		r, err := http.Get(d.base + "/healthz")
		if err == nil {
			r.Body.Close()
			if tok, err := os.ReadFile(filepath.Join(data, "admin.token")); err == nil && r.StatusCode == 200 {
				d.token = strings.TrimSpace(string(tok))
				return d
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("netkick serve --demo did not answer /healthz on %s within 30s", addr)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// api calls the admin API and decodes a JSON answer into out (if not nil).
func (d *demo) api(t *testing.T, method, path, body string, hdr map[string]string, out any) *http.Response {
	t.Helper()
	req, err := http.NewRequest(method, d.base+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+d.token)
	req.Header.Set("Content-Type", "application/json")
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	r, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Body.Close()
	b, _ := io.ReadAll(r.Body)
	if r.StatusCode >= 300 {
		t.Fatalf("%s %s: %s: %s", method, path, r.Status, b)
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			if s, ok := out.(*string); ok {
				*s = string(b)
			} else {
				t.Fatalf("%s %s: decode %q: %v", method, path, b, err)
			}
		}
	}
	return r
}

// browser starts one headless Chromium for the suite; its process is ended in t.Cleanup.
func browser(t *testing.T) context.Context {
	t.Helper()
	exe := testenv.RequireProgram(t, "chromium")
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(exe), chromedp.UserDataDir(t.TempDir()), chromedp.WindowSize(1400, 900),
		chromedp.Flag("headless", true), chromedp.Flag("no-sandbox", true), chromedp.Flag("disable-gpu", true),
		chromedp.Flag("disable-background-networking", true), chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true), chromedp.Flag("no-first-run", true), chromedp.Flag("no-default-browser-check", true),
	}
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(actx)
	t.Cleanup(func() { cancel(); cancelAlloc() })
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	return ctx
}

func shot(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	png := get(t, ctx, chromedp.FullScreenshot(100))
	p := filepath.Join(t.TempDir(), name+".png")
	if err := os.WriteFile(p, png, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot %s", p)
	if *updateShots && strings.HasPrefix(name, "web-") {
		if err := os.WriteFile(filepath.Join("..", "docs", name+".png"), png, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// do runs browser steps, each group bounded to 20s.
func do(t *testing.T, ctx context.Context, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	c, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	if err := chromedp.Do(c, steps...); err != nil {
		t.Fatal(err)
	}
}

// get runs one browser action and returns its value.
func get[T any](t *testing.T, ctx context.Context, a chromedp.Action[T]) T {
	t.Helper()
	c, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	v, err := chromedp.Run(c, a)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func css(s string) chromedp.CSS { return chromedp.CSS(s) }

// submit clicks a form's button and waits for the next page to hold sel:
// a mark set on the old page tells the pages apart.
func submit(t *testing.T, ctx context.Context, button, sel string) {
	t.Helper()
	get(t, ctx, chromedp.Evaluate[int](`window.oldPage = 1`))
	do(t, ctx, chromedp.Click(css(button)))
	waitJS(t, ctx, fmt.Sprintf(`!window.oldPage && document.readyState === "complete" && !!document.querySelector(%q)`, sel))
	settle(t, ctx, sel)
}

// settle waits until chromedp's own view of the page reaches the new
// document: a node it found in the page a navigation replaced answers
// "Inspected target navigated or closed", so the next step could fail
// although the page itself is ready.
func settle(t *testing.T, ctx context.Context, sel string) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		c, cancel := context.WithTimeout(ctx, 5*time.Second)
		_, err := chromedp.Run(c, chromedp.Text(css(sel)))
		cancel()
		if err == nil {
			return
		}
		if !strings.Contains(err.Error(), "navigated or closed") || time.Now().After(deadline) {
			t.Fatalf("%s on the new page: %v", sel, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// waitJS waits up to 20s for a script condition to hold on the page.
func waitJS(t *testing.T, ctx context.Context, cond string) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !get(t, ctx, chromedp.Evaluate[bool](cond)) {
		if time.Now().After(deadline) {
			t.Fatalf("still false after 20s: %s", cond)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func hostnames(t *testing.T, ctx context.Context) string {
	return strings.Join(get(t, ctx, chromedp.Evaluate[[]string](`Array.from(document.querySelectorAll("#hosts tbody td.hostname")).map(e => e.textContent)`)), " ")
}

var macs = map[string]string{"a01": "52:54:00:4e:4b:01", "a02": "52:54:00:4e:4b:02", "b01": "52:54:00:4e:4b:03", "b02": "52:54:00:4e:4b:04"}

// TestBrowser drives a real Chromium against a real `netkick serve --demo`:
// one server and one browser for every step, in order.
func TestBrowser(t *testing.T) {
	d := startDemo(t)
	ctx := browser(t)

	t.Run("login", func(t *testing.T) {
		do(t, ctx, chromedp.Navigate(d.base+"/"), chromedp.WaitVisible(css("#token")))
		if url := get(t, ctx, chromedp.Location()); !strings.Contains(url, "/login") {
			t.Fatalf("/ without a session went to %s, want the login page", url)
		}
		do(t, ctx, chromedp.SendKeys(css("#token"), d.token))
		submit(t, ctx, "#login", "#hosts")
		if got := hostnames(t, ctx); got != "a01 a02 b01 b02" {
			t.Fatalf("hosts table lists %q, want the demo's a01 a02 b01 b02", got)
		}
		shot(t, ctx, "web-hosts")
	})

	t.Run("filter-by-role", func(t *testing.T) {
		do(t, ctx, chromedp.SetValue(css("#f-role"), "lvs-director"))
		submit(t, ctx, "#filter", `#f-role[value="lvs-director"]`)
		if got := hostnames(t, ctx); got != "a01 a02" {
			t.Fatalf("role lvs-director lists %q, want a01 a02", got)
		}
		shot(t, ctx, "filter")
	})

	roles := func(t *testing.T) string { return strings.TrimSpace(get(t, ctx, chromedp.Text(css("#roles")))) }
	t.Run("untag-tag-b01", func(t *testing.T) {
		do(t, ctx, chromedp.Navigate(d.base+"/hosts/"+macs["b01"]), chromedp.WaitVisible(css("#roleform")),
			chromedp.SetValue(css("#r-role"), "lvs-real-server"))
		submit(t, ctx, "#untag", "#notice")
		if r := roles(t); r != "none" {
			t.Fatalf("after untag b01 has roles %q", r)
		}
		do(t, ctx, chromedp.SetValue(css("#r-role"), "lvs-real-server"))
		submit(t, ctx, "#tag", "#notice")
		if r := roles(t); r != "lvs-real-server" {
			t.Fatalf("after tag b01 has roles %q", r)
		}
		var h struct{ Roles []string }
		d.api(t, "GET", "/api/v1/hosts/b01", "", nil, &h)
		if strings.Join(h.Roles, ",") != "lvs-real-server" {
			t.Fatalf("the API says b01 has roles %v", h.Roles)
		}
		shot(t, ctx, "tag")
	})

	t.Run("build-live", func(t *testing.T) {
		mac := macs["a01"]
		do(t, ctx, chromedp.Navigate(d.base+"/hosts/"+mac), chromedp.WaitVisible(css("#buildform")))
		submit(t, ctx, "#build", "#notice")
		do(t, ctx, chromedp.WaitVisible(css(`body[data-live="open"]`)))
		get(t, ctx, chromedp.Evaluate[int](`window.noReload = 1`))
		if st := get(t, ctx, chromedp.Text(css("#state"))); st != "build" {
			t.Fatalf("after build a01 shows state %q", st)
		}
		// The simulated machine: its token is in what it is served (the
		// demo runs with --token-binding off, so loopback may fetch).
		var ipxe string
		d.api(t, "GET", "/api/v1/hosts/"+mac+"/render/ipxe", "", nil, &ipxe)
		m := regexp.MustCompile(`token=([0-9a-f]+)`).FindStringSubmatch(ipxe)
		if m == nil {
			t.Fatalf("no token in a01's iPXE script:\n%s", ipxe)
		}
		r, err := http.Get(d.base + "/ks/" + mac + "?token=" + m[1])
		if err != nil {
			t.Fatal(err)
		}
		r.Body.Close()
		if r.StatusCode != 200 {
			t.Fatalf("kickstart fetch: %s", r.Status)
		}
		do(t, ctx, chromedp.WaitVisible(css(`#state.state-installing`)))
		r, err = http.Post(d.base+"/api/v1/hosts/"+mac+"/built?token="+m[1], "text/plain", strings.NewReader("ok"))
		if err != nil {
			t.Fatal(err)
		}
		r.Body.Close()
		if r.StatusCode >= 300 {
			t.Fatalf("install report: %s", r.Status)
		}
		do(t, ctx, chromedp.WaitVisible(css(`#state.state-installed`)), chromedp.WaitVisible(css(`#timeline li[data-id] b`)))
		if n := get(t, ctx, chromedp.Evaluate[int](`window.noReload || 0`)); n != 1 {
			t.Fatal("the page reloaded; the state should change live")
		}
		if first := get(t, ctx, chromedp.Text(css(`#timeline li:first-child b`))); first != "built" {
			t.Fatalf("newest timeline entry is %q, want built", first)
		}
		shot(t, ctx, "web-host")
	})

	t.Run("conflict", func(t *testing.T) {
		mac := macs["a02"]
		do(t, ctx, chromedp.Navigate(d.base+"/hosts/"+mac), chromedp.WaitVisible(css("#edit")))
		d.api(t, "PATCH", "/api/v1/hosts/"+mac, `{"timezone": "Asia/Tokyo"}`, nil, nil)
		do(t, ctx, chromedp.SetValue(css("#e-timezone"), "Europe/Paris"))
		submit(t, ctx, "#save", "#problem")
		p, tz := get(t, ctx, chromedp.Text(css("#problem"))), get(t, ctx, chromedp.Value(css("#e-timezone")))
		if !strings.Contains(p, "Conflict") || tz != "Asia/Tokyo" {
			t.Fatalf("concurrent edit: banner %q, timezone field %q; want a conflict and the API's Asia/Tokyo", p, tz)
		}
		var h struct{ Timezone string }
		d.api(t, "GET", "/api/v1/hosts/"+mac, "", nil, &h)
		if h.Timezone != "Asia/Tokyo" {
			t.Fatalf("the API's change was overwritten: timezone %q", h.Timezone)
		}
		shot(t, ctx, "conflict")
	})

	t.Run("script-label-is-text", func(t *testing.T) {
		mac := macs["b02"]
		const evil = `<script>document.title="owned"</script><img src=x onerror="document.title='owned'">`
		do(t, ctx, chromedp.Navigate(d.base+"/hosts/"+mac), chromedp.WaitVisible(css("#edit")),
			chromedp.SetValue(css("#e-labels"), "note="+evil))
		submit(t, ctx, "#save", "#notice")
		do(t, ctx, chromedp.Navigate(d.base+"/?q=b02"), chromedp.WaitVisible(css("#hosts")))
		label := get(t, ctx, chromedp.Text(css(`tr[data-mac="`+mac+`"] td.labels`)))
		injected := get(t, ctx, chromedp.Evaluate[int](`document.querySelectorAll("#hosts script, #hosts img").length`))
		title := get(t, ctx, chromedp.Title())
		if !strings.Contains(label, evil) || injected != 0 || title == "owned" {
			t.Fatalf("label shown as %q, %d injected elements, title %q: want the label as text", label, injected, title)
		}
		shot(t, ctx, "escaped")
	})

	t.Run("post-without-csrf", func(t *testing.T) {
		var before []json.RawMessage
		d.api(t, "GET", "/api/v1/hosts/b02/events", "", nil, &before)
		status := get(t, ctx, chromedp.Evaluate[int](fmt.Sprintf(`fetch("/hosts/%s/build", {method: "POST", body: new URLSearchParams({x: "1"})}).then(r => r.status)`, macs["b02"]),
			chromedp.EvalAwaitPromise))
		if status != http.StatusForbidden {
			t.Fatalf("POST without the CSRF token answered %d, want 403", status)
		}
		var after []json.RawMessage
		d.api(t, "GET", "/api/v1/hosts/b02/events", "", nil, &after)
		if len(after) != len(before) {
			t.Fatalf("a POST without the CSRF token changed b02: %s", after[len(after)-1])
		}
	})

	t.Run("rows-live-and-one-page", func(t *testing.T) {
		do(t, ctx, chromedp.Navigate(d.base+"/"), chromedp.WaitVisible(css(`body[data-live="open"]`)))
		get(t, ctx, chromedp.Evaluate[int](`window.noReload = 1`))
		d.api(t, "PATCH", "/api/v1/hosts/b01", `{"labels": {"rack": "r7"}}`, nil, nil)
		waitJS(t, ctx, `document.querySelector('tr[data-mac="`+macs["b01"]+`"] td.labels').textContent.includes("rack=r7")`)
		if n := get(t, ctx, chromedp.Evaluate[int](`window.noReload || 0`)); n != 1 {
			t.Fatal("the hosts page reloaded; rows should change live")
		}
		// 60 more hosts: the DOM holds one page of 50 rows, the rest is a page away.
		for i := range 60 {
			d.api(t, "POST", "/api/v1/hosts", fmt.Sprintf(`{"macs": ["52:54:00:aa:00:%02x"], "hostname": "n%02d"}`, i, i), nil, nil)
		}
		do(t, ctx, chromedp.Navigate(d.base+"/"), chromedp.WaitVisible(css("#hosts")))
		if n := get(t, ctx, chromedp.Evaluate[int](`document.querySelectorAll("#hosts tbody tr").length`)); n != 50 {
			t.Fatalf("the DOM holds %d rows of 64 hosts, want one page of 50", n)
		}
		submit(t, ctx, `a[rel="next"]`, `a[rel="prev"]`)
		if n := get(t, ctx, chromedp.Evaluate[int](`document.querySelectorAll("#hosts tbody tr").length`)); n != 14 {
			t.Fatalf("page 2 holds %d rows, want 14", n)
		}
	})

	t.Run("keyboard-and-labels", func(t *testing.T) {
		do(t, ctx, chromedp.Navigate(d.base+"/hosts/"+macs["b02"]), chromedp.WaitVisible(css("#edit")))
		// Every input has a label, and Tab alone reaches every control of the page.
		unlabelled := get(t, ctx, chromedp.Evaluate[[]string](`Array.from(document.querySelectorAll("input:not([type=hidden]), select, textarea")).filter(e => !e.labels || e.labels.length === 0).map(e => e.id || e.name)`))
		if len(unlabelled) > 0 {
			t.Fatalf("inputs without a label: %v", unlabelled)
		}
		want := get(t, ctx, chromedp.Evaluate[[]string](`Array.from(document.querySelectorAll("a[href], button, input:not([type=hidden]), select, textarea")).map(e => e.id || e.textContent.trim())`))
		if len(want) < 15 {
			t.Fatalf("only %d controls found on a host page: %v", len(want), want)
		}
		seen := map[string]bool{}
		for range len(want) + 5 {
			do(t, ctx, chromedp.KeyEvent("\t"))
			seen[get(t, ctx, chromedp.Evaluate[string](`document.activeElement.id || document.activeElement.textContent.trim()`))] = true
		}
		for _, w := range want {
			if !seen[w] {
				t.Errorf("control %q is not reached with Tab", w)
			}
		}
	})

	// Power through the page: ipmi_sim is a02's BMC; the buttons run the
	// same operations as `netkick host power` and `host reinstall`.
	t.Run("power-and-reinstall", func(t *testing.T) {
		sim := ipmisim.Start(t)
		mac := macs["a02"]
		d.api(t, "PATCH", "/api/v1/hosts/a02/bmc", fmt.Sprintf(`{"address": "127.0.0.1", "port": %d, "user": %q, "password": %q}`,
			sim.Port, ipmisim.User, ipmisim.Password), nil, nil)
		do(t, ctx, chromedp.Navigate(d.base+"/hosts/"+mac), chromedp.WaitVisible(css("#powerform")))
		notice := func() string { return get(t, ctx, chromedp.Text(css("#notice"))) }
		submit(t, ctx, "#power-status", "#notice")
		if n, st := notice(), get(t, ctx, chromedp.Text(css("#power-state"))); n != "Done: power state off." || st != "off" {
			t.Fatalf("after Read power state: notice %q, state %q; ipmitool says %s", n, st, sim.PowerState(t))
		}
		submit(t, ctx, "#power-on", "#notice")
		sim.WaitPowerState(t, "on")
		boots := sim.Boots(t)
		submit(t, ctx, "#reinstall", "#notice")
		if n := notice(); !strings.Contains(n, "build mode on") || !strings.Contains(n, "power cycle (chassis was on)") {
			t.Fatalf("after Reinstall the notice says %q", n)
		}
		if st := get(t, ctx, chromedp.Text(css("#state"))); st != "build" {
			t.Fatalf("after Reinstall a02 is %q, want build", st)
		}
		var ev []struct{ Kind, Detail string }
		d.api(t, "GET", "/api/v1/hosts/a02/events", "", nil, &ev)
		if last := ev[len(ev)-1]; last.Kind != "power" || !strings.Contains(last.Detail, "reinstall by web user admin") {
			t.Fatalf("a02's timeline ends %+v", last)
		}
		shot(t, ctx, "web-power")
		// The cycle turns the chassis off, then on again: wait for the
		// second start, or the check below could catch it half way.
		sim.WaitBoots(t, boots+1)
		// A BMC that refuses the password: 502, the reason on the page, nothing done.
		d.api(t, "PATCH", "/api/v1/hosts/a02/bmc", `{"password": "wrong"}`, nil, nil)
		submit(t, ctx, "#power-off", "#problem")
		if p := get(t, ctx, chromedp.Text(css("#problem"))); !strings.Contains(p, "The BMC failed") {
			t.Fatalf("a refused BMC password shows %q", p)
		}
		d.api(t, "GET", "/api/v1/hosts/a02/events", "", nil, &ev)
		if last := ev[len(ev)-1]; !strings.Contains(last.Detail, "power off by web user admin failed") || strings.Contains(last.Detail, "wrong") {
			t.Fatalf("after a refused power off a02's timeline ends %+v", last)
		}
		if got := sim.PowerState(t); got != "on" {
			t.Fatalf("ipmitool says %s after a refused power off", got)
		}
		d.api(t, "PATCH", "/api/v1/hosts/a02/bmc", fmt.Sprintf(`{"password": %q}`, ipmisim.Password), nil, nil)
		d.api(t, "DELETE", "/api/v1/hosts/a02/build", "", nil, nil)
	})

	// A machine DHCP discovered (recorded through a second handle on the
	// server's database, as its DHCP server would): listed with what it sent
	// shown as text, then adopted from its row's form.
	t.Run("discovered-adopt", func(t *testing.T) {
		st, err := inventory.OpenSQLite(filepath.Join(d.data, "inventory.db"))
		if err != nil {
			t.Fatal(err)
		}
		defer st.Close()
		now := time.Now()
		if _, err := st.RecordDiscovered(context.Background(), inventory.Discovered{MAC: "52:54:00:dd:00:01", Arch: "bios",
			Hostname: "<script>x()</script>", Addresses: []string{"192.0.2.150"}, CircuitID: "sw1/3", FirstSeen: now, LastSeen: now}, 0); err != nil {
			t.Fatal(err)
		}
		do(t, ctx, chromedp.Navigate(d.base+"/discovered"), chromedp.WaitVisible(css(`#discovered tr[data-mac="52:54:00:dd:00:01"]`)))
		if n := get(t, ctx, chromedp.Evaluate[int](`document.querySelectorAll("#discovered script").length`)); n != 0 {
			t.Fatal("a DHCP hostname became a script element")
		}
		if txt := get(t, ctx, chromedp.Text(css(`#discovered tbody tr`))); !strings.Contains(txt, "<script>x()</script>") || !strings.Contains(txt, "sw1/3") {
			t.Fatalf("the discovered row reads %q", txt)
		}
		checkAxe(t, ctx, axeSource(t), "/discovered, one machine")
		shot(t, ctx, "web-discovered")
		do(t, ctx, chromedp.SetValue(css("#a-host-0"), "c01"), chromedp.SetValue(css("#a-roles-0"), "web"))
		submit(t, ctx, "#adopt-btn-0", "#notice")
		if h := get(t, ctx, chromedp.Text(css("h1"))); !strings.HasPrefix(h, "c01 ready") {
			t.Fatalf("after Adopt the page is %q, want c01 ready", h)
		}
		var h struct {
			Roles []string
			MACs  []string
		}
		d.api(t, "GET", "/api/v1/hosts/c01", "", nil, &h)
		if strings.Join(h.Roles, ",") != "web" || h.MACs[0] != "52:54:00:dd:00:01" {
			t.Fatalf("the API says c01 is %+v", h)
		}
		do(t, ctx, chromedp.Navigate(d.base+"/discovered"), chromedp.WaitVisible(css("#discovered")))
		if n := get(t, ctx, chromedp.Evaluate[int](`document.querySelectorAll("#discovered tr[data-mac]").length`)); n != 0 {
			t.Fatalf("%d discovered machines left after the adoption", n)
		}
		d.api(t, "DELETE", "/api/v1/hosts/c01", "", nil, nil)
	})

	// axe-core on every page (and every tab of a host's page): no serious or
	// critical violation of WCAG 2.1 A/AA or axe's best practices.
	t.Run("accessibility", func(t *testing.T) {
		src := axeSource(t)
		for _, page := range []string{"/", "/?role=lvs-director&sort=-ip", "/hosts/" + macs["a01"], "/hosts/" + macs["a02"], "/hosts/" + macs["a01"] + "?tab=pxelinux",
			"/hosts/" + macs["a01"] + "?tab=ipxe", "/hosts/" + macs["b01"] + "?tab=layout&disks=500G+1T", "/profiles", "/layouts", "/clusters", "/discovered", "/hosts/nosuchhost"} {
			do(t, ctx, chromedp.Navigate(d.base+page), chromedp.WaitReady(css("main")))
			checkAxe(t, ctx, src, page)
		}
		// The check sees what it should: an input without a label, and grey
		// on grey, are reported (styles set through the CSSOM: the page's CSP
		// ignores style attributes).
		get(t, ctx, chromedp.Evaluate[bool](`document.querySelector("main").insertAdjacentHTML("beforeend",
			'<input id="axe-probe"><p id="axe-grey">faint</p>');
			Object.assign(document.getElementById("axe-grey").style, {color: "#999", background: "#aaa"}); true`))
		found := map[string]bool{}
		for _, v := range runAxe(t, ctx, src) {
			found[v.ID+" "+strings.Join(v.Nodes, " ")] = true
		}
		for _, want := range []string{"label #axe-probe", "color-contrast #axe-grey"} {
			if !found[want] {
				t.Errorf("axe did not report %q on a page made to break it: %v", want, found)
			}
		}
	})

	t.Run("logout", func(t *testing.T) {
		do(t, ctx, chromedp.Navigate(d.base+"/"), chromedp.WaitVisible(css("#logout")))
		submit(t, ctx, "#logout", "#token")
		do(t, ctx, chromedp.Navigate(d.base+"/hosts/"+macs["a01"]), chromedp.WaitVisible(css("#token")))
		if url := get(t, ctx, chromedp.Location()); !strings.Contains(url, "/login?next=") {
			t.Fatalf("after logout a host page went to %s, want the login page", url)
		}
		shot(t, ctx, "logout")
		checkAxe(t, ctx, axeSource(t), "/login")
	})
}
