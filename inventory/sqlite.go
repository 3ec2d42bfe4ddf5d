package inventory

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	_ "modernc.org/sqlite" // registers the "sqlite" driver
)

// DefaultEventCap is how many events a host's timeline keeps.
const DefaultEventCap = 500

// migrations are applied in order; the index+1 is the schema version. Never edit
// a shipped migration: append a new one.
var migrations = []string{
	`CREATE TABLE hosts (
		id TEXT PRIMARY KEY,
		hostname TEXT NOT NULL UNIQUE,
		state TEXT NOT NULL,
		doc TEXT NOT NULL
	);
	CREATE TABLE host_macs (
		mac TEXT PRIMARY KEY,
		host_id TEXT NOT NULL REFERENCES hosts(id) ON DELETE CASCADE
	);
	CREATE TABLE docs (
		kind TEXT NOT NULL,
		name TEXT NOT NULL,
		doc TEXT NOT NULL,
		PRIMARY KEY (kind, name)
	);
	CREATE TABLE events (
		id INTEGER PRIMARY KEY AUTOINCREMENT,
		host_id TEXT NOT NULL,
		time INTEGER NOT NULL,
		kind TEXT NOT NULL,
		detail TEXT NOT NULL
	);
	CREATE INDEX events_host ON events(host_id, id);`,
	// generation counts writes to hosts and documents, so readers can keep a
	// cache and notice writes made by other processes.
	`CREATE TABLE meta (generation INTEGER NOT NULL);
	INSERT INTO meta(generation) VALUES (0);`,
	// 3: DHCP leases, keyed by address (one holder per address, ever).
	`CREATE TABLE leases (
		ip TEXT PRIMARY KEY,
		mac TEXT NOT NULL,
		state TEXT NOT NULL,
		expires INTEGER NOT NULL,
		hostname TEXT NOT NULL DEFAULT '',
		updated INTEGER NOT NULL
	);
	CREATE INDEX leases_mac ON leases(mac);`,
	// 4: named API tokens, stored as SHA-256 hashes only.
	`CREATE TABLE api_tokens (
		name TEXT PRIMARY KEY,
		hash TEXT NOT NULL UNIQUE,
		created INTEGER NOT NULL
	);`,
	// 5: each host's BMC, apart from the host so that exports and host reads
	// never carry its password.
	`CREATE TABLE host_bmcs (
		mac TEXT PRIMARY KEY,
		driver TEXT NOT NULL,
		address TEXT NOT NULL,
		port INTEGER NOT NULL,
		user TEXT NOT NULL,
		password TEXT NOT NULL,
		password_file TEXT NOT NULL,
		power_state TEXT NOT NULL DEFAULT '',
		power_checked INTEGER NOT NULL DEFAULT 0
	);`,
	// 6: machines DHCP discovered (dhcp.unknown: discover), bounded by
	// evicting the one seen longest ago.
	`CREATE TABLE discovered (
		mac TEXT PRIMARY KEY,
		last_seen INTEGER NOT NULL,
		doc TEXT NOT NULL
	);
	CREATE INDEX discovered_seen ON discovered(last_seen);`,
	// 7: the generation of each host's last write, and a tombstone per
	// removed host, so readers can ask what changed since a generation.
	`ALTER TABLE hosts ADD COLUMN changed_gen INTEGER NOT NULL DEFAULT 0;
	CREATE INDEX hosts_changed ON hosts(changed_gen);
	CREATE TABLE host_deletions (
		id TEXT PRIMARY KEY,
		gen INTEGER NOT NULL
	);
	CREATE INDEX host_deletions_gen ON host_deletions(gen);`,
	// 8: the time of each removal, and the generation through which
	// tombstones were pruned (see tombstones.go). Tombstones from before
	// have time 0: the next removal prunes them.
	`ALTER TABLE host_deletions ADD COLUMN removed INTEGER NOT NULL DEFAULT 0;
	ALTER TABLE meta ADD COLUMN tombstones_pruned INTEGER NOT NULL DEFAULT 0;`,
}

// SQLite is the embedded Store: one database file, WAL journal, synchronous
// commits, safe to open from several processes at once.
type SQLite struct {
	db       *sql.DB
	path     string
	eventCap int
	// tombstones says which tombstones of removed hosts are kept.
	tombstones TombstoneRetention
	genStmt    *sql.Stmt
	// insertEvent and trimEvents (fetch class, other class) are prepared once.
	insertEvent *sql.Stmt
	trimEvents  [2]*sql.Stmt
	stmts       stmtCache // the host writes' statements, prepared on first use
	// eventsStmt is eventsSQL, prepared.
	eventsStmt *sql.Stmt
	leaseIP    *sql.Stmt // LeaseIP's query
	gen        genMemo
	cache      readCache
	documents

	// wsem admits one write transaction of this process at a time: writers
	// queue here in order instead of polling SQLite's lock in its busy
	// handler, whose growing sleeps gave p99s of seconds in a boot storm.
	wsem chan struct{}

	writes chan writeReq // to groupWriter
	// queued counts each host's events queued (QueueEvent) and not yet
	// committed.
	queued pendingEvents
	// groups counts the group commits begun.
	groups atomic.Int64
	// due counts each host's events since its timeline was last trimmed.
	due        trimDue
	closed     chan struct{}
	writerDone chan struct{}
	closeOnce  sync.Once
}

