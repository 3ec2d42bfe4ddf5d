package tftp

import (
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// transferBuckets are the upper bounds (seconds) of the transfer duration
// histogram: a generated config is one or two blocks (milliseconds), a
// loader tens of kilobytes, a kernel or initrd over TFTP tens of seconds.
func transferBuckets() []float64 {
	return []float64{0.001, 0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120}
}

// Metrics counts transfers. All methods are safe for concurrent use. It is
// a prometheus.Collector: New registers it on Options.Registerer.
type Metrics struct {
	served, failed, notFound, refused, busy, probes atomic.Int64
	overShare, withheld                             atomic.Int64
	bytes, nanos, active                            atomic.Int64
	// duration is the time of served transfers by kind (config: generated
	// boot configs; file: files from the boot root).
	duration *prometheus.HistogramVec
	// blockTimes, when set, is the server's per-block times (BlockTimes).
	blockTimes func() (base, recent time.Duration, ok bool)

	transfersDesc, withheldDesc, bytesDesc, secondsDesc, activeDesc, blockDesc *prometheus.Desc
}

func newMetrics() *Metrics {
	return &Metrics{
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "netkick_tftp_transfer_duration_seconds",
			Help: "Duration of served TFTP transfers, by kind (config: a generated boot config; file: a file of the boot root).", Buckets: transferBuckets()},
			[]string{"kind"}),
		transfersDesc: prometheus.NewDesc("netkick_tftp_transfers_total", "TFTP read requests by result.", []string{"result"}, nil),
		withheldDesc:  prometheus.NewDesc("netkick_tftp_token_withheld_total", "Generated configs sent without the build token (requester not bound to the host).", nil, nil),
		bytesDesc:     prometheus.NewDesc("netkick_tftp_bytes_total", "Bytes of file data sent over TFTP.", nil, nil),
		secondsDesc:   prometheus.NewDesc("netkick_tftp_transfer_seconds_total", "Time spent in served TFTP transfers.", nil, nil),
		activeDesc:    prometheus.NewDesc("netkick_tftp_active_transfers", "TFTP transfers in progress.", nil, nil),
		blockDesc: prometheus.NewDesc("netkick_tftp_block_seconds",
			"Time per block of recent transfers: stat base is the lowest of the last 20 s, recent the mean of the last quarter to half second (absent while too few blocks were sent).", []string{"stat"}, nil),
	}
}

// Snapshot is a copy of the counters at one moment.
type Snapshot struct {
	Served, Failed, NotFound, Refused, Busy, Probes int64
	// OverShare counts requests refused because their source address had
	// its share of transfers running; Withheld counts configs sent without
	// the build token because the requester is not bound to the host.
	OverShare, Withheld int64
	Bytes               int64
	Duration            time.Duration // summed over served transfers
	Active              int64
}

// Snapshot copies the counters.
func (m *Metrics) Snapshot() Snapshot {
	return Snapshot{
		Served: m.served.Load(), Failed: m.failed.Load(), NotFound: m.notFound.Load(),
		Refused: m.refused.Load(), Busy: m.busy.Load(), Probes: m.probes.Load(),
		OverShare: m.overShare.Load(), Withheld: m.withheld.Load(),
		Bytes: m.bytes.Load(), Duration: time.Duration(m.nanos.Load()), Active: m.active.Load(),
	}
}

// servedOne counts a served transfer of n bytes that took d.
func (m *Metrics) servedOne(kind string, n int64, d time.Duration) {
	m.served.Add(1)
	m.bytes.Add(n)
	m.nanos.Add(int64(d))
	m.duration.WithLabelValues(kind).Observe(d.Seconds())
}

// Describe implements prometheus.Collector.
func (m *Metrics) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{m.transfersDesc, m.withheldDesc, m.bytesDesc, m.secondsDesc, m.activeDesc, m.blockDesc} {
		ch <- d
	}
	m.duration.Describe(ch)
}

// Collect implements prometheus.Collector.
func (m *Metrics) Collect(ch chan<- prometheus.Metric) {
	s := m.Snapshot()
	for _, r := range []struct {
		name string
		v    int64
	}{{"served", s.Served}, {"failed", s.Failed}, {"not_found", s.NotFound}, {"refused", s.Refused},
		{"busy", s.Busy}, {"size_probe", s.Probes}, {"over_share", s.OverShare}} {
		ch <- prometheus.MustNewConstMetric(m.transfersDesc, prometheus.CounterValue, float64(r.v), r.name)
	}
	ch <- prometheus.MustNewConstMetric(m.withheldDesc, prometheus.CounterValue, float64(s.Withheld))
	ch <- prometheus.MustNewConstMetric(m.bytesDesc, prometheus.CounterValue, float64(s.Bytes))
	ch <- prometheus.MustNewConstMetric(m.secondsDesc, prometheus.CounterValue, s.Duration.Seconds())
	ch <- prometheus.MustNewConstMetric(m.activeDesc, prometheus.GaugeValue, float64(s.Active))
	if m.blockTimes != nil {
		if base, recent, ok := m.blockTimes(); ok {
			ch <- prometheus.MustNewConstMetric(m.blockDesc, prometheus.GaugeValue, base.Seconds(), "base")
			ch <- prometheus.MustNewConstMetric(m.blockDesc, prometheus.GaugeValue, recent.Seconds(), "recent")
		}
	}
	m.duration.Collect(ch)
}
