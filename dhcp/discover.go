package dhcp

import (
	"context"
	"encoding/hex"
	"fmt"
	"net/netip"
	"sync/atomic"
	"time"

	"github.com/insomniacslk/dhcp/dhcpv4"
	"github.com/netkick/netkick/inventory"
)

// Discoveries is where policy discover records the machines it sees
// (inventory's stores have it).
type Discoveries interface {
	RecordDiscovered(ctx context.Context, seen inventory.Discovered, max int) (int, error)
}

// discovery is the server's state of policy discover.
type discovery struct {
	discovered   Discoveries // nil unless dhcp.unknown is discover
	discoverNets []netip.Prefix
	discoverIf   bool // dhcp.discover names the interface
	seenQueue    chan inventory.Discovered
	// sightRecorded and sightDropped count the sightings written and those
	// dropped because the queue was full.
	sightRecorded, sightDropped atomic.Uint64
}

// Sightings returns how many sightings of unknown machines were recorded
// and how many were dropped (queue full under a flood).
func (s *Server) Sightings() (recorded, dropped uint64) {
	return s.sightRecorded.Load(), s.sightDropped.Load()
}

// setupDiscovery prepares policy discover (a no-op for the other policies).
func (s *Server) setupDiscovery(st Store) error {
	if s.cfg.Unknown != UnknownDiscover {
		return nil
	}
	ds, ok := st.(Discoveries)
	if !ok {
		return fmt.Errorf("dhcp.unknown is discover but the store (%T) keeps no discovered machines", st)
	}
	nets, err := s.cfg.Discover.discoverNets()
	if err != nil {
		return err
	}
	s.discovered, s.discoverNets = ds, nets
	s.discoverIf = s.cfg.Discover.discoverOn(s.cfg.Interface)
	s.seenQueue = make(chan inventory.Discovered, sightingQueue)
	return nil
}

// sightingQueue bounds the sightings waiting for the store: under a flood
// of unknown MACs the rest are dropped, never blocking a worker.
const sightingQueue = 1024

// discoverHere reports whether dhcp.discover names this server's interface
// and the subnet si (the interface's or a relay's) serves.
func (s *Server) discoverHere(si int) bool {
	if !s.discoverIf || si < 0 {
		return false
	}
	p := s.subnets[si].prefix
	for _, n := range s.discoverNets {
		if n.Overlaps(p) {
			return true
		}
	}
	return false
}

// discoverHereProxy is discoverHere for proxy mode, which has no subnets of
// its own: the server's address must lie in a network dhcp.discover names.
func (s *Server) discoverHereProxy() bool {
	if !s.discoverIf || !s.serverIP.IsValid() {
		return false
	}
	for _, n := range s.discoverNets {
		if n.Contains(s.serverIP) {
			return true
		}
	}
	return false
}

// sightingOf is what one packet says about an unknown machine. Every text is
// the machine's (or its relay's) and is cleaned by the store.
func sightingOf(req *dhcpv4.DHCPv4, mac, firmware string, addr netip.Addr, now time.Time) inventory.Discovered {
	d := inventory.Discovered{
		MAC:         mac,
		Arch:        firmware,
		VendorClass: req.ClassIdentifier(),
		Hostname:    req.HostName(),
		LastSeen:    now.UTC(),
	}
	if ri := req.RelayAgentInfo(); ri != nil {
		d.CircuitID = relayText(ri.Get(dhcpv4.GenericOptionCode(1)))
		d.RemoteID = relayText(ri.Get(dhcpv4.GenericOptionCode(2)))
	}
	if addr.IsValid() {
		d.Addresses = []string{addr.String()}
	}
	return d
}

// relayText shows an option 82 sub-option: printable ASCII as it is (most
// switches send "eth1/0/7" or a name), anything else in hex.
func relayText(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	for _, c := range b {
		if c < 0x20 || c >= 0x7f {
			return "hex:" + hex.EncodeToString(b)
		}
	}
	return string(b)
}

// sight queues a sighting for the store (dropped when the queue is full).
func (s *Server) sight(d inventory.Discovered) {
	if s.discovered == nil {
		return
	}
	select {
	case s.seenQueue <- d:
	default:
		s.sightDropped.Add(1)
	}
}

// sightingLoop writes the queued sightings.
func (s *Server) sightingLoop(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case d := <-s.seenQueue:
			evicted, err := s.discovered.RecordDiscovered(ctx, d, s.cfg.Discover.Max)
			if err != nil {
				if ctx.Err() == nil {
					s.log.Warn("dhcp: record discovered machine", "mac", d.MAC, "err", err)
				}
				continue
			}
			s.sightRecorded.Add(1)
			if evicted > 0 {
				s.log.Debug("dhcp: discovered table full; forgot the machines seen longest ago", "evicted", evicted, "max", s.cfg.Discover.Max)
			}
		}
	}
}