// OpenSQLite opens (creating if needed) the inventory database at path and
// migrates it to the current schema. A file that is not a netkick database, or
// is corrupt, is an error naming the file; it is never replaced by an empty one.
func OpenSQLite(path string) (*SQLite, error) {
	if dir := filepath.Dir(path); dir != "" {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return nil, fmt.Errorf("create data directory %s: %w (choose another with --data)", dir, err)
		}
	}
	if fi, err := os.Stat(path); err == nil && fi.IsDir() {
		return nil, fmt.Errorf("inventory database %s is a directory; move it away or choose another --data", path)
	}
	if err := private(path, true); err != nil {
		return nil, err
	}
	dsn := "file:" + path + "?_pragma=journal_mode(WAL)&_pragma=synchronous(FULL)&_pragma=busy_timeout(10000)&_pragma=foreign_keys(1)&_txlock=immediate"
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, fmt.Errorf("open inventory database %s: %w", path, err)
	}
	// Keep connections (and the statements prepared on them) between requests.
	db.SetMaxIdleConns(8)
	s := &SQLite{db: db, path: path, eventCap: DefaultEventCap, tombstones: DefaultTombstoneRetention(), wsem: make(chan struct{}, 1)}
	s.documents = documents{b: s, cache: &s.cache}
	if err := s.check(); err != nil {
		db.Close()
		return nil, err
	}
	if err := s.migrate(); err != nil {
		db.Close()
		return nil, err
	}
	// SQLite creates -wal and -shm with the database file's mode; files left
	// by an older netkick may still be open to others.
	for _, f := range []string{path + "-wal", path + "-shm"} {
		if err := private(f, false); err != nil {
			db.Close()
			return nil, err
		}
	}
	if s.genStmt, err = db.Prepare(`SELECT generation FROM meta`); err != nil {
		db.Close()
		return nil, fmt.Errorf("inventory database %s: %w", path, err)
	}
	// The event statements, prepared once: parsing them anew for every event
	// and every trim was most of a boot storm's timeline writing.
	if s.insertEvent, err = db.Prepare(`INSERT INTO events(host_id, time, kind, detail) VALUES (?,?,?,?)`); err != nil {
		db.Close()
		return nil, fmt.Errorf("inventory database %s: %w", path, err)
	}
	for i, class := range []string{fetchKindSQL, "NOT " + fetchKindSQL} {
		if s.trimEvents[i], err = db.Prepare(`DELETE FROM events WHERE host_id = ? AND ` + class + ` AND id <= (
			SELECT id FROM events WHERE host_id = ? AND ` + class + ` ORDER BY id DESC LIMIT 1 OFFSET ?)`); err != nil {
			db.Close()
			return nil, fmt.Errorf("inventory database %s: %w", path, err)
		}
	}
	// Prepared once: parsing this query cost more than running it (a hosts
	// page reads the newest event of each of its rows).
	if s.eventsStmt, err = db.Prepare(eventsSQL); err != nil {
		db.Close()
		return nil, fmt.Errorf("inventory database %s: %w", path, err)
	}
	// Prepared once: the token binding asks it for every MAC of a host on
	// every kickstart fetch and report, twice (before the write and inside
	// it), and parsing it cost more than running it.
	if s.leaseIP, err = db.Prepare(leaseIPSQL); err != nil {
		db.Close()
		return nil, fmt.Errorf("inventory database %s: %w", path, err)
	}
	s.writes, s.closed, s.writerDone = make(chan writeReq, 1024), make(chan struct{}), make(chan struct{})
	go s.groupWriter()
	return s, nil
}

// writeTx is a write transaction holding the process's write turn until it
// commits or rolls back.
type writeTx struct {
	*sql.Tx
	release func()
	once    sync.Once
}

func (t *writeTx) Commit() error {
	defer t.once.Do(t.release)
	return t.Tx.Commit()
}

func (t *writeTx) Rollback() error {
	defer t.once.Do(t.release)
	return t.Tx.Rollback()
}

// stmtCache holds statements prepared once on the database, by query text
// (the fixed queries of the write paths only).
type stmtCache struct {
	mu sync.Mutex
	m  map[string]*sql.Stmt
}

func (c *stmtCache) get(db *sql.DB, q string) (*sql.Stmt, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if st, ok := c.m[q]; ok {
		return st, nil
	}
	st, err := db.Prepare(q)
	if err != nil {
		return nil, err
	}
	if c.m == nil {
		c.m = map[string]*sql.Stmt{}
	}
	c.m[q] = st
	return st, nil
}

// execQuerier is a transaction, plain or with prepared statements.
type execQuerier interface {
	ExecContext(ctx context.Context, q string, args ...any) (sql.Result, error)
	QueryRowContext(ctx context.Context, q string, args ...any) *sql.Row
}

// preparedTx runs a transaction's statements from statements prepared once:
// SQLite parses a statement every time it is prepared, and a boot storm's
// kickstart fetches and reports are a dozen statements each.
type preparedTx struct {
	tx    *sql.Tx
	cache *stmtCache
	db    *sql.DB
}

func (s *SQLite) prepared(tx *sql.Tx) preparedTx {
	return preparedTx{tx: tx, cache: &s.stmts, db: s.db}
}

func (p preparedTx) ExecContext(ctx context.Context, q string, args ...any) (sql.Result, error) {
	st, err := p.cache.get(p.db, q)
	if err != nil {
		return nil, err
	}
	return p.tx.StmtContext(ctx, st).ExecContext(ctx, args...)
}

func (p preparedTx) QueryRowContext(ctx context.Context, q string, args ...any) *sql.Row {
	st, err := p.cache.get(p.db, q)
	if err != nil {
		return p.tx.QueryRowContext(ctx, q, args...) // fails the same way, and says so
	}
	return p.tx.StmtContext(ctx, st).QueryRowContext(ctx, args...)
}

// beginWrite waits for the process's write turn, then begins a transaction
// (BEGIN IMMEDIATE: other processes on the same file still wait in SQLite's
// busy handler).
func (s *SQLite) beginWrite(ctx context.Context) (*writeTx, error) {
	select {
	case s.wsem <- struct{}{}:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	release := func() { <-s.wsem }
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		release()
		return nil, err
	}
	return &writeTx{Tx: tx, release: release}, nil
}

