package inventory

import (
	"context"
	"database/sql"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
)

// readCache keeps decoded hosts and profiles for one inventory generation.
// Any write (by this or another process) bumps the generation in the
// database, and the next read that sees a new generation drops the cache.
type readCache struct {
	mu       sync.RWMutex
	gen      int64
	hosts    map[string]*Host
	profiles map[string]*Profile
}

// maxCached bounds the cache; past it, new entries are not kept.
const maxCached = 200000

func (c *readCache) getHost(gen int64, key string) (*Host, bool) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	if c.gen != gen || c.hosts == nil {
		return nil, false
	}
	h, ok := c.hosts[key]
	return h, ok
}

func (c *readCache) getProfile(gen int64, name string) (*Profile, bool) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	if c.gen != gen || c.profiles == nil {
		return nil, false
	}
	p, ok := c.profiles[name]
	return p, ok
}

// reset drops everything if gen is newer than the cached generation; callers hold mu.
func (c *readCache) reset(gen int64) bool {
	if c.gen != gen || c.hosts == nil {
		if gen < c.gen {
			return false // a slower reader with an older view: keep the newer cache
		}
		c.gen = gen
		c.hosts = map[string]*Host{}
		c.profiles = map[string]*Profile{}
	}
	return true
}

func (c *readCache) putHost(gen int64, key string, h *Host) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.reset(gen) && len(c.hosts) < maxCached {
		c.hosts[key] = h
	}
}

func (c *readCache) putProfile(gen int64, name string, p *Profile) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.reset(gen) && len(c.profiles) < maxCached {
		c.profiles[name] = p
	}
}

// cacheKey folds the spellings of one key together (MACs normalised, names lower-cased).
func cacheKey(key string) string {
	if m, err := NormalizeMAC(key); err == nil {
		return m
	}
	return "name:" + strings.ToLower(key)
}

// Generation returns the inventory's write counter.
func (s *SQLite) Generation(ctx context.Context) (int64, error) { return s.generation(ctx) }

func (s *SQLite) generation(ctx context.Context) (int64, error) {
	var g int64
	if err := s.genStmt.QueryRowContext(ctx).Scan(&g); err != nil {
		return 0, fmt.Errorf("inventory database %s: read generation: %w", s.path, err)
	}
	return g, nil
}

func bumpGeneration(ctx context.Context, tx *sql.Tx) error {
	_, err := tx.ExecContext(ctx, `UPDATE meta SET generation = generation + 1`)
	return err
}

// clone deep-copies a host so callers may change it freely.
func (h *Host) clone() *Host {
	c := *h
	c.MACs = slices.Clone(h.MACs)
	c.Roles = slices.Clone(h.Roles)
	c.Labels = maps.Clone(h.Labels)
	c.Params = maps.Clone(h.Params)
	return &c
}
