package tftp

import (
	"fmt"
	"io"
	"sync/atomic"
	"time"
)

// Metrics counts transfers. All methods are safe for concurrent use.
type Metrics struct {
	served, failed, notFound, refused, busy, probes atomic.Int64
	overShare, withheld                             atomic.Int64
	bytes, nanos, active                            atomic.Int64
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

// WriteMetrics writes the counters in the Prometheus text format.
func (m *Metrics) WriteMetrics(w io.Writer) {
	s := m.Snapshot()
	fmt.Fprintf(w, `# HELP netkick_tftp_transfers_total TFTP read requests by result.
# TYPE netkick_tftp_transfers_total counter
netkick_tftp_transfers_total{result="served"} %d
netkick_tftp_transfers_total{result="failed"} %d
netkick_tftp_transfers_total{result="not_found"} %d
netkick_tftp_transfers_total{result="refused"} %d
netkick_tftp_transfers_total{result="busy"} %d
netkick_tftp_transfers_total{result="size_probe"} %d
netkick_tftp_transfers_total{result="over_share"} %d
# HELP netkick_tftp_token_withheld_total Generated configs sent without the build token (requester not bound to the host).
# TYPE netkick_tftp_token_withheld_total counter
netkick_tftp_token_withheld_total %d
# HELP netkick_tftp_bytes_total Bytes of file data sent over TFTP.
# TYPE netkick_tftp_bytes_total counter
netkick_tftp_bytes_total %d
# HELP netkick_tftp_transfer_seconds_total Time spent in served TFTP transfers.
# TYPE netkick_tftp_transfer_seconds_total counter
netkick_tftp_transfer_seconds_total %g
# HELP netkick_tftp_active_transfers TFTP transfers in progress.
# TYPE netkick_tftp_active_transfers gauge
netkick_tftp_active_transfers %d
`, s.Served, s.Failed, s.NotFound, s.Refused, s.Busy, s.Probes, s.OverShare, s.Withheld, s.Bytes, s.Duration.Seconds(), s.Active)
}
