package invtest

import (
	"context"

	"github.com/netkick/netkick/inventory"
)

// Broken is a Store whose database is gone: every call fails with Err
// (Close succeeds). Tests use it to check that a store failure is reported
// as one (a 5xx, a refusal, a degraded health check), never as "not found"
// or a crash.
type Broken struct{ Err error }

var _ inventory.Store = Broken{}

// Close succeeds.
func (Broken) Close() error { return nil }

// GetHost fails with Err.
func (b Broken) GetHost(_ context.Context, _ string) (*inventory.Host, error) { return nil, b.Err }

// ListHosts fails with Err.
func (b Broken) ListHosts(_ context.Context, _ inventory.HostFilter) ([]inventory.Host, error) {
	return nil, b.Err
}

// PutHost fails with Err.
func (b Broken) PutHost(_ context.Context, _ *inventory.Host) error { return b.Err }

// PutHosts fails with Err.
func (b Broken) PutHosts(_ context.Context, _ []inventory.Host) error { return b.Err }

// UpdateHost fails with Err.
func (b Broken) UpdateHost(_ context.Context, _ string, _ func(*inventory.Host) error) (*inventory.Host, error) {
	return nil, b.Err
}

// UpdateHostLogged fails with Err.
func (b Broken) UpdateHostLogged(_ context.Context, _ string, _ func(*inventory.Host) (*inventory.Event, error)) (*inventory.Host, error) {
	return nil, b.Err
}

// PutHostLogged fails with Err.
func (b Broken) PutHostLogged(_ context.Context, _ *inventory.Host, _ inventory.Event) error {
	return b.Err
}

// DeleteHost fails with Err.
func (b Broken) DeleteHost(_ context.Context, _ string) error { return b.Err }

// GetProfile fails with Err.
func (b Broken) GetProfile(_ context.Context, _ string) (*inventory.Profile, error) {
	return nil, b.Err
}

// ListProfiles fails with Err.
func (b Broken) ListProfiles(_ context.Context) ([]inventory.Profile, error) { return nil, b.Err }

// PutProfile fails with Err.
func (b Broken) PutProfile(_ context.Context, _ *inventory.Profile) error { return b.Err }

// DeleteProfile fails with Err.
func (b Broken) DeleteProfile(_ context.Context, _ string) error { return b.Err }

// GetLayout fails with Err.
func (b Broken) GetLayout(_ context.Context, _ string) (*inventory.Layout, error) { return nil, b.Err }

// ListLayouts fails with Err.
func (b Broken) ListLayouts(_ context.Context) ([]inventory.Layout, error) { return nil, b.Err }

// PutLayout fails with Err.
func (b Broken) PutLayout(_ context.Context, _ *inventory.Layout) error { return b.Err }

// DeleteLayout fails with Err.
func (b Broken) DeleteLayout(_ context.Context, _ string) error { return b.Err }

// GetCluster fails with Err.
func (b Broken) GetCluster(_ context.Context, _ string) (*inventory.Cluster, error) {
	return nil, b.Err
}

// ListClusters fails with Err.
func (b Broken) ListClusters(_ context.Context) ([]inventory.Cluster, error) { return nil, b.Err }

// PutCluster fails with Err.
func (b Broken) PutCluster(_ context.Context, _ *inventory.Cluster) error { return b.Err }

// DeleteCluster fails with Err.
func (b Broken) DeleteCluster(_ context.Context, _ string) error { return b.Err }

// AddEvent fails with Err.
func (b Broken) AddEvent(_ context.Context, _ inventory.Event) error { return b.Err }

// Events fails with Err.
func (b Broken) Events(_ context.Context, _ string, _ int) ([]inventory.Event, error) {
	return nil, b.Err
}

// Leases fails with Err.
func (b Broken) Leases(_ context.Context) ([]inventory.Lease, error) { return nil, b.Err }

// SaveLeases fails with Err.
func (b Broken) SaveLeases(_ context.Context, _ []inventory.Lease) error { return b.Err }

// LeaseIP fails with Err.
func (b Broken) LeaseIP(_ context.Context, _ string) (string, error) { return "", b.Err }

// HostIDByLease fails with Err.
func (b Broken) HostIDByLease(_ context.Context, _ string) (string, error) { return "", b.Err }

// AddToken fails with Err.
func (b Broken) AddToken(_ context.Context, _ inventory.APIToken) error { return b.Err }

// ListTokens fails with Err.
func (b Broken) ListTokens(_ context.Context) ([]inventory.APIToken, error) { return nil, b.Err }

// DeleteToken fails with Err.
func (b Broken) DeleteToken(_ context.Context, _ string) error { return b.Err }

// TokenByHash fails with Err.
func (b Broken) TokenByHash(_ context.Context, _ string) (*inventory.APIToken, error) {
	return nil, b.Err
}

// Generation fails with Err.
func (b Broken) Generation(_ context.Context) (int64, error) { return 0, b.Err }

// HostsChangedSince fails with Err.
func (b Broken) HostsChangedSince(_ context.Context, _ int64) (inventory.HostChanges, error) {
	return inventory.HostChanges{}, b.Err
}

// WriteBatch fails with Err.
func (b Broken) WriteBatch(_ context.Context, _ *inventory.Batch) error { return b.Err }
