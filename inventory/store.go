package inventory

import "context"

// HostFilter narrows ListHosts; zero values match everything.
type HostFilter struct {
	State   State
	Role    string
	Cluster string
}

// Store persists the inventory. Every write is durable before it returns.
// Keys for hosts are a MAC (any spelling) or a hostname.
type Store interface {
	GetHost(ctx context.Context, key string) (*Host, error)
	ListHosts(ctx context.Context, f HostFilter) ([]Host, error)
	// PutHost creates or replaces the host whose first MAC is h.MACs[0].
	PutHost(ctx context.Context, h *Host) error
	// UpdateHost runs fn on the stored host inside one transaction and saves the result.
	UpdateHost(ctx context.Context, key string, fn func(*Host) error) (*Host, error)
	DeleteHost(ctx context.Context, key string) error

	GetProfile(ctx context.Context, name string) (*Profile, error)
	ListProfiles(ctx context.Context) ([]Profile, error)
	PutProfile(ctx context.Context, p *Profile) error
	DeleteProfile(ctx context.Context, name string) error

	GetLayout(ctx context.Context, name string) (*Layout, error)
	ListLayouts(ctx context.Context) ([]Layout, error)
	PutLayout(ctx context.Context, l *Layout) error
	DeleteLayout(ctx context.Context, name string) error

	GetCluster(ctx context.Context, name string) (*Cluster, error)
	ListClusters(ctx context.Context) ([]Cluster, error)
	PutCluster(ctx context.Context, c *Cluster) error
	DeleteCluster(ctx context.Context, name string) error

	// AddEvent appends to a host's timeline, keeping at most the store's event cap per host.
	AddEvent(ctx context.Context, e Event) error
	Events(ctx context.Context, hostID string, limit int) ([]Event, error)

	// Generation changes whenever hosts, profiles, layouts or clusters change,
	// in this process or another; callers key caches on it.
	Generation(ctx context.Context) (int64, error)

	Close() error
}
