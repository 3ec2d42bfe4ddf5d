package web_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/netkick/netkick/inventory"
	"github.com/netkick/netkick/inventory/invtest"
	"github.com/netkick/netkick/provision"
	"github.com/netkick/netkick/web"
)

const benchToken = "0123456789abcdef0123456789abcdef"

// pageOf10000 is a page over a SQLite store (at path) holding 10,000 hosts
// (each with a timeline entry when events is set), and a logged-in session cookie.
func pageOf10000(tb testing.TB, events bool) (http.Handler, *http.Cookie, string) {
	ctx := context.Background()
	path := filepath.Join(tb.TempDir(), "inventory.db")
	st, err := inventory.OpenSQLite(path)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { st.Close() })
	hosts := invtest.Rack(10000)
	if err := st.PutHosts(ctx, hosts); err != nil {
		tb.Fatal(err)
	}
	for i := range hosts {
		if !events {
			break
		}
		if err := st.AddEvent(ctx, inventory.Event{HostID: hosts[i].ID(), Kind: "dhcp-ack", Detail: "offered " + hosts[i].IP}); err != nil {
			tb.Fatal(err)
		}
	}
	prov, err := provision.New(provision.Options{Store: st})
	if err != nil {
		tb.Fatal(err)
	}
	w, err := web.New(web.Options{Prov: prov, AdminToken: benchToken,
		Render: func(context.Context, string, string, *http.Request) ([]byte, error) { return nil, nil }})
	if err != nil {
		tb.Fatal(err)
	}
	h := w.Handler()
	// Log in as a browser does: the form's CSRF cookie and field, then the token.
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/login", nil))
	lc := rec.Result().Cookies()[0]
	form := url.Values{"csrf": {lc.Value}, "token": {benchToken}, "next": {"/"}}
	req := httptest.NewRequest("POST", "/login", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.AddCookie(lc)
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != http.StatusSeeOther {
		tb.Fatalf("login: %d %s", rec.Code, rec.Body)
	}
	return h, rec.Result().Cookies()[0], path
}

var rowRE = regexp.MustCompile(`<tr data-mac=`)

// BenchmarkHostsPage10000 renders the hosts table over 10,000 hosts: the
// first page, a filtered, sorted later page, and the first page right after
// a host changed (written through another handle on the same database, as
// the CLI or another process would). Each view is timed on its own: ms/op
// is the mean, p50-ms and p99-ms the median and 99th percentile.
func BenchmarkHostsPage10000(b *testing.B) {
	h, cookie, path := pageOf10000(b, true)
	other, err := inventory.OpenSQLite(path)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { other.Close() })
	for _, tc := range []struct {
		name, url string
		change    bool // a host changes before each view
	}{
		{"first-page", "/", false},
		{"role-label-text-sorted-page-7", "/?role=web&label=rack&q=node0&sort=-ip&page=7", false},
		{"first-page-after-a-change", "/", true},
	} {
		b.Run(tc.name, func(b *testing.B) {
			took := make([]time.Duration, 0, b.N)
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if tc.change {
					b.StopTimer()
					invtest.TouchRack(b, other, 10000, i)
					b.StartTimer()
				}
				req := httptest.NewRequest("GET", tc.url, nil)
				req.AddCookie(cookie)
				rec := httptest.NewRecorder()
				t0 := time.Now()
				h.ServeHTTP(rec, req)
				took = append(took, time.Since(t0))
				if rec.Code != 200 {
					b.Fatalf("%s: %d", tc.url, rec.Code)
				}
				if n := len(rowRE.FindAllIndex(rec.Body.Bytes(), -1)); n != 50 {
					b.Fatalf("%s: %d rows, want one page of 50", tc.url, n)
				}
				if tc.change && !strings.Contains(rec.Body.String(), "seq="+fmt.Sprint(i)) && i*7919%10000 < 50 {
					b.Fatalf("%s: the change to node%05d is not on the page", tc.url, i*7919%10000)
				}
			}
			b.StopTimer()
			slices.Sort(took)
			ms := func(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
			b.ReportMetric(ms(took[len(took)/2]), "p50-ms")
			b.ReportMetric(ms(took[min(len(took)-1, len(took)*99/100)]), "p99-ms")
		})
	}
}

// TestBrowserDOM10000 opens the hosts table over 10,000 hosts in Chromium:
// the DOM holds one page of 50 rows, and the last page is a link away.
func TestBrowserDOM10000(t *testing.T) {
	h, _, _ := pageOf10000(t, false)
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	ctx := browser(t)
	do(t, ctx, chromedp.Navigate(srv.URL+"/"), chromedp.WaitVisible(css("#token")), chromedp.SendKeys(css("#token"), benchToken))
	submit(t, ctx, "#login", "#hosts")
	rows := func() int {
		return get(t, ctx, chromedp.Evaluate[int](`document.querySelectorAll("tr").length - document.querySelectorAll("thead tr").length`))
	}
	if n := rows(); n != 50 {
		t.Fatalf("the DOM holds %d rows of 10,000 hosts, want one page of 50", n)
	}
	do(t, ctx, chromedp.Navigate(srv.URL+"/?page=200"), chromedp.WaitVisible(css("#hosts")))
	if n, last := rows(), hostnames(t, ctx); n != 50 || !strings.HasSuffix(last, "node09999") {
		t.Fatalf("page 200 holds %d rows ending %q, want 50 ending node09999", n, last[max(0, len(last)-20):])
	}
	shot(t, ctx, "hosts-10000")
}
