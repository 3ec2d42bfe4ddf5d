package provision

import (
	"sync"
	"time"
)

// ksCache keeps rendered kickstarts for one inventory generation: any write
// to the inventory (from any process) changes the generation and empties it.
// Output depends only on the inventory, the request's server URL and the
// templates, whose generation (a reload) is part of the key.
type ksCache struct {
	mu    sync.RWMutex
	gen   int64
	bytes int
	m     map[string][]byte
}

// ksCacheLimit bounds the memory the cache may hold.
const ksCacheLimit = 64 << 20

func (c *ksCache) get(gen int64, key string) ([]byte, bool) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	if c.gen != gen {
		return nil, false
	}
	b, ok := c.m[key]
	return b, ok
}

func (c *ksCache) put(gen int64, key string, b []byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if gen < c.gen {
		return
	}
	if gen != c.gen || c.m == nil {
		c.gen, c.m, c.bytes = gen, map[string][]byte{}, 0
	}
	if c.bytes+len(b) > ksCacheLimit {
		return
	}
	c.m[key] = b
	c.bytes += len(b)
}

// fetchLog decides which kickstart fetches go on a host's timeline.
type fetchLog struct {
	mu   sync.Mutex
	last map[string]time.Time
}

// fetchEvery is the least time between two recorded refetches of one host.
const fetchEvery = time.Minute

func (f *fetchLog) record(host string, first bool, now time.Time) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.last == nil || len(f.last) > 100000 {
		f.last = map[string]time.Time{}
	}
	if !first && now.Sub(f.last[host]) < fetchEvery {
		return false
	}
	f.last[host] = now
	return true
}
