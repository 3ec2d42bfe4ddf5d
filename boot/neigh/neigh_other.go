//go:build !linux

package neigh

import (
	"context"
	"net/netip"
)

// Table is unavailable outside Linux.
type Table struct{}

// Open reports ErrUnsupported outside Linux.
func Open(Options) (*Table, error) { return nil, ErrUnsupported }

// Close does nothing.
func (*Table) Close() error { return nil }

// Lookup reports ErrUnsupported.
func (*Table) Lookup(context.Context, netip.Addr) (Entry, error) { return Entry{}, ErrUnsupported }
