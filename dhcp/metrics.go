package dhcp

import (
	"sync/atomic"
	"time"

	"github.com/insomniacslk/dhcp/dhcpv4"
	"github.com/prometheus/client_golang/prometheus"
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

// replyBuckets are the upper bounds (seconds) of the reply latency
// histogram: a reply waits for its lease to be durable, so disk syncs
// (milliseconds) and a shared store's round trips land in the middle.
func replyBuckets() []float64 {
	return []float64{0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1}
}

// decisionBuckets are the upper bounds (seconds) of the decision
// histogram: deciding is in memory, so microseconds to a millisecond.
func decisionBuckets() []float64 {
	return []float64{0.00001, 0.000025, 0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.01}
}

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
// from receiving a request to sending its OFFER or ACK (lease commit
// included) and the time the decision alone takes. It is a
// prometheus.Collector: New registers it on Options.Registerer.
type Metrics struct {
	packets  [numTypes][numOutcomes]atomic.Uint64
	probes   [numProbeResults]atomic.Uint64
	reply    prometheus.Histogram
	decision prometheus.Histogram
	pool     func() []poolStat
	// sightings, under policy discover, says how many sightings of unknown
	// machines were recorded and dropped (Server.Sightings).
	sightings func() (recorded, dropped uint64)
	// admWaiting, when admission is on, says how many DISCOVERs wait;
	// admHeld counts those held, admReleased and admExpired those answered
	// because the load let them go or because they waited hold_max.
	admWaiting func() int
	// admBound, when admission is on, is the hold bound now.
	admBound                         func() int
	admHeld, admReleased, admExpired atomic.Uint64

	// shared is true for a server allocating through a shared store;
	// storeDown while that store's last batch of claims failed.
	shared, storeDown atomic.Bool

	packetsDesc, probesDesc, poolDesc, leasesDesc, storeUpDesc, sightingsDesc *prometheus.Desc
	waitingDesc, heldDesc, releasedDesc, boundDesc                            *prometheus.Desc
}

// Admission returns how many first-stage DISCOVERs wait now, and how many
// were held, answered once the load let them, and answered because they
// had waited hold_max.
func (m *Metrics) Admission() (waiting int, held, released, expired uint64) {
	if m.admWaiting != nil {
		waiting = m.admWaiting()
	}
	return waiting, m.admHeld.Load(), m.admReleased.Load(), m.admExpired.Load()
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

func newMetrics() *Metrics {
	return &Metrics{
		reply: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "netkick_dhcp_reply_seconds",
			Help: "Time from request to OFFER/ACK sent, lease commit included (a DISCOVER held for admission: from its release).", Buckets: replyBuckets()}),
		decision: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "netkick_dhcp_decision_seconds",
			Help: "Time to decide the reply to one DHCP packet (host lookup, boot decision, address), without sending or committing.", Buckets: decisionBuckets()}),
		packetsDesc: prometheus.NewDesc("netkick_dhcp_packets_total", "DHCP packets received, by message type and outcome.", []string{"type", "outcome"}, nil),
		probesDesc:  prometheus.NewDesc("netkick_dhcp_decline_probes_total", "Probes of declined reserved addresses, by result (free and owner give the address back).", []string{"result"}, nil),
		poolDesc:    prometheus.NewDesc("netkick_dhcp_pool_addresses", "Addresses in a subnet's pools.", []string{"subnet"}, nil),
		leasesDesc:  prometheus.NewDesc("netkick_dhcp_leases_active", "Active (bound or declined) leases in a subnet.", []string{"subnet"}, nil),
		storeUpDesc: prometheus.NewDesc("netkick_dhcp_lease_store_up",
			"1 while the shared lease store takes this server's claims, 0 while it fails (renewals up to the stored expiry only, no new leases).", nil, nil),
		sightingsDesc: prometheus.NewDesc("netkick_dhcp_discovery_sightings_total",
			"Sightings of unknown machines under dhcp.unknown: discover, by result (recorded in the discovered table, or dropped because the queue was full).", []string{"result"}, nil),
		waitingDesc: prometheus.NewDesc("netkick_dhcp_admission_waiting",
			"PXE firmware DISCOVERs held now because the boot chain is at dhcp.hold_load.", nil, nil),
		boundDesc: prometheus.NewDesc("netkick_dhcp_admission_bound",
			"The TFTP transfers in flight at and above which PXE firmware DISCOVERs wait now: dhcp.hold_load, lowered while the TFTP per-block time shows the CPUs saturated.", nil, nil),
		heldDesc: prometheus.NewDesc("netkick_dhcp_admission_held_total",
			"PXE firmware DISCOVERs held because the boot chain was at dhcp.hold_load (one per machine, retransmits not counted).", nil, nil),
		releasedDesc: prometheus.NewDesc("netkick_dhcp_admission_released_total",
			"Held DISCOVERs answered, by reason: load (the boot chain fell below dhcp.hold_load) or expired (waited dhcp.hold_max).", []string{"reason"}, nil),
	}
}