// private makes the store file at path readable by its owner only (0600,
// whatever the umask), creating it empty first when create is set.
func private(path string, create bool) error {
	if create {
		f, err := os.OpenFile(path, os.O_RDONLY|os.O_CREATE, 0o600)
		if err != nil {
			return fmt.Errorf("create inventory database %s: %w (choose another --data, or fix the directory's owner)", path, err)
		}
		f.Close()
	}
	fi, err := os.Stat(path)
	if err == nil && fi.Mode().Perm() == 0o600 {
		return nil
	}
	if err == nil {
		err = os.Chmod(path, 0o600)
	}
	if err != nil && !(errors.Is(err, os.ErrNotExist) && !create) {
		return fmt.Errorf("make %s private (0600): %w; it holds build tokens and password hashes: fix its owner, or choose another --data", path, err)
	}
	return nil
}

func (s *SQLite) check() error {
	var res string
	if err := s.db.QueryRow("PRAGMA quick_check").Scan(&res); err != nil {
		return fmt.Errorf("inventory database %s is unreadable or not a SQLite file: %w; restore it from a backup (netkick export) or move it away to start empty", s.path, err)
	}
	if res != "ok" {
		return fmt.Errorf("inventory database %s is corrupt (%s); restore it from a backup or move it away to start empty", s.path, res)
	}
	return nil
}

func (s *SQLite) migrate() error {
	if _, err := s.db.Exec(`CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)`); err != nil {
		return fmt.Errorf("inventory database %s: create schema_version: %w", s.path, err)
	}
	ctx := context.Background()
	tx, err := s.beginWrite(ctx)
	if err != nil {
		return fmt.Errorf("inventory database %s: %w", s.path, err)
	}
	defer tx.Rollback()
	var v int
	err = tx.QueryRow(`SELECT version FROM schema_version`).Scan(&v)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		var n int
		if err := tx.QueryRow(`SELECT count(*) FROM sqlite_master WHERE type='table' AND name NOT IN ('schema_version','sqlite_sequence')`).Scan(&n); err != nil {
			return fmt.Errorf("inventory database %s: %w", s.path, err)
		}
		if n > 0 {
			return fmt.Errorf("%s holds tables but no netkick schema version: it is not a netkick inventory; choose another --data", s.path)
		}
		if _, err := tx.Exec(`INSERT INTO schema_version(version) VALUES (0)`); err != nil {
			return err
		}
	case err != nil:
		return fmt.Errorf("inventory database %s: read schema version: %w", s.path, err)
	}
	if v > len(migrations) {
		return fmt.Errorf("inventory database %s has schema version %d, newer than this netkick understands (%d); upgrade netkick", s.path, v, len(migrations))
	}
	for i := v; i < len(migrations); i++ {
		if _, err := tx.Exec(migrations[i]); err != nil {
			return fmt.Errorf("inventory database %s: migration %d: %w", s.path, i+1, err)
		}
	}
	if _, err := tx.Exec(`UPDATE schema_version SET version = ?`, len(migrations)); err != nil {
		return err
	}
	return tx.Commit()
}

// DB exposes the database handle to other stores that share the file (e.g. leases).
func (s *SQLite) DB() *sql.DB { return s.db }

// Close stops the event writer and closes the database.
func (s *SQLite) Close() error {
	s.closeOnce.Do(func() {
		close(s.closed)
		<-s.writerDone
		s.closeShm()
	})
	return s.db.Close()
}

// hostRecord is the stored form of a Host: the build token is kept, unlike in JSON output.
type hostRecord struct {
	Host
	StoredToken string `json:"build_token,omitempty"`
}

func encodeHost(h *Host) (string, error) {
	b, err := json.Marshal(hostRecord{Host: *h, StoredToken: h.BuildToken})
	return string(b), err
}

func decodeHost(doc string) (*Host, error) {
	var r hostRecord
	if err := json.Unmarshal([]byte(doc), &r); err != nil {
		return nil, fmt.Errorf("decode stored host: %w", err)
	}
	h := r.Host
	h.BuildToken = r.StoredToken
	return &h, nil
}

type querier interface {
	QueryRowContext(ctx context.Context, q string, args ...any) *sql.Row
}

// resolve turns a key (MAC in any spelling, or hostname) into a host id.
func resolve(ctx context.Context, q querier, key string) (string, error) {
	if mac, err := NormalizeMAC(key); err == nil {
		var id string
		err := q.QueryRowContext(ctx, `SELECT host_id FROM host_macs WHERE mac = ?`, mac).Scan(&id)
		if err == nil {
			return id, nil
		}
		if !errors.Is(err, sql.ErrNoRows) {
			return "", err
		}
	}
	var id string
	err := q.QueryRowContext(ctx, `SELECT id FROM hosts WHERE hostname = ? COLLATE NOCASE`, key).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return "", fmt.Errorf("host %q: %w (list hosts with `netkick host list`)", trunc(key), ErrNotFound)
	}
	return id, err
}

// GetHost returns the host with that MAC or hostname. Reads are served from a
// cache that is dropped whenever any process writes to the inventory.
func (s *SQLite) GetHost(ctx context.Context, key string) (*Host, error) {
	gen, err := s.generation(ctx)
	if err != nil {
		return nil, err
	}
	ck := cacheKey(key)
	if h, ok := s.cache.getHost(gen, ck); ok {
		return h.clone(), nil
	}
	h, err := s.readHost(ctx, key)
	if err != nil {
		return nil, err
	}
	s.cache.putHost(gen, ck, h)
	return h.clone(), nil
}

