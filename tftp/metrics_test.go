package tftp

import (
	"net/http/httptest"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/netkick/netkick/internal/testenv"
)

// TestMetricsExposition: the TFTP collector exposes its counters and the
// transfer histogram by kind, and promtool accepts the exposition.
func TestMetricsExposition(t *testing.T) {
	m := newMetrics()
	m.servedOne("config", 300, 2*time.Millisecond)
	m.servedOne("file", 40000, 300*time.Millisecond)
	m.notFound.Add(1)
	m.active.Add(2)
	m.blockTimes = func() (time.Duration, time.Duration, bool) {
		return 20 * time.Microsecond, 500 * time.Microsecond, true
	}
	reg := prometheus.NewRegistry()
	if err := reg.Register(m); err != nil {
		t.Fatal(err)
	}
	rec := httptest.NewRecorder()
	promhttp.HandlerFor(reg, promhttp.HandlerOpts{}).ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	body := rec.Body.String()
	for _, want := range []string{
		`netkick_tftp_transfers_total{result="served"} 2`,
		`netkick_tftp_transfers_total{result="not_found"} 1`,
		`netkick_tftp_transfers_total{result="over_share"} 0`,
		"netkick_tftp_bytes_total 40300",
		"netkick_tftp_transfer_seconds_total 0.302",
		"netkick_tftp_active_transfers 2",
		`netkick_tftp_block_seconds{stat="base"} 2e-05`,
		`netkick_tftp_block_seconds{stat="recent"} 0.0005`,
		`netkick_tftp_transfer_duration_seconds_bucket{kind="config",le="0.005"} 1`,
		`netkick_tftp_transfer_duration_seconds_bucket{kind="file",le="0.25"} 0`,
		`netkick_tftp_transfer_duration_seconds_count{kind="file"} 1`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("exposition lacks %q:\n%s", want, body)
		}
	}
	promtool := testenv.RequireProgram(t, "promtool")
	cmd := exec.Command(promtool, "check", "metrics")
	cmd.Stdin = strings.NewReader(body)
	if out, err := cmd.CombinedOutput(); err != nil || len(strings.TrimSpace(string(out))) > 0 {
		t.Fatalf("promtool check metrics: %v\n%s\n%s", err, out, body)
	}
}