func (m *Metrics) count(t msgType, o outcome) { m.packets[t][o].Add(1) }

func (m *Metrics) observe(d time.Duration) { m.reply.Observe(d.Seconds()) }

// decided records how long a decision took that began at start.
func (m *Metrics) decided(start time.Time) { m.decision.Observe(time.Since(start).Seconds()) }

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

// Describe implements prometheus.Collector.
func (m *Metrics) Describe(ch chan<- *prometheus.Desc) {
	ch <- m.packetsDesc
	ch <- m.probesDesc
	ch <- m.poolDesc
	ch <- m.leasesDesc
	ch <- m.storeUpDesc
	ch <- m.sightingsDesc
	ch <- m.waitingDesc
	ch <- m.boundDesc
	ch <- m.heldDesc
	ch <- m.releasedDesc
	m.reply.Describe(ch)
	m.decision.Describe(ch)
}

// Collect implements prometheus.Collector: packet counts that happened,
// every probe result, the pools' sizes and active leases, and under policy
// discover the sightings recorded and dropped.
func (m *Metrics) Collect(ch chan<- prometheus.Metric) {
	for t := range typeNames {
		for o := range outcomeNames {
			if v := m.packets[t][o].Load(); v > 0 {
				ch <- prometheus.MustNewConstMetric(m.packetsDesc, prometheus.CounterValue, float64(v), typeNames[t], outcomeNames[o])
			}
		}
	}
	for i, n := range probeNames {
		ch <- prometheus.MustNewConstMetric(m.probesDesc, prometheus.CounterValue, float64(m.probes[i].Load()), n)
	}
	if m.shared.Load() {
		up := 1.0
		if m.storeDown.Load() {
			up = 0
		}
		ch <- prometheus.MustNewConstMetric(m.storeUpDesc, prometheus.GaugeValue, up)
	}
	if m.sightings != nil {
		rec, drop := m.sightings()
		ch <- prometheus.MustNewConstMetric(m.sightingsDesc, prometheus.CounterValue, float64(rec), "recorded")
		ch <- prometheus.MustNewConstMetric(m.sightingsDesc, prometheus.CounterValue, float64(drop), "dropped")
	}
	if m.admWaiting != nil {
		ch <- prometheus.MustNewConstMetric(m.waitingDesc, prometheus.GaugeValue, float64(m.admWaiting()))
		if m.admBound != nil {
			ch <- prometheus.MustNewConstMetric(m.boundDesc, prometheus.GaugeValue, float64(m.admBound()))
		}
		ch <- prometheus.MustNewConstMetric(m.heldDesc, prometheus.CounterValue, float64(m.admHeld.Load()))
		ch <- prometheus.MustNewConstMetric(m.releasedDesc, prometheus.CounterValue, float64(m.admReleased.Load()), "load")
		ch <- prometheus.MustNewConstMetric(m.releasedDesc, prometheus.CounterValue, float64(m.admExpired.Load()), "expired")
	}
	if m.pool != nil {
		for _, s := range m.pool() {
			ch <- prometheus.MustNewConstMetric(m.poolDesc, prometheus.GaugeValue, float64(s.size), s.subnet)
			ch <- prometheus.MustNewConstMetric(m.leasesDesc, prometheus.GaugeValue, float64(s.active), s.subnet)
		}
	}
	m.reply.Collect(ch)
	m.decision.Collect(ch)
}
