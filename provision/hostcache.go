package provision

import (
	"context"
	"slices"
	"strings"
	"sync"

	"github.com/netkick/netkick/inventory"
)

// AllHosts returns every host, sorted by hostname (byte order), current at
// the store's generation. The list is shared by every caller (the web page's
// views and event streams, GET /api/v1/hosts): read it, never change it, nor
// the slices and maps of its hosts.
func (s *Service) AllHosts(ctx context.Context) ([]inventory.Host, error) {
	return s.hosts.all(ctx, s.o.Store)
}

// ListHosts returns the hosts f selects, sorted by hostname, as the store's
// ListHosts does, from the list AllHosts keeps. Read it, never change it.
func (s *Service) ListHosts(ctx context.Context, f inventory.HostFilter) ([]inventory.Host, error) {
	all, err := s.AllHosts(ctx)
	if err != nil {
		return nil, err
	}
	return FilterHosts(all, f), nil
}

// FilterHosts returns the hosts f selects (state, role, cluster), in the
// order given: hosts itself when f selects every host, else a new slice.
func FilterHosts(hosts []inventory.Host, f inventory.HostFilter) []inventory.Host {
	if f == (inventory.HostFilter{}) {
		return hosts
	}
	var out []inventory.Host
	for i := range hosts {
		h := &hosts[i]
		if f.State != "" && h.State != f.State || f.Role != "" && !h.HasRole(f.Role) || f.Cluster != "" && h.Cluster != f.Cluster {
			continue
		}
		out = append(out, *h)
	}
	return out
}

// hostCache holds the decoded host list for the store generation it was
// read at: every page view, event stream and API list shares it. The first
// read takes every host; after that a new generation only reads the hosts
// written or removed since (inventory.Store.HostsChangedSince) and patches
// the list, or replaces it when the store answers every host (Full: the
// list was older than the tombstones of removed hosts the store keeps).
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
	since := int64(-1)
	if c.valid {
		since = c.gen
	}
	ch, err := st.HostsChangedSince(ctx, since)
	if err != nil {
		return nil, err
	}
	if c.valid && !ch.Full {
		c.hosts = patchHosts(c.hosts, ch)
	} else { // first read, or too far behind the store's tombstones: every host
		c.hosts = ch.Changed
	}
	c.gen, c.valid = ch.Generation, true
	return c.hosts, nil
}

// patchHosts applies changes to a host list sorted by hostname and returns
// the new list, sorted the same way. The old list is left as it was (readers
// may still hold it); when nothing changed it is returned itself.
func patchHosts(old []inventory.Host, ch inventory.HostChanges) []inventory.Host {
	if len(ch.Changed) == 0 && len(ch.Deleted) == 0 {
		return old
	}
	gone := make(map[string]bool, len(ch.Deleted)+len(ch.Changed))
	for _, id := range ch.Deleted {
		gone[id] = true
	}
	for i := range ch.Changed {
		gone[ch.Changed[i].ID()] = true // replaced by its new version below
	}
	// One pass: keep what stayed, merging in the changed hosts (sorted by hostname).
	changed := slices.Clone(ch.Changed)
	slices.SortFunc(changed, byHostname)
	out := make([]inventory.Host, 0, len(old)+len(changed))
	j := 0
	for i := range old {
		if gone[old[i].ID()] {
			continue
		}
		for j < len(changed) && byHostname(changed[j], old[i]) < 0 {
			out = append(out, changed[j])
			j++
		}
		out = append(out, old[i])
	}
	return append(out, changed[j:]...)
}

func byHostname(a, b inventory.Host) int { return strings.Compare(a.Hostname, b.Hostname) }
