package dhcp

import (
	"fmt"
	"io"
	"sync/atomic"
	"time"

	"github.com/insomniacslk/dhcp/dhcpv4"
)

type msgType int

const (
	typeDiscover msgType = iota
	typeRequest
	typeDecline
	typeRelease
	typeInform
	typeOther
	typeInvalid
	numTypes
)

var typeNames = [numTypes]string{"discover", "request", "decline", "release", "inform", "other", "invalid"}

type outcome int

const (
	outOffer outcome = iota
	outAck
	outNak
	outIgnored
	outReleased
	outDeclined
	outNoAddress
	outDropped
	outBad
	outError
	numOutcomes
)

var outcomeNames = [numOutcomes]string{"offer", "ack", "nak", "ignored", "released", "declined", "no_address", "dropped", "bad", "error"}

func typeOf(req *dhcpv4.DHCPv4) msgType {
	switch req.MessageType() {
	case dhcpv4.MessageTypeDiscover:
		return typeDiscover
	case dhcpv4.MessageTypeRequest:
		return typeRequest
	case dhcpv4.MessageTypeDecline:
		return typeDecline
	case dhcpv4.MessageTypeRelease:
		return typeRelease
	case dhcpv4.MessageTypeInform:
		return typeInform
	}
	return typeOther
}

// latencyBuckets are the upper bounds (seconds) of the reply latency histogram.
var latencyBuckets = [...]float64{0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1}

// Results of probing a declined reservation.
const (
	probeFree  = iota // nobody answered: given back
	probeOwner        // only the host's own MAC answered: given back
	probeInUse        // another MAC answered: kept out
	probeError        // could not probe: kept out for the decline hold
	numProbeResults
)

var probeNames = [numProbeResults]string{"free", "owner", "in_use", "error"}

type poolStat struct {
	subnet       string
	active, size int
}

// Metrics counts packets by message type and outcome, and measures the time
// from receiving a request to sending its OFFER or ACK (lease commit included).
type Metrics struct {
	packets [numTypes][numOutcomes]atomic.Uint64
	buckets [len(latencyBuckets) + 1]atomic.Uint64
	sumNs   atomic.Uint64
	probes  [numProbeResults]atomic.Uint64
	pool    func() []poolStat
	// shared is true for a server allocating through a shared store;
	// storeDown while that store's last batch of claims failed.
	shared, storeDown atomic.Bool
}

func (m *Metrics) probed(result int) { m.probes[result].Add(1) }

// Probes returns how many probes of declined reservations ended with a
// result ("free", "owner", "in_use", "error").
func (m *Metrics) Probes(result string) uint64 {
	for i, n := range probeNames {
		if n == result {
			return m.probes[i].Load()
		}
	}
	return 0
}

func newMetrics() *Metrics { return &Metrics{} }

func (m *Metrics) count(t msgType, o outcome) { m.packets[t][o].Add(1) }

func (m *Metrics) observe(d time.Duration) {
	sec := d.Seconds()
	i := 0
	for i < len(latencyBuckets) && sec > latencyBuckets[i] {
		i++
	}
	m.buckets[i].Add(1)
	m.sumNs.Add(uint64(d.Nanoseconds()))
}

// Count returns how many packets of a type ("discover", …) ended with an
// outcome ("offer", "ack", "dropped", …).
func (m *Metrics) Count(typ, out string) uint64 {
	for t, tn := range typeNames {
		for o, on := range outcomeNames {
			if tn == typ && on == out {
				return m.packets[t][o].Load()
			}
		}
	}
	return 0
}

// WriteMetrics writes the counters in the Prometheus text format (httpd's
// /metrics appends it).
func (m *Metrics) WriteMetrics(w io.Writer) {
	p := func(format string, a ...any) { fmt.Fprintf(w, format, a...) }
	p("# HELP netkick_dhcp_packets_total DHCP packets received, by message type and outcome.\n# TYPE netkick_dhcp_packets_total counter\n")
	for t := range typeNames {
		for o := range outcomeNames {
			if v := m.packets[t][o].Load(); v > 0 {
				p("netkick_dhcp_packets_total{type=%q,outcome=%q} %d\n", typeNames[t], outcomeNames[o], v)
			}
		}
	}
	p("# HELP netkick_dhcp_reply_seconds Time from request to OFFER/ACK sent, lease commit included.\n# TYPE netkick_dhcp_reply_seconds histogram\n")
	var cum uint64
	for i, b := range latencyBuckets {
		cum += m.buckets[i].Load()
		p("netkick_dhcp_reply_seconds_bucket{le=\"%g\"} %d\n", b, cum)
	}
	cum += m.buckets[len(latencyBuckets)].Load()
	p("netkick_dhcp_reply_seconds_bucket{le=\"+Inf\"} %d\n", cum)
	p("netkick_dhcp_reply_seconds_sum %g\nnetkick_dhcp_reply_seconds_count %d\n", float64(m.sumNs.Load())/1e9, cum)
	p("# HELP netkick_dhcp_decline_probes_total Probes of declined reserved addresses, by result (free and owner give the address back).\n# TYPE netkick_dhcp_decline_probes_total counter\n")
	for i, n := range probeNames {
		p("netkick_dhcp_decline_probes_total{result=%q} %d\n", n, m.probes[i].Load())
	}
	if m.shared.Load() {
		up := 1
		if m.storeDown.Load() {
			up = 0
		}
		p("# HELP netkick_dhcp_lease_store_up 1 while the shared lease store takes this server's claims, 0 while it fails (renewals up to the stored expiry only, no new leases).\n# TYPE netkick_dhcp_lease_store_up gauge\n")
		p("netkick_dhcp_lease_store_up %d\n", up)
	}
	if m.pool != nil {
		ps := m.pool()
		p("# HELP netkick_dhcp_pool_addresses Addresses in a subnet's pools.\n# TYPE netkick_dhcp_pool_addresses gauge\n")
		for _, s := range ps {
			p("netkick_dhcp_pool_addresses{subnet=%q} %d\n", s.subnet, s.size)
		}
		p("# HELP netkick_dhcp_leases_active Active (bound or declined) leases in a subnet.\n# TYPE netkick_dhcp_leases_active gauge\n")
		for _, s := range ps {
			p("netkick_dhcp_leases_active{subnet=%q} %d\n", s.subnet, s.active)
		}
	}
}
