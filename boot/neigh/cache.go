package neigh

import (
	"context"
	"net/netip"
	"sync"
	"time"
)

// DefaultCacheTTL is how long a Cache answers from what the table said.
const DefaultCacheTTL = time.Second

// cacheMax bounds the addresses a Cache remembers.
const cacheMax = 16384

// Cache remembers, for a short while, the answers of a table that found an
// address attached with a link-layer address. A request checked twice (the
// kickstart fetch and the report are checked before their write and again
// inside it, on the store's one writer) asks the kernel once. Only such
// answers are remembered: an address not attached, without an entry, or a
// failed lookup is asked again every time, and Lookup always asks.
// It is safe for concurrent use.
type Cache struct {
	table Lookup
	ttl   time.Duration
	now   func() time.Time
	mu    sync.Mutex
	seen  map[netip.Addr]cached
}

type cached struct {
	e  Entry
	at time.Time
}

// NewCache returns a Cache over table whose answers are used for ttl
// (DefaultCacheTTL when 0); now is the clock (time.Now when nil).
func NewCache(table Lookup, ttl time.Duration, now func() time.Time) *Cache {
	if ttl <= 0 {
		ttl = DefaultCacheTTL
	}
	if now == nil {
		now = time.Now
	}
	return &Cache{table: table, ttl: ttl, now: now, seen: map[netip.Addr]cached{}}
}

// Lookup asks the table, and remembers an attached, resolved answer.
func (c *Cache) Lookup(ctx context.Context, addr netip.Addr) (Entry, error) {
	addr = addr.Unmap()
	e, err := c.table.Lookup(ctx, addr)
	if err != nil || !e.Attached || e.MAC == "" {
		c.mu.Lock()
		delete(c.seen, addr)
		c.mu.Unlock()
		return e, err
	}
	at := c.now()
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.seen) >= cacheMax {
		for a, x := range c.seen {
			if at.Sub(x.at) >= c.ttl {
				delete(c.seen, a)
			}
		}
		if len(c.seen) >= cacheMax {
			clear(c.seen)
		}
	}
	c.seen[addr] = cached{e: e, at: at}
	return e, nil
}

// Recent returns the remembered answer for addr when the table gave it
// less than the cache's ttl ago (cached true); otherwise it asks (Lookup).
// A caller that refuses on a cached answer should ask again with Lookup:
// the table may have changed since.
func (c *Cache) Recent(ctx context.Context, addr netip.Addr) (e Entry, cachedAnswer bool, err error) {
	addr = addr.Unmap()
	c.mu.Lock()
	x, ok := c.seen[addr]
	c.mu.Unlock()
	if ok && c.now().Sub(x.at) < c.ttl {
		return x.e, true, nil
	}
	e, err = c.Lookup(ctx, addr)
	return e, false, err
}
