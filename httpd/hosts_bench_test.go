package httpd

import (
	"bytes"
	"context"
	"fmt"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/netkick/netkick/inventory"
	"github.com/netkick/netkick/inventory/invtest"
	"github.com/netkick/netkick/kickstart"
)

// apiOf10000 is a server over a SQLite store (at path) holding 10,000 hosts.
func apiOf10000(b *testing.B) (*Server, string) {
	ctx := context.Background()
	path := filepath.Join(b.TempDir(), "inventory.db")
	st, err := inventory.OpenSQLite(path)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { st.Close() })
	hosts := invtest.Rack(10000)
	if err := st.PutHosts(ctx, hosts); err != nil {
		b.Fatal(err)
	}
	r, err := kickstart.New(kickstart.Options{})
	if err != nil {
		b.Fatal(err)
	}
	s, err := New(Options{Store: st, Renderer: r, AdminToken: testToken})
	if err != nil {
		b.Fatal(err)
	}
	return s, path
}

// BenchmarkHostsAPI10000 answers GET /api/v1/hosts over 10,000 hosts: the
// whole list, a role filter, a filtered, sorted page (the web page's query),
// and the whole list right after a host changed (written through another
// handle on the same database, as the CLI or another process would). Each
// call is timed on its own: ms/op is the mean, p50-ms and p99-ms the median
// and 99th percentile.
func BenchmarkHostsAPI10000(b *testing.B) {
	s, path := apiOf10000(b)
	h := s.Handler()
	other, err := inventory.OpenSQLite(path)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { other.Close() })
	for _, tc := range []struct {
		name, url string
		hosts     int  // hosts in the answer
		change    bool // a host changes before each call
	}{
		{"all", "/api/v1/hosts", 10000, false},
		{"role", "/api/v1/hosts?role=web", 3333, false},
		{"label-text-sorted-page-7", "/api/v1/hosts?label=rack&q=node0&sort=-ip&page=7&per_page=50", 50, false},
		{"all-after-a-change", "/api/v1/hosts", 10000, true},
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
				req.Header.Set("Authorization", "Bearer "+testToken)
				rec := httptest.NewRecorder()
				t0 := time.Now()
				h.ServeHTTP(rec, req)
				took = append(took, time.Since(t0))
				if rec.Code != 200 {
					b.Fatalf("%s: %d %s", tc.url, rec.Code, rec.Body)
				}
				if n := bytes.Count(rec.Body.Bytes(), []byte(`"hostname":`)); n != tc.hosts {
					b.Fatalf("%s: %d hosts, want %d", tc.url, n, tc.hosts)
				}
				if tc.change && !bytes.Contains(rec.Body.Bytes(), []byte(`"seq":"`+fmt.Sprint(i)+`"`)) {
					b.Fatalf("%s: the change to node%05d is not in the answer", tc.url, i*7919%10000)
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
