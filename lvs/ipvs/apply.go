package ipvs

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Kernel is the IPVS table of one network namespace. The libipvs-backed
// implementation comes from Open; tests use a table in memory.
type Kernel interface {
	// Table reads every (non-fwmark) service with its servers and counters.
	Table(ctx context.Context) (Table, error)
	// Apply performs one change.
	Apply(ctx context.Context, c Change) error
}

// ErrUnsupported is returned by Open where libipvs cannot run (anything but linux/amd64).
var ErrUnsupported = errors.New("IPVS is unsupported on this platform: netkick lvs apply/status need linux/amd64")

// DefaultTimeout bounds each netlink call (libipvs has no context support and
// can block forever once its receive loop dies).
const DefaultTimeout = 5 * time.Second

// Apply brings the kernel's table to desired: it reads the current table,
// computes Diff and applies each change in order, returning the changes made.
// A second Apply with the same desired table changes nothing. On error it
// returns the changes already applied and the failing one in the error.
func Apply(ctx context.Context, k Kernel, desired Table) ([]Change, error) {
	cur, err := k.Table(ctx)
	if err != nil {
		return nil, fmt.Errorf("reading the IPVS table: %w", err)
	}
	changes := Diff(desired, cur)
	for i, c := range changes {
		if err := k.Apply(ctx, c); err != nil {
			return changes[:i], fmt.Errorf("applying %q: %w", c.String(), err)
		}
	}
	return changes, nil
}
