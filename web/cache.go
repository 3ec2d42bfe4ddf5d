package web

import (
	"context"
	"sync"

	"github.com/netkick/netkick/inventory"
)

// hostCache holds the decoded host list for the store generation it was
// read at: every page view and event stream shares one read per change
// instead of decoding every host per request.
type hostCache struct {
	mu    sync.Mutex
	gen   int64
	valid bool
	hosts []inventory.Host
}

// all returns every host, sorted by hostname. The slice is shared: read it, never change it.
func (c *hostCache) all(ctx context.Context, st inventory.Store) ([]inventory.Host, error) {
	gen, err := st.Generation(ctx)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.valid && c.gen == gen {
		return c.hosts, nil
	}
	hosts, err := st.ListHosts(ctx, inventory.HostFilter{})
	if err != nil {
		return nil, err
	}
	c.gen, c.hosts, c.valid = gen, hosts, true
	return hosts, nil
}
