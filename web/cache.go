package web

import (
	"context"
	"slices"
	"strings"
	"sync"

	"github.com/netkick/netkick/inventory"
)

// hostCache holds the decoded host list for the store generation it was
// read at: every page view and event stream shares it. The first read takes
// every host; after that a new generation only reads the hosts written or
// removed since (inventory.Store.HostsChangedSince) and patches the list.
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
	if c.valid {
		c.hosts = patchHosts(c.hosts, ch)
	} else {
		// The store's collation may order names otherwise than bytes do.
		slices.SortFunc(ch.Changed, byHostname)
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
	out := make([]inventory.Host, 0, len(old)+len(ch.Changed))
	for i := range old {
		if !gone[old[i].ID()] {
			out = append(out, old[i])
		}
	}
	// Merge the changed hosts (sorted by hostname) into the kept ones.
	changed := slices.Clone(ch.Changed)
	slices.SortFunc(changed, byHostname)
	merged := make([]inventory.Host, 0, len(out)+len(changed))
	i, j := 0, 0
	for i < len(out) && j < len(changed) {
		if byHostname(changed[j], out[i]) < 0 {
			merged = append(merged, changed[j])
			j++
		} else {
			merged = append(merged, out[i])
			i++
		}
	}
	merged = append(merged, out[i:]...)
	return append(merged, changed[j:]...)
}

func byHostname(a, b inventory.Host) int { return strings.Compare(a.Hostname, b.Hostname) }
