//go:build !linux

package dhcp

import (
	"errors"
	"net/netip"
)

func newARPProber(ifname string, self netip.Addr) (prober, error) {
	return nil, errors.New("ARP probes need Linux (AF_PACKET)")
}
