package httpd

import (
	"fmt"
	"io"
	"sort"
	"sync"
	"sync/atomic"
	"time"
)

// MetricsWriter is anything that appends Prometheus text-format metrics
// (the DHCP and TFTP servers, for example).
type MetricsWriter interface {
	WriteMetrics(w io.Writer)
}

// histogramBuckets are the upper bounds, in seconds, of the latency histograms.
func histogramBuckets() []float64 {
	return []float64{0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5}
}

type histogram struct {
	bounds []float64
	counts []uint64 // per bucket, not cumulative; last is +Inf
	sum    float64
	n      uint64
}

func newHistogram() *histogram {
	b := histogramBuckets()
	return &histogram{bounds: b, counts: make([]uint64, len(b)+1)}
}

func (h *histogram) observe(v float64) {
	i := sort.SearchFloat64s(h.bounds, v)
	h.counts[i]++
	h.sum += v
	h.n++
}

func (h *histogram) write(w io.Writer, name, help string) {
	fmt.Fprintf(w, "# HELP %s %s\n# TYPE %s histogram\n", name, help, name)
	var cum uint64
	for i, b := range h.bounds {
		cum += h.counts[i]
		fmt.Fprintf(w, "%s_bucket{le=\"%g\"} %d\n", name, b, cum)
	}
	cum += h.counts[len(h.bounds)]
	fmt.Fprintf(w, "%s_bucket{le=\"+Inf\"} %d\n%s_sum %g\n%s_count %d\n", name, cum, name, h.sum, name, h.n)
}

// metrics counts HTTP requests and kickstart renders.
type metrics struct {
	mu       sync.Mutex
	requests map[[2]string]uint64 // route, status code
	renders  map[[2]string]uint64 // kind, outcome
	latency  *histogram
	withheld atomic.Int64 // configs sent without their token (requester not bound)
}

func newMetrics() *metrics {
	return &metrics{requests: map[[2]string]uint64{}, renders: map[[2]string]uint64{}, latency: newHistogram()}
}

func (m *metrics) request(route string, status int) {
	m.mu.Lock()
	m.requests[[2]string{route, fmt.Sprint(status)}]++
	m.mu.Unlock()
}

func (m *metrics) render(kind, outcome string, d time.Duration) {
	m.mu.Lock()
	m.renders[[2]string{kind, outcome}]++
	if outcome == "ok" {
		m.latency.observe(d.Seconds())
	}
	m.mu.Unlock()
}

func (m *metrics) WriteMetrics(w io.Writer) {
	m.mu.Lock()
	defer m.mu.Unlock()
	fmt.Fprintf(w, "# HELP netkick_http_requests_total HTTP requests by route and status.\n# TYPE netkick_http_requests_total counter\n")
	for _, k := range sortedKeys(m.requests) {
		fmt.Fprintf(w, "netkick_http_requests_total{route=%q,code=%q} %d\n", k[0], k[1], m.requests[k])
	}
	fmt.Fprintf(w, "# HELP netkick_renders_total Renders by kind and outcome (ok, not_found, forbidden, error).\n# TYPE netkick_renders_total counter\n")
	for _, k := range sortedKeys(m.renders) {
		fmt.Fprintf(w, "netkick_renders_total{kind=%q,outcome=%q} %d\n", k[0], k[1], m.renders[k])
	}
	m.latency.write(w, "netkick_render_seconds", "Time to render a kickstart, successful renders only.")
	fmt.Fprintf(w, "# HELP netkick_http_token_withheld_total Generated configs sent without the build token (requester not bound to the host).\n# TYPE netkick_http_token_withheld_total counter\nnetkick_http_token_withheld_total %d\n", m.withheld.Load())
}

func sortedKeys(m map[[2]string]uint64) [][2]string {
	out := make([][2]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i][0] != out[j][0] {
			return out[i][0] < out[j][0]
		}
		return out[i][1] < out[j][1]
	})
	return out
}
