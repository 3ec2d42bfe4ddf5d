package dhcp

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

// TestMetricsExposition: the DHCP collector, registered on a registry,
// exposes the counts it keeps under their names, and promtool accepts it.
func TestMetricsExposition(t *testing.T) {
	m := newMetrics()
	m.pool = func() []poolStat { return []poolStat{{subnet: "192.0.2.0/24", active: 3, size: 101}} }
	m.count(typeDiscover, outOffer)
	m.count(typeDiscover, outOffer)
	m.count(typeRequest, outAck)
	m.probed(probeFree)
	m.observe(3 * time.Millisecond)
	m.decided(time.Now())
	if strings.Contains(gatherOne(t, m), "netkick_dhcp_discovery_sightings_total") {
		t.Error("sightings are exposed by a server that does not discover")
	}
	if strings.Contains(gatherOne(t, m), "netkick_dhcp_admission") {
		t.Error("admission is exposed by a server that does not hold")
	}
	m.sightings = func() (uint64, uint64) { return 7, 2 }
	m.admWaiting = func() int { return 4 }
	m.admBound = func() int { return 40 }
	m.admHeld.Add(9)
	m.admReleased.Add(3)
	m.admExpired.Add(2)
	reg := prometheus.NewRegistry()
	if err := reg.Register(m); err != nil {
		t.Fatal(err)
	}
	if err := reg.Register(m); err == nil {
		t.Fatal("a second registration of the same collector was accepted")
	}
	body := gather(reg)
	for _, want := range []string{
		`netkick_dhcp_packets_total{outcome="offer",type="discover"} 2`,
		`netkick_dhcp_packets_total{outcome="ack",type="request"} 1`,
		`netkick_dhcp_decline_probes_total{result="free"} 1`,
		`netkick_dhcp_decline_probes_total{result="in_use"} 0`,
		`netkick_dhcp_pool_addresses{subnet="192.0.2.0/24"} 101`,
		`netkick_dhcp_leases_active{subnet="192.0.2.0/24"} 3`,
		`netkick_dhcp_reply_seconds_bucket{le="0.005"} 1`,
		"netkick_dhcp_reply_seconds_count 1",
		"netkick_dhcp_decision_seconds_count 1",
		`netkick_dhcp_discovery_sightings_total{result="recorded"} 7`,
		`netkick_dhcp_discovery_sightings_total{result="dropped"} 2`,
		"netkick_dhcp_admission_waiting 4",
		"netkick_dhcp_admission_bound 40",
		"netkick_dhcp_admission_held_total 9",
		`netkick_dhcp_admission_released_total{reason="load"} 3`,
		`netkick_dhcp_admission_released_total{reason="expired"} 2`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("exposition lacks %q:\n%s", want, body)
		}
	}
	if strings.Contains(body, `outcome="nak"`) {
		t.Errorf("a packet count that never happened is exposed:\n%s", body)
	}
	promtool := testenv.RequireProgram(t, "promtool")
	cmd := exec.Command(promtool, "check", "metrics")
	cmd.Stdin = strings.NewReader(body)
	if out, err := cmd.CombinedOutput(); err != nil || len(strings.TrimSpace(string(out))) > 0 {
		t.Fatalf("promtool check metrics: %v\n%s\n%s", err, out, body)
	}
}

// gatherOne is the exposition of one collector on a registry of its own.
func gatherOne(t *testing.T, c prometheus.Collector) string {
	t.Helper()
	reg := prometheus.NewRegistry()
	if err := reg.Register(c); err != nil {
		t.Fatal(err)
	}
	return gather(reg)
}

// gather is the text exposition of a registry, as /metrics serves it.
func gather(reg prometheus.Gatherer) string {
	rec := httptest.NewRecorder()
	promhttp.HandlerFor(reg, promhttp.HandlerOpts{}).ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	return rec.Body.String()
}

// exposition is the text exposition of one server's metrics.
func exposition(m *Metrics) string {
	reg := prometheus.NewRegistry()
	reg.MustRegister(m)
	return gather(reg)
}
