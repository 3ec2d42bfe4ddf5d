package main

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/netkick/netkick/internal/buildinfo"
)

// newMetricsRegistry is the registry serve's /metrics exposes: the Go
// runtime (go_*), the process (process_*) and netkick_build_info; the
// HTTP, TFTP and DHCP servers register their own collectors on it.
func newMetricsRegistry(b buildinfo.Info) *prometheus.Registry {
	reg := prometheus.NewRegistry()
	reg.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "netkick_build_info",
			Help: "Always 1; the labels say which netkick build is running (as `netkick version` prints).",
			ConstLabels: prometheus.Labels{"version": b.Version, "commit": b.Commit, "date": b.Date,
				"goversion": b.GoVersion, "platform": b.Platform},
		}, func() float64 { return 1 }),
	)
	return reg
}
