package boot

import (
	"net/netip"
	"slices"
	"strings"

	"github.com/netkick/netkick/inventory"
)

// Binding is what is known about a request that would carry, or present, a
// host's build token: who asked, and what the network says about that address.
type Binding struct {
	// Host is the host whose token is at stake.
	Host *inventory.Host
	// Remote is the requester's source address.
	Remote netip.Addr
	// Known are the addresses the host holds now: its reservation and the
	// current DHCP lease of each of its MACs (in proxy mode, the address its
	// REQUEST asked for). Empty when none is known yet.
	Known []netip.Addr
	// Attached says Remote is on a segment this server is directly attached
	// to, where the kernel's neighbour table names its link-layer address.
	Attached bool
	// NeighMAC is the link-layer address the neighbour table holds for
	// Remote (after resolving it when there was no entry); "" when none.
	NeighMAC string
}

// TokenBinding decides whether the requester described by b is the machine
// the token belongs to: its source address must be one the host holds (a
// reservation or a current lease), and on a directly attached segment the
// neighbour table must map that address to one of the host's MACs. A nil
// result allows the token; a *Refusal says why not (for the log and the
// host's timeline, never for the client).
//
// A host with no known address gets no token: the first address a machine
// proves is the one DHCP gives it.
func TokenBinding(b Binding) error {
	h := b.Host
	if h == nil {
		return refuse("no host to bind the request from %s to", b.Remote)
	}
	if !b.Remote.IsValid() {
		return refuse("request for host %s has no source address", h.Hostname)
	}
	remote := b.Remote.Unmap()
	if len(b.Known) == 0 {
		return refuse("host %s has no reservation and no current lease, so %s cannot be checked: the token is given only once DHCP has assigned the host an address (or set one with `netkick host set %s --ip`)", h.Hostname, remote, h.Hostname)
	}
	if !slices.ContainsFunc(b.Known, func(a netip.Addr) bool { return a.Unmap() == remote }) {
		return refuse("request for host %s came from %s, which is not the host's address (%s)", h.Hostname, remote, joinAddrs(b.Known))
	}
	if !b.Attached {
		return nil
	}
	if b.NeighMAC == "" {
		return refuse("request for host %s from %s: the neighbour table has no link-layer address for it, even after asking", h.Hostname, remote)
	}
	mac, err := inventory.NormalizeMAC(b.NeighMAC)
	if err != nil || !slices.Contains(h.MACs, mac) {
		return refuse("request for host %s from %s: the neighbour table says %s is at %s, which is not one of the host's MACs (%s)", h.Hostname, remote, remote, b.NeighMAC, strings.Join(h.MACs, ", "))
	}
	return nil
}

func joinAddrs(as []netip.Addr) string {
	s := make([]string, len(as))
	for i, a := range as {
		s[i] = a.String()
	}
	return strings.Join(s, ", ")
}