func (s *SQLite) readHost(ctx context.Context, key string) (*Host, error) {
	id, err := resolve(ctx, s.db, key)
	if err != nil {
		return nil, err
	}
	var doc string
	if err := s.db.QueryRowContext(ctx, `SELECT doc FROM hosts WHERE id = ?`, id).Scan(&doc); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return nil, fmt.Errorf("host %q: %w", key, ErrNotFound)
		}
		return nil, err
	}
	return decodeHost(doc)
}

// ListHosts returns hosts sorted by hostname.
func (s *SQLite) ListHosts(ctx context.Context, f HostFilter) ([]Host, error) {
	q := `SELECT doc FROM hosts`
	var args []any
	if f.State != "" {
		q += ` WHERE state = ?`
		args = append(args, string(f.State))
	}
	q += ` ORDER BY hostname`
	rows, err := s.db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("list hosts: %w", err)
	}
	defer rows.Close()
	var out []Host
	for rows.Next() {
		var doc string
		if err := rows.Scan(&doc); err != nil {
			return nil, err
		}
		h, err := decodeHost(doc)
		if err != nil {
			return nil, err
		}
		if f.Role != "" && !h.HasRole(f.Role) {
			continue
		}
		if f.Cluster != "" && h.Cluster != f.Cluster {
			continue
		}
		out = append(out, *h)
	}
	return out, rows.Err()
}

