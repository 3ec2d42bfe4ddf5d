package inventory

import (
	"context"
	"database/sql"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// readCache keeps decoded hosts and profiles for one inventory generation.
// Any write (by this or another process) bumps the generation in the
// database, and the next read that sees a new generation drops the cache.
type readCache struct {
	mu       sync.RWMutex
	gen      int64
	hosts    map[string]*Host
	profiles map[string]*Profile
	// last is what was read or warmed last for each key, whatever its
	// generation: a write does not drop it, so a store that cannot reach
	// its database still answers for every host it ever read or warmed.
	last lastKnown
}

// lastKnown is the outage copy: the newest decoded host and profile per key.
type lastKnown struct {
	gen      int64 // generation of the last full warm (0: none yet)
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

// staleHost and staleProfile return what the cache holds for key whatever
// its generation: what a store that cannot read its generation (the
// database unreachable) still serves of what it read last.
func (c *readCache) staleHost(key string) (*Host, bool) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	if h, ok := c.hosts[key]; ok {
		return h, ok
	}
	h, ok := c.last.hosts[key]
	return h, ok
}

func (c *readCache) staleProfile(name string) (*Profile, bool) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	if p, ok := c.profiles[name]; ok {
		return p, ok
	}
	p, ok := c.last.profiles[name]
	return p, ok
}

// rememberHost and rememberProfile keep one read in the outage copy; callers hold mu.
func (c *readCache) rememberHost(key string, h *Host) {
	if c.last.hosts == nil {
		c.last.hosts = map[string]*Host{}
	}
	if _, ok := c.last.hosts[key]; ok || len(c.last.hosts) < maxCached {
		c.last.hosts[key] = h
	}
}

func (c *readCache) rememberProfile(name string, p *Profile) {
	if c.last.profiles == nil {
		c.last.profiles = map[string]*Profile{}
	}
	if _, ok := c.last.profiles[name]; ok || len(c.last.profiles) < maxCached {
		c.last.profiles[name] = p
	}
}

// forgetHost drops every key of the host with that ID from the outage
// copy: a host this server removed is not served from memory.
func (c *readCache) forgetHost(id string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for k, h := range c.last.hosts {
		if h.ID() == id {
			delete(c.last.hosts, k)
		}
	}
	for k, h := range c.hosts {
		if h.ID() == id {
			delete(c.hosts, k)
		}
	}
}

// warmKeys are the keys a host is looked up by: each MAC and its hostname.
func warmKeys(h *Host) []string {
	keys := make([]string, 0, len(h.MACs)+1)
	for _, m := range h.MACs {
		keys = append(keys, cacheKey(m))
	}
	if h.Hostname != "" {
		keys = append(keys, cacheKey(h.Hostname))
	}
	return keys
}

