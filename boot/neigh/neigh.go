// Package neigh answers, for a client address, whether it is on a segment
// this machine is directly attached to and, if so, which link-layer address
// the kernel's neighbour table holds for it. It is the I/O edge of the token
// binding that boot.TokenBinding decides: a route lookup (RTM_GETROUTE) and a
// neighbour lookup (RTM_GETNEIGH) over one rtnetlink socket, and, when the
// table has no entry yet, one datagram to the address so that the kernel
// resolves it, then a bounded wait.
package neigh

import (
	"context"
	"errors"
	"net/netip"
	"time"
)

// DefaultResolveWait bounds the wait for the kernel to resolve an address
// that has no neighbour entry yet.
const DefaultResolveWait = time.Second

// Entry is what the kernel says about a client address.
type Entry struct {
	// Attached: the route to the address is a direct one (no gateway) over
	// an interface, so its link-layer address is in the neighbour table.
	// False for routed clients (behind a relay) and for this machine's own
	// addresses.
	Attached bool
	// Ifindex is the interface the address is reached over (0 when not attached).
	Ifindex int
	// MAC is the neighbour table's link-layer address for the address,
	// "aa:bb:cc:dd:ee:ff"; "" when it has none (after resolving was tried).
	MAC string
}

// ErrUnsupported is returned by Open where there is no rtnetlink (not Linux).
var ErrUnsupported = errors.New("neighbour table lookups need Linux rtnetlink")

// Options tune a Table.
type Options struct {
	// ResolveWait bounds the wait for an unresolved address (DefaultResolveWait when 0).
	ResolveWait time.Duration
}

// Lookup is the contract callers use (a *Table satisfies it).
type Lookup interface {
	Lookup(ctx context.Context, addr netip.Addr) (Entry, error)
}
