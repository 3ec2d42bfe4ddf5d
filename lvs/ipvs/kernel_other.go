//go:build !(linux && amd64)

package ipvs

import (
	"context"
	"time"
)

// Handle is unavailable on this platform; Open always fails.
type Handle struct{}

// Open reports that IPVS is unsupported here (libipvs builds only on linux/amd64).
func Open(ctx context.Context, timeout time.Duration) (*Handle, error) {
	return nil, ErrUnsupported
}

// Table always fails with ErrUnsupported.
func (*Handle) Table(context.Context) (Table, error) { return nil, ErrUnsupported }

// Apply always fails with ErrUnsupported.
func (*Handle) Apply(context.Context, Change) error { return ErrUnsupported }