// PutHost creates or replaces a host. A MAC or hostname held by another host is a conflict.
func (s *SQLite) PutHost(ctx context.Context, h *Host) error {
	if err := NormalizeHost(h); err != nil {
		return err
	}
	tx, err := s.beginWrite(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if err := putHostTx(ctx, tx.Tx, h); err != nil {
		return err
	}
	return tx.Commit()
}

func putHostTx(ctx context.Context, tx execQuerier, h *Host) error {
	return saveHostTx(ctx, tx, h, false)
}

// saveHostTx is putHostTx; keys says the host's MACs and hostname are the
// ones already stored for it (a change of state, token or labels, as every
// kickstart fetch and report makes), so their checks and rows are left as
// they are.
func saveHostTx(ctx context.Context, tx execQuerier, h *Host, keys bool) error {
	id := h.ID()
	if keys {
		doc, err := encodeHost(h)
		if err != nil {
			return err
		}
		if err := bumpGeneration(ctx, tx); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE hosts SET state = ?, doc = ?, changed_gen = (SELECT generation FROM meta) WHERE id = ?`,
			string(h.State), doc, id); err != nil {
			return fmt.Errorf("save host %s: %w", h.Hostname, err)
		}
		return nil
	}
	for _, m := range h.MACs {
		var other string
		err := tx.QueryRowContext(ctx, `SELECT host_id FROM host_macs WHERE mac = ?`, m).Scan(&other)
		if err == nil && other != id {
			return fmt.Errorf("%w: MAC %s already belongs to host %s; remove it there first", ErrConflict, m, other)
		}
	}
	var other string
	err := tx.QueryRowContext(ctx, `SELECT id FROM hosts WHERE hostname = ? COLLATE NOCASE`, h.Hostname).Scan(&other)
	if err == nil && other != id {
		return fmt.Errorf("%w: hostname %s already belongs to host %s; choose another name or remove that host", ErrConflict, h.Hostname, other)
	}
	doc, err := encodeHost(h)
	if err != nil {
		return err
	}
	if err := bumpGeneration(ctx, tx); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO hosts(id, hostname, state, doc, changed_gen) VALUES (?,?,?,?,(SELECT generation FROM meta))
		ON CONFLICT(id) DO UPDATE SET hostname=excluded.hostname, state=excluded.state, doc=excluded.doc, changed_gen=excluded.changed_gen`,
		id, h.Hostname, string(h.State), doc); err != nil {
		return fmt.Errorf("save host %s: %w", h.Hostname, err)
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM host_macs WHERE host_id = ?`, id); err != nil {
		return err
	}
	for _, m := range h.MACs {
		if _, err := tx.ExecContext(ctx, `INSERT INTO host_macs(mac, host_id) VALUES (?,?)`, m, id); err != nil {
			return fmt.Errorf("save MAC %s of host %s: %w", m, h.Hostname, err)
		}
	}
	return nil
}

// UpdateHost applies fn to the stored host atomically. fn may not change the first MAC.
func (s *SQLite) UpdateHost(ctx context.Context, key string, fn func(*Host) error) (*Host, error) {
	return s.UpdateHostLogged(ctx, key, func(h *Host) (*Event, error) { return nil, fn(h) })
}

// UpdateHostLogged is UpdateHost whose fn may also return an event for the
// host's timeline: the change and its event commit together. Concurrent
// callers share one commit (group commit), each under its own savepoint, so
// a failing fn undoes only its own change; fn runs on the store's writer and
// must not write to the store itself.
func (s *SQLite) UpdateHostLogged(ctx context.Context, key string, fn func(*Host) (*Event, error)) (*Host, error) {
	var out *Host
	// An event without a time is stamped when the write was asked for, not
	// when its group commits: the timeline is in the order things happened.
	arrived := time.Now()
	stamped := func(h *Host) (*Event, error) {
		ev, err := fn(h)
		if ev != nil && ev.Time.IsZero() {
			ev.Time = arrived
		}
		return ev, err
	}
	host, _ := NormalizeMAC(key) // a hostname: "" (not known before it runs)
	err := s.groupWrite(ctx, writeReq{host: host, apply: func(ctx context.Context, tx *sql.Tx) error {
		h, err := s.updateHostTx(ctx, tx, key, stamped)
		out = h
		return err
	}})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// updateHostTx is UpdateHostLogged's work inside a transaction.
func (s *SQLite) updateHostTx(ctx context.Context, sqlTx *sql.Tx, key string, fn func(*Host) (*Event, error)) (*Host, error) {
	tx := s.prepared(sqlTx)
	id, err := resolve(ctx, tx, key)
	if err != nil {
		return nil, err
	}
	var doc string
	if err := tx.QueryRowContext(ctx, `SELECT doc FROM hosts WHERE id = ?`, id).Scan(&doc); err != nil {
		return nil, err
	}
	h, err := decodeHost(doc)
	if err != nil {
		return nil, err
	}
	macs, name := slices.Clone(h.MACs), h.Hostname
	ev, err := fn(h)
	if err != nil {
		return nil, err
	}
	if err := NormalizeHost(h); err != nil {
		return nil, err
	}
	if h.ID() != id {
		return nil, fmt.Errorf("%w: host %s: the first MAC is the host's identity and cannot change; remove and re-add the host", ErrInvalid, id)
	}
	if err := saveHostTx(ctx, tx, h, slices.Equal(macs, h.MACs) && name == h.Hostname); err != nil {
		return nil, err
	}
	if ev != nil {
		ev.HostID = id
		if err := s.insertEventsTx(ctx, sqlTx, []Event{*ev}); err != nil {
			return nil, err
		}
	}
	return h, nil
}

// PutHostLogged is PutHost with an event for the host's timeline, committed
// in the same transaction.
func (s *SQLite) PutHostLogged(ctx context.Context, h *Host, ev Event) error {
	if err := NormalizeHost(h); err != nil {
		return err
	}
	if ev.Time.IsZero() {
		ev.Time = time.Now()
	}
	return s.groupWrite(ctx, writeReq{host: h.ID(), apply: func(ctx context.Context, tx *sql.Tx) error {
		if err := putHostTx(ctx, s.prepared(tx), h); err != nil {
			return err
		}
		ev.HostID = h.ID()
		return s.insertEventsTx(ctx, tx, []Event{ev})
	}})
}

// DeleteHost removes a host, its timeline and its BMC settings.
func (s *SQLite) DeleteHost(ctx context.Context, key string) error {
	tx, err := s.beginWrite(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if err := s.deleteHostTx(ctx, tx.Tx, key); err != nil {
		return err
	}
	return tx.Commit()
}

// deleteHostTx is DeleteHost's work inside a transaction.
func (s *SQLite) deleteHostTx(ctx context.Context, tx *sql.Tx, key string) error {
	id, err := resolve(ctx, tx, key)
	if err != nil {
		return err
	}
	for _, q := range []string{`DELETE FROM host_macs WHERE host_id = ?`, `DELETE FROM hosts WHERE id = ?`, `DELETE FROM events WHERE host_id = ?`, `DELETE FROM host_bmcs WHERE mac = ?`} {
		if _, err := tx.ExecContext(ctx, q, id); err != nil {
			return err
		}
	}
	if err := bumpGeneration(ctx, tx); err != nil {
		return err
	}
	now := time.Now()
	if _, err := tx.ExecContext(ctx, `INSERT INTO host_deletions(id, gen, removed) VALUES (?, (SELECT generation FROM meta), ?)
		ON CONFLICT(id) DO UPDATE SET gen=excluded.gen, removed=excluded.removed`, id, now.UnixNano()); err != nil {
		return fmt.Errorf("record the removal of host %s: %w", id, err)
	}
	if err := s.pruneTombstonesTx(ctx, tx, now); err != nil {
		return fmt.Errorf("remove host %s: %w", id, err)
	}
	return nil
}

// SetTombstoneRetention changes which tombstones of removed hosts are kept
// (from the next removal on); call it before the store is shared.
func (s *SQLite) SetTombstoneRetention(r TombstoneRetention) { s.tombstones = r }

// pruneTombstonesTx removes the tombstones s.tombstones no longer keeps and
// records the generation through which they went.
func (s *SQLite) pruneTombstonesTx(ctx context.Context, tx *sql.Tx, now time.Time) error {
	rows, err := tx.QueryContext(ctx, `SELECT gen, removed FROM host_deletions ORDER BY gen DESC LIMIT ?`, s.tombstones.limit())
	if err != nil {
		return fmt.Errorf("read tombstones: %w", err)
	}
	var newest []tombstone
	for rows.Next() {
		var t tombstone
		var ns int64
		if err := rows.Scan(&t.gen, &ns); err != nil {
			rows.Close()
			return fmt.Errorf("read tombstones: %w", err)
		}
		t.removed = time.Unix(0, ns)
		newest = append(newest, t)
	}
	if err := rows.Close(); err != nil {
		return fmt.Errorf("read tombstones: %w", err)
	}
	through := pruneThrough(newest, now, s.tombstones)
	if through == 0 {
		return nil
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM host_deletions WHERE gen <= ?`, through); err != nil {
		return fmt.Errorf("prune tombstones through generation %d: %w", through, err)
	}
	if _, err := tx.ExecContext(ctx, `UPDATE meta SET tombstones_pruned = max(tombstones_pruned, ?)`, through); err != nil {
		return fmt.Errorf("prune tombstones through generation %d: %w", through, err)
	}
	return nil
}

// Documents (profiles, layouts, clusters) share one table keyed by kind and
// name; docs.go decodes them.

func (s *SQLite) docGet(ctx context.Context, kind, name string) (string, error) {
	var doc string
	err := s.db.QueryRowContext(ctx, `SELECT doc FROM docs WHERE kind = ? AND name = ?`, kind, name).Scan(&doc)
	if errors.Is(err, sql.ErrNoRows) {
		return "", fmt.Errorf("%s %q: %w", kind, trunc(name), ErrNotFound)
	}
	if err != nil {
		return "", fmt.Errorf("read %s %q: %w", kind, trunc(name), err)
	}
	return doc, nil
}

func (s *SQLite) docList(ctx context.Context, kind string) ([]string, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT doc FROM docs WHERE kind = ? ORDER BY name`, kind)
	if err != nil {
		return nil, fmt.Errorf("list %ss: %w", kind, err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var doc string
		if err := rows.Scan(&doc); err != nil {
			return nil, err
		}
		out = append(out, doc)
	}
	return out, rows.Err()
}

func (s *SQLite) docPut(ctx context.Context, kind, name, doc string) error {
	tx, err := s.beginWrite(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if err := docPutTx(ctx, tx.Tx, kind, name, doc); err != nil {
		return err
	}
	return tx.Commit()
}

func docPutTx(ctx context.Context, tx *sql.Tx, kind, name, doc string) error {
	if _, err := tx.ExecContext(ctx, `INSERT INTO docs(kind, name, doc) VALUES (?,?,?)
		ON CONFLICT(kind, name) DO UPDATE SET doc = excluded.doc`, kind, name, doc); err != nil {
		return fmt.Errorf("save %s %q: %w", kind, name, err)
	}
	return bumpGeneration(ctx, tx)
}

func (s *SQLite) docDelete(ctx context.Context, kind, name string) error {
	tx, err := s.beginWrite(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if err := docDeleteTx(ctx, tx.Tx, kind, name); err != nil {
		return err
	}
	return tx.Commit()
}

func docDeleteTx(ctx context.Context, tx *sql.Tx, kind, name string) error {
	res, err := tx.ExecContext(ctx, `DELETE FROM docs WHERE kind = ? AND name = ?`, kind, name)
	if err != nil {
		return fmt.Errorf("delete %s %q: %w", kind, name, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("%s %q: %w", kind, trunc(name), ErrNotFound)
	}
	return bumpGeneration(ctx, tx)
}

// AddEvent appends an event and trims the host's timeline to the cap. It
// returns once the event is committed; concurrent callers share one commit.
func (s *SQLite) AddEvent(ctx context.Context, e Event) error {
	if e.Time.IsZero() {
		e.Time = time.Now()
	}
	if err := s.groupWrite(ctx, writeReq{ev: &e, host: e.HostID}); err != nil {
		return fmt.Errorf("record %s event for %s: %w", e.Kind, e.HostID, err)
	}
	return nil
}

// QueueEvent queues an event for the next group commit and returns without
// waiting for it, for an event nothing depends on being on disk before the
// caller answers (a machine's fetch of its boot script, a finished TFTP
// transfer, a DHCP exchange): it commits in arrival order with the writes
// around it, at most eventHold (10 ms) later; a read of a host's timeline
// (Events) commits that host's queued events first, so it sees them. done, when
// not nil, is called with the outcome on the store's writer and must not
// block.
func (s *SQLite) QueueEvent(ctx context.Context, e Event, done func(error)) error {
	if e.Time.IsZero() {
		e.Time = time.Now()
	}
	if done == nil {
		done = func(error) {}
	}
	s.queued.add(e.HostID, 1)
	select {
	case s.writes <- writeReq{ev: &e, host: e.HostID, ctx: context.WithoutCancel(ctx), after: done, at: time.Now()}:
		return nil
	case <-s.closed:
		s.queued.add(e.HostID, -1)
		return fmt.Errorf("record %s event for %s: %w", e.Kind, e.HostID, errClosed)
	case <-ctx.Done():
		s.queued.add(e.HostID, -1)
		return ctx.Err()
	}
}

// writeReq is one caller's write, queued for the group writer: an event to
// append (ev), or apply, run inside the group's transaction under a
// savepoint of its own. The outcome goes to done, or to after for a write
// nobody waits for.
type writeReq struct {
	ev    *Event
	apply func(ctx context.Context, tx *sql.Tx) error
	ctx   context.Context
	done  chan error
	after func(error)
	at    time.Time // when a queued event was queued
	// host is the first MAC of the host the write is to, "" when not known
	// before it runs (a write by hostname; a write to everything).
	host string
}

func (r writeReq) reply(err error) {
	if r.after != nil {
		r.after(err)
		return
	}
	r.done <- err
}

// queuedEvent reports whether r is an event nobody waits for (QueueEvent).
func (r writeReq) queuedEvent() bool { return r.ev != nil && r.after != nil }

// maxGroup bounds the writes one group commit takes.
const maxGroup = 512

// Queued events (QueueEvent: nobody waits for them) do not get a commit of
// their own at once. In a boot storm most writes are such events (every
// DHCP exchange and TFTP transfer leaves one); committed as they came, they
// made the writer do a commit per event, and the kickstart and report
// writes, which an installer waits for, queued behind those commits. Now
// the writer holds them back, up to eventHold after the oldest was queued
// or until eventHoldCount are held, and then commits them together; a
// write somebody waits for goes first, with the held events of its own host
// (so each host's writes still commit in the order they came), and the
// others stay held; once the oldest held event is due, the oldest held
// events, up to eventHoldCount, go with the next group, so events are never
// starved and no group carries more than that many of them.
const (
	eventHold      = 10 * time.Millisecond
	eventHoldCount = 128
)

// holdGroup decides whether the writer holds a gathered group of writes
// back instead of committing it: only when all of it is queued events,
// fewer than eventHoldCount, the oldest queued less than eventHold before
// now, and the store is not closing.
func holdGroup(batch []writeReq, now time.Time, closing bool) bool {
	if closing || len(batch) == 0 || len(batch) >= eventHoldCount {
		return false
	}
	for _, r := range batch {
		if !r.queuedEvent() {
			return false
		}
	}
	return now.Sub(batch[0].at) < eventHold
}

// splitGroup decides what of a gathered group (in arrival order) commits
// now and what stays held. With no write that somebody waits for, nothing
// commits now (holdGroup decides on the rest). Otherwise those writes go
// now with every queued event of their hosts, in arrival order, and the
// other hosts' queued events stay held; once the oldest of them is due
// (eventHold), the oldest of them, up to eventHoldCount, go too, so events
// are never starved and a group never carries more than that many events
// of hosts nobody waits for. (Taking the oldest keeps each host's events in
// order: what stays held of a host came after what went.) A waited write
// whose host is not known (a write by hostname, a flush of everything)
// takes everything with it.
func splitGroup(batch []writeReq, now time.Time) (commit, held []writeReq) {
	hosts := map[string]bool{}
	due, all := false, false
	oldest := true
	for _, r := range batch {
		if r.queuedEvent() {
			if oldest && now.Sub(r.at) >= eventHold {
				due = true
			}
			oldest = false
			continue
		}
		if r.host == "" {
			all = true
		}
		hosts[r.host] = true
	}
	if len(hosts) == 0 {
		return nil, batch
	}
	if all {
		return batch, nil
	}
	budget := 0
	if due {
		budget = eventHoldCount
	}
	for _, r := range batch {
		switch {
		case !r.queuedEvent() || hosts[r.host]:
			commit = append(commit, r)
		case budget > 0 && len(held) == 0:
			commit = append(commit, r)
			budget--
		default:
			held = append(held, r)
		}
	}
	return commit, held
}

// errClosed is the answer to a write queued as the store closes.
var errClosed = errors.New("inventory is closed")

// groupWrite queues r for the group writer and waits for the commit that
// holds it: nil means it is on disk (WAL, synchronous=FULL). Once queued
// the caller waits for the outcome even if ctx ends, so that a nil never
// hides a lost write and an error never hides a committed one.
func (s *SQLite) groupWrite(ctx context.Context, r writeReq) error {
	r.ctx, r.done = ctx, make(chan error, 1)
	select {
	case s.writes <- r:
	case <-s.closed:
		return errClosed
	case <-ctx.Done():
		return ctx.Err()
	}
	select {
	case err := <-r.done:
		return err
	case <-s.writerDone:
		select {
		case err := <-r.done:
			return err
		default:
			return errClosed
		}
	}
}

// groupWriter commits queued writes in groups: one transaction (one fsync)
// for everything that arrived while the previous group was being written,
// in arrival order. Group commit is what keeps a boot storm's kickstart
// fetches and reports from queueing behind one fsync each. Queued events
// are held back a little so that they share a commit with the
// writes around them (holdGroup, splitGroup). Once the store closes, what
// was queued before is committed, then the writer stops.
func (s *SQLite) groupWriter() {
	defer close(s.writerDone)
	var held []writeReq // queued events waiting for company, oldest first
	hold := time.NewTimer(time.Hour)
	hold.Stop()
	closing := false // the store is closing: commit what was queued, then stop
	for {
		batch := held
		held = nil
		switch {
		case closing:
		case len(batch) == 0:
			select {
			case r := <-s.writes:
				batch = append(batch, r)
			case <-s.closed:
				closing = true
			}
		case holdGroup(batch, time.Now(), false):
			hold.Reset(time.Until(batch[0].at.Add(eventHold)))
			select {
			case r := <-s.writes:
				batch = append(batch, r)
			case <-hold.C:
			case <-s.closed:
				closing = true
			}
			hold.Stop()
		}
	drain:
		for len(batch) < maxGroup {
			select {
			case r := <-s.writes:
				batch = append(batch, r)
			default:
				break drain
			}
		}
		if len(batch) == 0 {
			return // closing, and nothing is left
		}
		group, rest := splitGroup(batch, time.Now())
		if len(group) == 0 {
			if holdGroup(rest, time.Now(), closing) {
				held = rest
				continue
			}
			// Held events alone: a bounded group, so that a write
			// somebody waits for never waits behind a long one.
			n := min(len(rest), eventHoldCount)
			group, rest = rest[:n], rest[n:]
		}
		held = rest
		s.groups.Add(1)
		errs := make([]error, len(group))
		err := s.commitGroup(group, errs)
		for i, r := range group {
			if errs[i] == nil {
				errs[i] = err
			}
			if r.queuedEvent() {
				s.queued.add(r.host, -1)
			}
			r.reply(errs[i])
		}
	}
}

// flushQueued commits the queued events of host not yet committed, so
// that a read of its timeline sees every event queued before it (the
// other hosts' events stay held).
func (s *SQLite) flushQueued(ctx context.Context, host string) error {
	if !s.queued.has(host) {
		return nil
	}
	return s.groupWrite(ctx, writeReq{host: host, apply: func(context.Context, *sql.Tx) error { return nil }})
}

// pendingEvents counts queued events by host.
type pendingEvents struct {
	mu sync.Mutex
	n  map[string]int
}

func (p *pendingEvents) add(host string, d int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.n == nil {
		p.n = map[string]int{}
	}
	if p.n[host] += d; p.n[host] <= 0 {
		delete(p.n, host)
	}
}

func (p *pendingEvents) has(host string) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.n[host] > 0
}

// commitGroup runs a group in one transaction. A write whose apply fails is
// rolled back to its savepoint and gets its own error in errs; the others
// commit. The returned error (begin, trim or commit failed) is every other
// write's.
func (s *SQLite) commitGroup(batch []writeReq, errs []error) error {
	ctx := context.Background()
	tx, err := s.beginWrite(ctx)
	if err != nil {
		return fmt.Errorf("begin a write: %w", err)
	}
	defer tx.Rollback()
	trim := map[string]bool{}
	for i, r := range batch {
		if err := r.ctx.Err(); err != nil {
			errs[i] = err // the caller gave up before its turn: not written
			continue
		}
		if r.ev != nil {
			e := r.ev
			if _, err := tx.StmtContext(ctx, s.insertEvent).ExecContext(ctx, e.HostID, e.Time.UnixNano(), e.Kind, e.Detail); err != nil {
				errs[i] = err
			}
			if s.due.add(e.HostID, trimSlack(s.eventCap)) {
				trim[e.HostID] = true
			}
			continue
		}
		var fatal error
		errs[i], fatal = savepoint(ctx, s.prepared(tx.Tx), tx.Tx, r.apply)
		if fatal != nil {
			return fatal
		}
	}
	for h := range trim {
		if err := s.trimEventsTx(ctx, tx.Tx, h); err != nil {
			return err
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	return nil
}

// savepoint runs fn under a savepoint of tx: fn's error rolls back what fn
// did and is returned as err; fatal is set when the savepoint itself failed
// and the transaction can no longer be committed. fn runs with a context
// that is never cancelled: SQLite rolls back the whole transaction when a
// write statement in it is interrupted. The savepoint statements run
// prepared (p, on tx): a group of kickstart writes runs two per write.
func savepoint(ctx context.Context, p preparedTx, tx *sql.Tx, fn func(context.Context, *sql.Tx) error) (err, fatal error) {
	if _, err := p.ExecContext(ctx, `SAVEPOINT w`); err != nil {
		return nil, fmt.Errorf("savepoint: %w", err)
	}
	if err := fn(ctx, tx); err != nil {
		if _, rerr := p.ExecContext(ctx, `ROLLBACK TO w`); rerr != nil {
			return err, fmt.Errorf("roll back a failed write (%v): %w", err, rerr)
		}
		if _, rerr := p.ExecContext(ctx, `RELEASE w`); rerr != nil {
			return err, fmt.Errorf("release a savepoint: %w", rerr)
		}
		return err, nil
	}
	if _, err := p.ExecContext(ctx, `RELEASE w`); err != nil {
		return nil, fmt.Errorf("release a savepoint: %w", err)
	}
	return nil, nil
}

// insertEventsTx appends events and trims each host's timeline to the cap.
func (s *SQLite) insertEventsTx(ctx context.Context, tx *sql.Tx, events []Event) error {
	hosts := map[string]bool{}
	for _, e := range events {
		if e.Time.IsZero() {
			e.Time = time.Now()
		}
		if _, err := tx.StmtContext(ctx, s.insertEvent).ExecContext(ctx, e.HostID, e.Time.UnixNano(), e.Kind, e.Detail); err != nil {
			return fmt.Errorf("record %s event for %s: %w", e.Kind, e.HostID, err)
		}
		if s.due.add(e.HostID, trimSlack(s.eventCap)) {
			hosts[e.HostID] = true
		}
	}
	for h := range hosts {
		if err := s.trimEventsTx(ctx, tx, h); err != nil {
			return err
		}
	}
	return nil
}

// trimEventsTx trims a host's timeline to the cap, each class (fetches;
// everything else) on its own. Writers call it once a host is due
// (trimDue): trimming after every event was three quarters of the cost of
// a group of events.
func (s *SQLite) trimEventsTx(ctx context.Context, tx *sql.Tx, h string) error {
	for _, st := range s.trimEvents {
		if _, err := tx.StmtContext(ctx, st).ExecContext(ctx, h, h, s.eventCap); err != nil {
			return fmt.Errorf("trim events of %s: %w", h, err)
		}
	}
	return nil
}

// eventsSQL reads a host's newest events, fetches and the rest capped apart.
const eventsSQL = `SELECT id, host_id, time, kind, detail FROM
		(SELECT * FROM (SELECT * FROM events WHERE host_id = ? AND ` + fetchKindSQL + ` ORDER BY id DESC LIMIT ?)
		UNION ALL SELECT * FROM (SELECT * FROM events WHERE host_id = ? AND NOT ` + fetchKindSQL + ` ORDER BY id DESC LIMIT ?))
		ORDER BY time, id`

// Events returns a host's timeline, oldest first: the last limit events of
// each class (fetch events, see IsFetchEvent, and the others), merged in the
// order they happened (by Time, then by when they were written: a queued
// event stamped when it happened but written seconds later takes its place)
// (limit 0: all kept).
func (s *SQLite) Events(ctx context.Context, hostID string, limit int) ([]Event, error) {
	if limit <= 0 {
		limit = s.eventCap
	}
	if err := s.flushQueued(ctx, hostID); err != nil {
		return nil, fmt.Errorf("read events of %s: %w", hostID, err)
	}
	rows, err := s.eventsStmt.QueryContext(ctx, hostID, limit, hostID, limit)
	if err != nil {
		return nil, fmt.Errorf("read events of %s: %w", hostID, err)
	}
	defer rows.Close()
	var out []Event
	for rows.Next() {
		var e Event
		var ns int64
		if err := rows.Scan(&e.ID, &e.HostID, &ns, &e.Kind, &e.Detail); err != nil {
			return nil, err
		}
		e.Time = time.Unix(0, ns).UTC()
		out = append(out, e)
	}
	return out, rows.Err()
}

// SortRoles returns roles sorted and deduplicated (helper for callers that tag).
func SortRoles(roles []string) []string {
	m := map[string]bool{}
	var out []string
	for _, r := range roles {
		r = strings.TrimSpace(r)
		if r != "" && !m[r] {
			m[r] = true
			out = append(out, r)
		}
	}
	sort.Strings(out)
	return out
}

// PutHosts creates or replaces many hosts in one transaction: all or none.
func (s *SQLite) PutHosts(ctx context.Context, hosts []Host) error {
	for i := range hosts {
		if err := NormalizeHost(&hosts[i]); err != nil {
			return fmt.Errorf("hosts[%d] (%s): %w", i, hosts[i].Hostname, err)
		}
	}
	tx, err := s.beginWrite(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	for i := range hosts {
		if err := putHostTx(ctx, tx.Tx, &hosts[i]); err != nil {
			return fmt.Errorf("hosts[%d] (%s): %w", i, hosts[i].Hostname, err)
		}
	}
	return tx.Commit()
}
