package inventory

import "context"

// HostFilter narrows ListHosts; zero values match everything.
type HostFilter struct {
	State   State
	Role    string
	Cluster string
}

// Hosts keeps the inventory's machines. Keys are a MAC (any spelling) or a
// hostname. Every write is durable before it returns.
type Hosts interface {
	GetHost(ctx context.Context, key string) (*Host, error)
	// ListHosts returns the hosts f selects, sorted by hostname in byte
	// order (both stores, whatever PostgreSQL's collation).
	ListHosts(ctx context.Context, f HostFilter) ([]Host, error)
	// PutHost creates or replaces the host whose first MAC is h.MACs[0].
	PutHost(ctx context.Context, h *Host) error
	// PutHosts creates or replaces many hosts in one transaction: all or none.
	PutHosts(ctx context.Context, hosts []Host) error
	// UpdateHost runs fn on the stored host inside one transaction and saves the result.
	UpdateHost(ctx context.Context, key string, fn func(*Host) error) (*Host, error)
	// UpdateHostLogged is UpdateHost whose fn may also return an event for
	// the host's timeline: the change and its event commit together.
	UpdateHostLogged(ctx context.Context, key string, fn func(*Host) (*Event, error)) (*Host, error)
	// PutHostLogged is PutHost with a timeline event committed with it.
	PutHostLogged(ctx context.Context, h *Host, ev Event) error
	DeleteHost(ctx context.Context, key string) error
}

// Documents keeps the named documents hosts refer to: profiles and layouts.
type Documents interface {
	GetProfile(ctx context.Context, name string) (*Profile, error)
	ListProfiles(ctx context.Context) ([]Profile, error)
	PutProfile(ctx context.Context, p *Profile) error
	DeleteProfile(ctx context.Context, name string) error

	GetLayout(ctx context.Context, name string) (*Layout, error)
	ListLayouts(ctx context.Context) ([]Layout, error)
	PutLayout(ctx context.Context, l *Layout) error
	DeleteLayout(ctx context.Context, name string) error
}

// Clusters keeps the LVS clusters.
type Clusters interface {
	GetCluster(ctx context.Context, name string) (*Cluster, error)
	ListClusters(ctx context.Context) ([]Cluster, error)
	PutCluster(ctx context.Context, c *Cluster) error
	DeleteCluster(ctx context.Context, name string) error
}

// Events keeps the hosts' timelines.
type Events interface {
	// AddEvent appends to a host's timeline, keeping at most the store's event cap per host.
	AddEvent(ctx context.Context, e Event) error
	Events(ctx context.Context, hostID string, limit int) ([]Event, error)
}

// Leases keeps DHCP leases, one per address.
type Leases interface {
	// Leases returns every stored lease, ordered by address text.
	Leases(ctx context.Context) ([]Lease, error)
	// SaveLeases writes a batch (insert or replace by address) in one
	// transaction; when it returns nil the batch is durable.
	SaveLeases(ctx context.Context, ls []Lease) error
	// LeaseIP returns the address a MAC holds by an active lease, or ErrNotFound.
	LeaseIP(ctx context.Context, mac string) (string, error)
	// HostIDByLease returns the host whose MAC holds ip by an active lease, or ErrNotFound.
	HostIDByLease(ctx context.Context, ip string) (string, error)
}

// Tokens keeps named API tokens (hashes only).
type Tokens interface {
	AddToken(ctx context.Context, t APIToken) error
	ListTokens(ctx context.Context) ([]APIToken, error)
	DeleteToken(ctx context.Context, name string) error
	TokenByHash(ctx context.Context, hash string) (*APIToken, error)
}

// Store persists the whole inventory: every ability above. Both the
// embedded SQLite store and the shared PostgreSQL store implement it.
type Store interface {
	Hosts
	Documents
	Clusters
	Events
	Leases
	Tokens
	Batches

	// Generation changes whenever hosts, profiles, layouts or clusters change,
	// in this process or another; callers key caches on it.
	Generation(ctx context.Context) (int64, error)
	// HostsChangedSince returns the hosts written and removed after
	// generation since, in one snapshot, for readers that patch a copy of
	// the host list instead of reading it whole. since < 0, or a since older
	// than the tombstones of removed hosts kept, answers every host with
	// Full set: the reader replaces its copy.
	HostsChangedSince(ctx context.Context, since int64) (HostChanges, error)

	Close() error
}

var (
	_ Store = (*SQLite)(nil)
	_ Store = (*Postgres)(nil)
)