// replaceLast swaps in a full copy of every host and profile read at
// generation gen (hosts and profiles removed since the last one go with it).
// An older copy than the one held is ignored.
func (c *readCache) replaceLast(gen int64, hosts []Host, profiles []Profile) {
	next := lastKnown{gen: gen, hosts: make(map[string]*Host, len(hosts)*2), profiles: make(map[string]*Profile, len(profiles))}
	for i := range hosts {
		h := &hosts[i]
		for _, k := range warmKeys(h) {
			if len(next.hosts) < maxCached {
				next.hosts[k] = h
			}
		}
	}
	for i := range profiles {
		if len(next.profiles) < maxCached {
			next.profiles[profiles[i].Name] = &profiles[i]
		}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if gen < c.last.gen {
		return
	}
	c.last = next
}

// warmedAt is the generation of the last full copy (0: none).
func (c *readCache) warmedAt() int64 {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.last.gen
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
	if gen >= c.gen && gen >= c.last.gen {
		c.rememberHost(key, h)
	}
}

func (c *readCache) putProfile(gen int64, name string, p *Profile) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.reset(gen) && len(c.profiles) < maxCached {
		c.profiles[name] = p
	}
	if gen >= c.gen && gen >= c.last.gen {
		c.rememberProfile(name, p)
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

// generation reads the write counter. A query costs tens of microseconds, so
// it is skipped while the WAL index header is unchanged since the last query:
// SQLite rewrites that header (in the -shm file) on every commit, by this
// process or another, before the commit becomes visible to readers.
func (s *SQLite) generation(ctx context.Context) (int64, error) {
	key, ok := s.walHeader()
	if ok {
		s.gen.mu.Lock()
		hit, g := s.gen.valid && s.gen.key == key, s.gen.value
		s.gen.mu.Unlock()
		if hit {
			return g, nil
		}
	}
	var g int64
	if err := s.genStmt.QueryRowContext(ctx).Scan(&g); err != nil {
		return 0, fmt.Errorf("inventory database %s: read generation: %w", s.path, err)
	}
	if ok {
		// The header was read before the query: a commit in between only
		// makes the next call query again.
		s.gen.mu.Lock()
		s.gen.key, s.gen.value, s.gen.valid = key, g, true
		s.gen.mu.Unlock()
	}
	return g, nil
}

// genMemo remembers the last queried generation and the WAL header it went with.
type genMemo struct {
	mu    sync.Mutex // key, value, valid
	key   [48]byte
	value int64
	valid bool

	fdMu    sync.RWMutex // shm: read-locked around each pread
	shm     int          // descriptor of the -shm file, 0 when closed
	checked atomic.Int64 // when shm was last checked for being unlinked (UnixNano)
}

// shmRecheck is how often walHeader checks that its -shm descriptor still
// names the live file. SQLite unlinks -shm only when the last connection to
// the database closes, and this store keeps its connections open, so the
// check guards a rare case; checking on every call cost an fstat per lookup.
const shmRecheck = 100 * time.Millisecond

// walHeader reads the WAL index header; ok is false when it cannot be trusted
// (no -shm file, not initialised, or its two copies differ mid-write).
// The file stays open between calls; it is reopened when it was unlinked
// (every connection to the database closed), which is noticed within
// shmRecheck. Concurrent callers read in parallel.
func (s *SQLite) walHeader() (key [48]byte, ok bool) {
	if now := time.Now().UnixNano(); now-s.gen.checked.Load() >= int64(shmRecheck) {
		s.gen.checked.Store(now)
		s.recheckShm()
	}
	var b [96]byte
	s.gen.fdMu.RLock()
	fd := s.gen.shm
	n, err := 0, error(nil)
	if fd > 0 {
		n, err = syscall.Pread(fd, b[:], 0)
	}
	s.gen.fdMu.RUnlock()
	if fd <= 0 {
		if fd = s.openShm(); fd <= 0 {
			return key, false
		}
		s.gen.fdMu.RLock()
		if fd = s.gen.shm; fd > 0 {
			n, err = syscall.Pread(fd, b[:], 0)
		}
		s.gen.fdMu.RUnlock()
		if fd <= 0 {
			return key, false // closed again in between
		}
	}
	if err != nil || n < len(b) {
		return key, false
	}
	// Two copies of the header; byte 12 is isInit.
	if [48]byte(b[:48]) != [48]byte(b[48:]) || b[12] == 0 {
		return key, false
	}
	return [48]byte(b[:48]), true
}

// openShm opens the -shm file if no descriptor is open, and returns it (0 when
// there is no -shm file).
func (s *SQLite) openShm() int {
	s.gen.fdMu.Lock()
	defer s.gen.fdMu.Unlock()
	if s.gen.shm <= 0 {
		// Raw syscalls: an os.File would register with the poller.
		fd, err := syscall.Open(s.path+"-shm", syscall.O_RDONLY|syscall.O_CLOEXEC, 0)
		if err != nil {
			return 0
		}
		s.gen.shm = fd
	}
	return s.gen.shm
}

// recheckShm closes the -shm descriptor when its file was unlinked, so the
// next walHeader opens the new one.
func (s *SQLite) recheckShm() {
	s.gen.fdMu.Lock()
	defer s.gen.fdMu.Unlock()
	if s.gen.shm > 0 {
		var st syscall.Stat_t
		if syscall.Fstat(s.gen.shm, &st) != nil || st.Nlink == 0 {
			syscall.Close(s.gen.shm)
			s.gen.shm = 0
		}
	}
}

// closeShm releases the -shm descriptor.
func (s *SQLite) closeShm() {
	s.gen.fdMu.Lock()
	defer s.gen.fdMu.Unlock()
	if s.gen.shm > 0 {
		syscall.Close(s.gen.shm)
		s.gen.shm = 0
	}
}

func bumpGeneration(ctx context.Context, tx interface {
	ExecContext(ctx context.Context, q string, args ...any) (sql.Result, error)
}) error {
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
	c.Facts = h.Facts.Clone()
	return &c
}

// leaseCache remembers the by-address answers a store read last (which host
// holds an address, which address a MAC holds), each with the lease's stored
// expiry, so that they can be answered while the database does not: a
// machine whose boot config is looked up by its leased address keeps being
// served. Only what was read is kept (never a guess), an entry is used only
// until the expiry it was read with, and a read that finds no lease drops it.
type leaseCache struct {
	mu    sync.RWMutex
	byIP  map[string]leaseMemo // address -> host id
	byMAC map[string]leaseMemo // MAC -> address
}

// leaseMemo is one answer and the expiry of the lease it came from.
type leaseMemo struct {
	value   string
	expires int64 // UnixNano
}

// usable says whether a remembered answer may still be given at now: only
// while the lease it was read from has not expired.
func (m leaseMemo) usable(now time.Time) bool { return m.value != "" && now.UnixNano() < m.expires }

func (c *leaseCache) put(byMAC bool, key string, m leaseMemo) {
	c.mu.Lock()
	defer c.mu.Unlock()
	t := &c.byIP
	if byMAC {
		t = &c.byMAC
	}
	if *t == nil {
		*t = map[string]leaseMemo{}
	}
	if _, ok := (*t)[key]; ok || len(*t) < maxCached {
		(*t)[key] = m
	}
}

func (c *leaseCache) drop(byMAC bool, key string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if byMAC {
		delete(c.byMAC, key)
	} else {
		delete(c.byIP, key)
	}
}

// stale returns the remembered answer for key if its lease is still running at now.
func (c *leaseCache) stale(byMAC bool, key string, now time.Time) (string, bool) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	t := c.byIP
	if byMAC {
		t = c.byMAC
	}
	m, ok := t[key]
	if !ok || !m.usable(now) {
		return "", false
	}
	return m.value, true
}
