package httpd

import (
	"context"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// renderBuckets are the upper bounds, in seconds, of the kickstart render
// histogram (templates and the layout planner: milliseconds).
func renderBuckets() []float64 {
	return []float64{0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5}
}

// requestBuckets are the upper bounds, in seconds, of the request duration
// histogram: configs and API calls answer in milliseconds, a kernel or an
// initrd from /boot/ streams for seconds.
func requestBuckets() []float64 {
	return []float64{0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60}
}

// Request stages: what a request was for, in the access log and the
// duration histogram.
const (
	stageKickstart  = "kickstart"   // GET /ks/{mac}
	stageBootConfig = "boot_config" // /boot.ipxe and generated configs under /boot/
	stageBootFile   = "boot_file"   // files of the boot root under /boot/
	stageAPI        = "api"         // /api/v1/…
	stageWeb        = "web"         // the web page
	stageRepo       = "repo"        // /repo/…
	stageOther      = "other"       // /metrics, /healthz, unmatched
)

// metrics are the HTTP server's own collectors.
type metrics struct {
	requests *prometheus.CounterVec   // route, code
	renders  *prometheus.CounterVec   // kind, outcome
	latency  prometheus.Histogram     // successful kickstart renders
	duration *prometheus.HistogramVec // stage
	withheld prometheus.Counter       // configs sent without their token (requester not bound)
}

func newMetrics() *metrics {
	return &metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "netkick_http_requests_total",
			Help: "HTTP requests by route and status."}, []string{"route", "code"}),
		renders: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "netkick_renders_total",
			Help: "Renders by kind and outcome (ok, bad_request, not_found, forbidden, store_unreachable, error)."}, []string{"kind", "outcome"}),
		latency: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "netkick_render_seconds",
			Help: "Time to render a kickstart, successful renders only.", Buckets: renderBuckets()}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "netkick_http_request_duration_seconds",
			Help:    "HTTP request duration by stage (kickstart, boot_config, boot_file, api, web, repo, other), body sent included.",
			Buckets: requestBuckets()}, []string{"stage"}),
		withheld: prometheus.NewCounter(prometheus.CounterOpts{Name: "netkick_http_token_withheld_total",
			Help: "Generated configs sent without the build token (requester not bound to the host)."}),
	}
}

func (m *metrics) collectors() []prometheus.Collector {
	return []prometheus.Collector{m.requests, m.renders, m.latency, m.duration, m.withheld}
}

func (m *metrics) request(route, stage string, status int, d time.Duration) {
	m.requests.WithLabelValues(route, strconv.Itoa(status)).Inc()
	m.duration.WithLabelValues(stage).Observe(d.Seconds())
}

func (m *metrics) render(kind, outcome string, d time.Duration) {
	m.renders.WithLabelValues(kind, outcome).Inc()
	if outcome == "ok" {
		m.latency.Observe(d.Seconds())
	}
}

// stageOf classifies a request by its route; a handler that knows better
// (a generated config under /boot/) sets it itself.
func stageOf(route string) string {
	switch {
	case route == "/ks/:mac":
		return stageKickstart
	case route == "/boot.ipxe":
		return stageBootConfig
	case strings.HasPrefix(route, "/boot/"):
		return stageBootFile
	case strings.HasPrefix(route, "/api/"):
		return stageAPI
	case strings.HasPrefix(route, "/repo/"):
		return stageRepo
	case route == "/metrics" || route == "/healthz" || route == "unmatched" || route == "":
		return stageOther
	}
	return stageWeb
}

// storeCollector reports netkick_store_up: whether the inventory store
// answered this scrape.
type storeCollector struct {
	s    *Server
	desc *prometheus.Desc
}

func newStoreCollector(s *Server) *storeCollector {
	return &storeCollector{s: s, desc: prometheus.NewDesc("netkick_store_up",
		"Whether the inventory store answered this scrape (0: degraded, see /healthz).", nil, nil)}
}

func (c *storeCollector) Describe(ch chan<- *prometheus.Desc) { ch <- c.desc }

func (c *storeCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	up := 1.0
	if _, err := c.s.opts.Store.Generation(ctx); err != nil {
		up = 0
	}
	ch <- prometheus.MustNewConstMetric(c.desc, prometheus.GaugeValue, up)
}

// powerCollector reports netkick_power_hosts{state}: hosts with BMC
// settings by the power state last read (status, status --all, reinstall).
type powerCollector struct {
	s    *Server
	desc *prometheus.Desc
}

func newPowerCollector(s *Server) *powerCollector {
	return &powerCollector{s: s, desc: prometheus.NewDesc("netkick_power_hosts",
		"Hosts with BMC settings by the power state last read (on, off, unread).", []string{"state"}, nil)}
}

func (c *powerCollector) Describe(ch chan<- *prometheus.Desc) { ch <- c.desc }

func (c *powerCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	n, err := c.s.prov.PowerStateCounts(ctx)
	if err != nil {
		return // a store without BMC settings: no such metric
	}
	for _, st := range []string{"on", "off", "unread"} {
		ch <- prometheus.MustNewConstMetric(c.desc, prometheus.GaugeValue, float64(n[st]), st)
	}
}
