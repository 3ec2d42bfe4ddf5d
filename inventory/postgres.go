package inventory

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

// pgMigrations are the PostgreSQL forms of migrations, version for version:
// pgMigrations[i] brings a database to schema version i+1, as migrations[i]
// does for SQLite. Never edit a shipped one: append.
var pgMigrations = []string{
	`CREATE TABLE hosts (
		id TEXT PRIMARY KEY,
		hostname TEXT NOT NULL,
		state TEXT NOT NULL,
		doc TEXT NOT NULL
	);
	CREATE UNIQUE INDEX hosts_hostname ON hosts (lower(hostname));
	CREATE TABLE host_macs (
		mac TEXT PRIMARY KEY,
		host_id TEXT NOT NULL REFERENCES hosts(id) ON DELETE CASCADE
	);
	CREATE INDEX host_macs_host ON host_macs(host_id);
	CREATE TABLE docs (
		kind TEXT NOT NULL,
		name TEXT NOT NULL,
		doc TEXT NOT NULL,
		PRIMARY KEY (kind, name)
	);
	CREATE TABLE events (
		id BIGSERIAL PRIMARY KEY,
		host_id TEXT NOT NULL,
		time BIGINT NOT NULL,
		kind TEXT NOT NULL,
		detail TEXT NOT NULL
	);
	CREATE INDEX events_host ON events(host_id, id);`,
	`CREATE TABLE meta (generation BIGINT NOT NULL);
	INSERT INTO meta(generation) VALUES (0);`,
	// 3: leases keyed by address: one holder per address, whichever server wrote it.
	`CREATE TABLE leases (
		ip TEXT PRIMARY KEY,
		mac TEXT NOT NULL,
		state TEXT NOT NULL,
		expires BIGINT NOT NULL,
		hostname TEXT NOT NULL DEFAULT '',
		updated BIGINT NOT NULL
	);
	CREATE INDEX leases_mac ON leases(mac);`,
	`CREATE TABLE api_tokens (
		name TEXT PRIMARY KEY,
		hash TEXT NOT NULL UNIQUE,
		created BIGINT NOT NULL
	);`,
	// 5: as SQLite's: each host's BMC, apart from the host.
	`CREATE TABLE host_bmcs (
		mac TEXT PRIMARY KEY,
		driver TEXT NOT NULL,
		address TEXT NOT NULL,
		port INTEGER NOT NULL,
		"user" TEXT NOT NULL,
		password TEXT NOT NULL,
		password_file TEXT NOT NULL,
		power_state TEXT NOT NULL DEFAULT '',
		power_checked BIGINT NOT NULL DEFAULT 0
	);`,
	// 6: machines DHCP discovered (dhcp.unknown: discover).
	`CREATE TABLE discovered (
		mac TEXT PRIMARY KEY,
		last_seen BIGINT NOT NULL,
		doc TEXT NOT NULL
	);
	CREATE INDEX discovered_seen ON discovered(last_seen);`,
	// 7: the generation of each host's last write, and a tombstone per
	// removed host, so readers can ask what changed since a generation.
	`ALTER TABLE hosts ADD COLUMN changed_gen BIGINT NOT NULL DEFAULT 0;
	CREATE INDEX hosts_changed ON hosts(changed_gen);
	CREATE TABLE host_deletions (
		id TEXT PRIMARY KEY,
		gen BIGINT NOT NULL
	);
	CREATE INDEX host_deletions_gen ON host_deletions(gen);`,
	// 8: the time of each removal, and the generation through which
	// tombstones were pruned (see tombstones.go).
	`ALTER TABLE host_deletions ADD COLUMN removed BIGINT NOT NULL DEFAULT 0;
	ALTER TABLE meta ADD COLUMN tombstones_pruned BIGINT NOT NULL DEFAULT 0;`,
}

// migrateLockKey is the advisory lock servers take to migrate: the first
// one migrates, the others wait and find the schema current.
const migrateLockKey = 0x6e65746b69636b // "netkick"

// Postgres is the shared Store: any number of netkick servers use one
// PostgreSQL database. Every write commits before it returns
// (synchronous_commit as the server has it; the default is on).
type Postgres struct {
	pool     *pgxpool.Pool
	name     string // the database, for messages (no credentials)
	eventCap int
	// tombstones says which tombstones of removed hosts are kept.
	tombstones TombstoneRetention
	cache      readCache
	// leaseCache answers by-address lookups read before while the database does not.
	leaseCache leaseCache
	documents
}

// OpenPostgres connects to the database that url names (postgres://host/db
// or a key=value string; user, password and the rest come from the PG*
// environment variables and PGPASSFILE when the url leaves them out) and
// migrates it to the current schema under an advisory lock.
func OpenPostgres(ctx context.Context, url string) (*Postgres, error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("store %s: %w (want postgres://HOST[:PORT]/DB)", redactURL(url), err)
	}
	name := fmt.Sprintf("postgres://%s:%d/%s", cfg.ConnConfig.Host, cfg.ConnConfig.Port, cfg.ConnConfig.Database)
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("store %s: %w", name, err)
	}
	s := &Postgres{pool: pool, name: name, eventCap: DefaultEventCap, tombstones: DefaultTombstoneRetention()}
	s.documents = documents{b: s, cache: &s.cache}
	if err := s.migrate(ctx); err != nil {
		pool.Close()
		return nil, err
	}
	return s, nil
}

// redactURL drops a password from a connection URL for messages.
func redactURL(u string) string {
	if i := strings.Index(u, "://"); i >= 0 {
		rest := u[i+3:]
		if at := strings.LastIndex(rest, "@"); at >= 0 {
			if c := strings.Index(rest[:at], ":"); c >= 0 {
				return u[:i+3] + rest[:c] + ":xxx" + rest[at:]
			}
		}
	}
	return u
}

func (s *Postgres) migrate(ctx context.Context) error {
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return fmt.Errorf("store %s: connect: %w (check the server runs, and PGUSER/PGPASSFILE)", s.name, err)
	}
	defer tx.Rollback(ctx)
	if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, int64(migrateLockKey)); err != nil {
		return fmt.Errorf("store %s: take the migration lock: %w", s.name, err)
	}
	if _, err := tx.Exec(ctx, `CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)`); err != nil {
		return fmt.Errorf("store %s: create schema_version: %w", s.name, err)
	}
	var v int
	err = tx.QueryRow(ctx, `SELECT version FROM schema_version`).Scan(&v)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		var n int
		if err := tx.QueryRow(ctx, `SELECT count(*) FROM information_schema.tables
			WHERE table_schema = current_schema() AND table_name <> 'schema_version'`).Scan(&n); err != nil {
			return fmt.Errorf("store %s: %w", s.name, err)
		}
		if n > 0 {
			return fmt.Errorf("store %s holds tables but no netkick schema version: it is not a netkick inventory; create an empty database for netkick", s.name)
		}
		if _, err := tx.Exec(ctx, `INSERT INTO schema_version(version) VALUES (0)`); err != nil {
			return err
		}
	case err != nil:
		return fmt.Errorf("store %s: read schema version: %w", s.name, err)
	}
	if v > len(pgMigrations) {
		return fmt.Errorf("store %s has schema version %d, newer than this netkick understands (%d); upgrade netkick", s.name, v, len(pgMigrations))
	}
	for i := v; i < len(pgMigrations); i++ {
		if _, err := tx.Exec(ctx, pgMigrations[i]); err != nil {
			return fmt.Errorf("store %s: migration %d: %w", s.name, i+1, err)
		}
	}
	if _, err := tx.Exec(ctx, `UPDATE schema_version SET version = $1`, len(pgMigrations)); err != nil {
		return err
	}
	if err := tx.Commit(ctx); err != nil {
		return fmt.Errorf("store %s: commit migrations: %w", s.name, err)
	}
	return nil
}

// SchemaVersion returns the schema version the database is at.
func (s *Postgres) SchemaVersion(ctx context.Context) (int, error) {
	var v int
	err := s.pool.QueryRow(ctx, `SELECT version FROM schema_version`).Scan(&v)
	return v, err
}

// Close closes the pool.
func (s *Postgres) Close() error {
	s.pool.Close()
	return nil
}

// tx runs fn in a transaction and commits it.
func (s *Postgres) tx(ctx context.Context, fn func(pgx.Tx) error) error {
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return fmt.Errorf("store %s: %w", s.name, err)
	}
	defer tx.Rollback(ctx)
	if err := fn(tx); err != nil {
		return err
	}
	if err := tx.Commit(ctx); err != nil {
		return fmt.Errorf("store %s: commit: %w", s.name, err)
	}
	return nil
}

// pgBump increments the generation and notifies the other servers. Writers call it first: the row lock it
// takes orders inventory writes across servers, so the conflict checks of
// putHost see every earlier write.
func pgBump(ctx context.Context, tx pgx.Tx) error {
	// The notification is delivered when (and only if) the transaction commits.
	_, err := tx.Exec(ctx, `UPDATE meta SET generation = generation + 1; SELECT pg_notify('`+changeChannel+`', '')`)
	return err
}

// Generation returns the inventory's write counter.
func (s *Postgres) Generation(ctx context.Context) (int64, error) {
	var g int64
	if err := s.pool.QueryRow(ctx, `SELECT generation FROM meta`).Scan(&g); err != nil {
		return 0, fmt.Errorf("store %s: read generation: %w", s.name, err)
	}
	return g, nil
}

type pgQuerier interface {
	QueryRow(ctx context.Context, q string, args ...any) pgx.Row
}

func pgResolve(ctx context.Context, q pgQuerier, key string) (string, error) {
	if mac, err := NormalizeMAC(key); err == nil {
		var id string
		err := q.QueryRow(ctx, `SELECT host_id FROM host_macs WHERE mac = $1`, mac).Scan(&id)
		if err == nil {
			return id, nil
		}
		if !errors.Is(err, pgx.ErrNoRows) {
			return "", err
		}
	}
	var id string
	err := q.QueryRow(ctx, `SELECT id FROM hosts WHERE lower(hostname) = lower($1)`, key).Scan(&id)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", fmt.Errorf("host %q: %w (list hosts with `netkick host list`)", trunc(key), ErrNotFound)
	}
	return id, err
}

// GetHost returns the host with that MAC or hostname (cached per
// generation). While the database does not answer, a host read or warmed
// (Warm) before is returned as it was read last (boot configs of known
// hosts keep being served); any other host gets the database's error,
// never ErrNotFound.
func (s *Postgres) GetHost(ctx context.Context, key string) (*Host, error) {
	ck := cacheKey(key)
	gen, err := s.Generation(ctx)
	if err != nil {
		if h, ok := s.cache.staleHost(ck); ok {
			return h.clone(), nil
		}
		return nil, err
	}
	if h, ok := s.cache.getHost(gen, ck); ok {
		return h.clone(), nil
	}
	id, err := pgResolve(ctx, s.pool, key)
	if err != nil {
		return nil, err
	}
	var doc string
	if err := s.pool.QueryRow(ctx, `SELECT doc FROM hosts WHERE id = $1`, id).Scan(&doc); err != nil {
		if errors.Is(err, pgx.ErrNoRows) {
			return nil, fmt.Errorf("host %q: %w", trunc(key), ErrNotFound)
		}
		return nil, err
	}
	h, err := decodeHost(doc)
	if err != nil {
		return nil, err
	}
	s.cache.putHost(gen, ck, h)
	return h.clone(), nil
}

// Warm reads every host and profile into the copy GetHost and GetProfile
// answer from while the database does not: with it, every known host keeps
// being served its boot configs through an outage, not only the hosts this
// server happened to read since the last write. It reads nothing when the
// generation is the one of the last warm copy.
func (s *Postgres) Warm(ctx context.Context) error {
	gen, err := s.Generation(ctx)
	if err != nil {
		return fmt.Errorf("warm the outage copy: %w", err)
	}
	if gen == s.cache.warmedAt() {
		return nil
	}
	hosts, err := s.ListHosts(ctx, HostFilter{})
	if err != nil {
		return fmt.Errorf("warm the outage copy: %w", err)
	}
	profiles, err := s.ListProfiles(ctx)
	if err != nil {
		return fmt.Errorf("warm the outage copy: %w", err)
	}
	s.cache.replaceLast(gen, hosts, profiles)
	return nil
}

// KeepWarm runs Warm now and then every interval until ctx ends (a warm
// costs one generation read while nothing changed). Failures are logged
// once per outage, not per attempt.
func (s *Postgres) KeepWarm(ctx context.Context, every time.Duration, log *slog.Logger) {
	failing := false
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		err := s.Warm(ctx)
		switch {
		case ctx.Err() != nil:
			return
		case err != nil && !failing && log != nil:
			log.Warn("inventory outage copy not refreshed; serving the last one", "store", s.name, "err", err)
		case err == nil && failing && log != nil:
			log.Info("inventory outage copy refreshed again", "store", s.name)
		}
		failing = err != nil
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// ListHosts returns hosts sorted by hostname.
func (s *Postgres) ListHosts(ctx context.Context, f HostFilter) ([]Host, error) {
	q := `SELECT doc FROM hosts`
	var args []any
	if f.State != "" {
		q += ` WHERE state = $1`
		args = append(args, string(f.State))
	}
	q += ` ORDER BY hostname COLLATE "C"` // byte order, as SQLite and HostsChangedSince, whatever the database's collation
	rows, err := s.pool.Query(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("list hosts: %w", err)
	}
	docs, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, fmt.Errorf("list hosts: %w", err)
	}
	var out []Host
	for _, doc := range docs {
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
	return out, nil
}

func pgPutHostTx(ctx context.Context, tx pgx.Tx, h *Host) error {
	id := h.ID()
	for _, m := range h.MACs {
		var other string
		err := tx.QueryRow(ctx, `SELECT host_id FROM host_macs WHERE mac = $1`, m).Scan(&other)
		if err == nil && other != id {
			return fmt.Errorf("%w: MAC %s already belongs to host %s; remove it there first", ErrConflict, m, other)
		}
	}
	var other string
	err := tx.QueryRow(ctx, `SELECT id FROM hosts WHERE lower(hostname) = lower($1)`, h.Hostname).Scan(&other)
	if err == nil && other != id {
		return fmt.Errorf("%w: hostname %s already belongs to host %s; choose another name or remove that host", ErrConflict, h.Hostname, other)
	}
	doc, err := encodeHost(h)
	if err != nil {
		return err
	}
	// Writers bumped the generation first (pgBump): the row records it.
	if _, err := tx.Exec(ctx, `INSERT INTO hosts(id, hostname, state, doc, changed_gen) VALUES ($1,$2,$3,$4,(SELECT generation FROM meta))
		ON CONFLICT(id) DO UPDATE SET hostname=excluded.hostname, state=excluded.state, doc=excluded.doc, changed_gen=excluded.changed_gen`,
		id, h.Hostname, string(h.State), doc); err != nil {
		return fmt.Errorf("save host %s: %w", h.Hostname, err)
	}
	if _, err := tx.Exec(ctx, `DELETE FROM host_macs WHERE host_id = $1`, id); err != nil {
		return err
	}
	for _, m := range h.MACs {
		if _, err := tx.Exec(ctx, `INSERT INTO host_macs(mac, host_id) VALUES ($1,$2)`, m, id); err != nil {
			return fmt.Errorf("save MAC %s of host %s: %w", m, h.Hostname, err)
		}
	}
	return nil
}

// PutHost creates or replaces a host. A MAC or hostname held by another host is a conflict.
func (s *Postgres) PutHost(ctx context.Context, h *Host) error {
	if err := NormalizeHost(h); err != nil {
		return err
	}
	return s.tx(ctx, func(tx pgx.Tx) error {
		if err := pgBump(ctx, tx); err != nil {
			return err
		}
		return pgPutHostTx(ctx, tx, h)
	})
}

// PutHosts creates or replaces many hosts in one transaction: all or none.
func (s *Postgres) PutHosts(ctx context.Context, hosts []Host) error {
	for i := range hosts {
		if err := NormalizeHost(&hosts[i]); err != nil {
			return fmt.Errorf("hosts[%d] (%s): %w", i, hosts[i].Hostname, err)
		}
	}
	return s.tx(ctx, func(tx pgx.Tx) error {
		if err := pgBump(ctx, tx); err != nil {
			return err
		}
		for i := range hosts {
			if err := pgPutHostTx(ctx, tx, &hosts[i]); err != nil {
				return fmt.Errorf("hosts[%d] (%s): %w", i, hosts[i].Hostname, err)
			}
		}
		return nil
	})
}

// UpdateHost applies fn to the stored host atomically. fn may not change the first MAC.
func (s *Postgres) UpdateHost(ctx context.Context, key string, fn func(*Host) error) (*Host, error) {
	return s.UpdateHostLogged(ctx, key, func(h *Host) (*Event, error) { return nil, fn(h) })
}

// UpdateHostLogged is UpdateHost whose fn may also return a timeline event,
// committed in the same transaction.
func (s *Postgres) UpdateHostLogged(ctx context.Context, key string, fn func(*Host) (*Event, error)) (*Host, error) {
	var out *Host
	err := s.tx(ctx, func(tx pgx.Tx) error {
		if err := pgBump(ctx, tx); err != nil {
			return err
		}
		id, err := pgResolve(ctx, tx, key)
		if err != nil {
			return err
		}
		var doc string
		if err := tx.QueryRow(ctx, `SELECT doc FROM hosts WHERE id = $1 FOR UPDATE`, id).Scan(&doc); err != nil {
			return err
		}
		h, err := decodeHost(doc)
		if err != nil {
			return err
		}
		ev, err := fn(h)
		if err != nil {
			return err
		}
		if err := NormalizeHost(h); err != nil {
			return err
		}
		if h.ID() != id {
			return fmt.Errorf("%w: host %s: the first MAC is the host's identity and cannot change; remove and re-add the host", ErrInvalid, id)
		}
		if err := pgPutHostTx(ctx, tx, h); err != nil {
			return err
		}
		if ev != nil {
			ev.HostID = id
			if err := s.insertEventsTx(ctx, tx, []Event{*ev}); err != nil {
				return err
			}
		}
		out = h
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// PutHostLogged is PutHost with a timeline event in the same transaction.
func (s *Postgres) PutHostLogged(ctx context.Context, h *Host, ev Event) error {
	if err := NormalizeHost(h); err != nil {
		return err
	}
	return s.tx(ctx, func(tx pgx.Tx) error {
		if err := pgBump(ctx, tx); err != nil {
			return err
		}
		if err := pgPutHostTx(ctx, tx, h); err != nil {
			return err
		}
		ev.HostID = h.ID()
		return s.insertEventsTx(ctx, tx, []Event{ev})
	})
}

// DeleteHost removes a host, its timeline and its BMC settings.
func (s *Postgres) DeleteHost(ctx context.Context, key string) error {
	var removed string
	err := s.tx(ctx, func(tx pgx.Tx) error {
		if err := pgBump(ctx, tx); err != nil {
			return err
		}
		var err error
		removed, err = s.deleteHostTx(ctx, tx, key)
		return err
	})
	if err == nil {
		s.cache.forgetHost(removed)
	}
	return err
}

// deleteHostTx is DeleteHost's work in a transaction that bumped the
// generation; it returns the removed host's ID.
func (s *Postgres) deleteHostTx(ctx context.Context, tx pgx.Tx, key string) (string, error) {
	id, err := pgResolve(ctx, tx, key)
	if err != nil {
		return "", err
	}
	for _, q := range []string{`DELETE FROM host_macs WHERE host_id = $1`, `DELETE FROM hosts WHERE id = $1`, `DELETE FROM events WHERE host_id = $1`, `DELETE FROM host_bmcs WHERE mac = $1`} {
		if _, err := tx.Exec(ctx, q, id); err != nil {
			return "", err
		}
	}
	now := time.Now()
	if _, err := tx.Exec(ctx, `INSERT INTO host_deletions(id, gen, removed) VALUES ($1, (SELECT generation FROM meta), $2)
		ON CONFLICT(id) DO UPDATE SET gen=excluded.gen, removed=excluded.removed`, id, now.UnixNano()); err != nil {
		return "", fmt.Errorf("record the removal of host %s: %w", id, err)
	}
	if err := s.pruneTombstonesTx(ctx, tx, now); err != nil {
		return "", fmt.Errorf("store %s: remove host %s: %w", s.name, id, err)
	}
	return id, nil
}

// SetTombstoneRetention changes which tombstones of removed hosts are kept
// (from the next removal on); call it before the store is shared.
func (s *Postgres) SetTombstoneRetention(r TombstoneRetention) { s.tombstones = r }

// pruneTombstonesTx removes the tombstones s.tombstones no longer keeps and
// records the generation through which they went.
func (s *Postgres) pruneTombstonesTx(ctx context.Context, tx pgx.Tx, now time.Time) error {
	var limit any // NULL: LIMIT ALL
	if n := s.tombstones.limit(); n > 0 {
		limit = n
	}
	rows, err := tx.Query(ctx, `SELECT gen, removed FROM host_deletions ORDER BY gen DESC LIMIT $1`, limit)
	if err != nil {
		return fmt.Errorf("read tombstones: %w", err)
	}
	newest, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (tombstone, error) {
		var t tombstone
		var ns int64
		err := r.Scan(&t.gen, &ns)
		t.removed = time.Unix(0, ns)
		return t, err
	})
	if err != nil {
		return fmt.Errorf("read tombstones: %w", err)
	}
	through := pruneThrough(newest, now, s.tombstones)
	if through == 0 {
		return nil
	}
	if _, err := tx.Exec(ctx, `DELETE FROM host_deletions WHERE gen <= $1`, through); err != nil {
		return fmt.Errorf("prune tombstones through generation %d: %w", through, err)
	}
	if _, err := tx.Exec(ctx, `UPDATE meta SET tombstones_pruned = GREATEST(tombstones_pruned, $1)`, through); err != nil {
		return fmt.Errorf("prune tombstones through generation %d: %w", through, err)
	}
	return nil
}

func (s *Postgres) docGet(ctx context.Context, kind, name string) (string, error) {
	var doc string
	err := s.pool.QueryRow(ctx, `SELECT doc FROM docs WHERE kind = $1 AND name = $2`, kind, name).Scan(&doc)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", fmt.Errorf("%s %q: %w", kind, trunc(name), ErrNotFound)
	}
	if err != nil {
		return "", fmt.Errorf("read %s %q: %w", kind, trunc(name), err)
	}
	return doc, nil
}

func (s *Postgres) docList(ctx context.Context, kind string) ([]string, error) {
	rows, err := s.pool.Query(ctx, `SELECT doc FROM docs WHERE kind = $1 ORDER BY name`, kind)
	if err != nil {
		return nil, fmt.Errorf("list %ss: %w", kind, err)
	}
	docs, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, fmt.Errorf("list %ss: %w", kind, err)
	}
	return docs, nil
}

func (s *Postgres) docPut(ctx context.Context, kind, name, doc string) error {
	return s.tx(ctx, func(tx pgx.Tx) error {
		if err := pgBump(ctx, tx); err != nil {
			return err
		}
		return pgDocPutTx(ctx, tx, kind, name, doc)
	})
}

func pgDocPutTx(ctx context.Context, tx pgx.Tx, kind, name, doc string) error {
	if _, err := tx.Exec(ctx, `INSERT INTO docs(kind, name, doc) VALUES ($1,$2,$3)
		ON CONFLICT(kind, name) DO UPDATE SET doc = excluded.doc`, kind, name, doc); err != nil {
		return fmt.Errorf("save %s %q: %w", kind, name, err)
	}
	return nil
}

func (s *Postgres) docDelete(ctx context.Context, kind, name string) error {
	return s.tx(ctx, func(tx pgx.Tx) error {
		if err := pgBump(ctx, tx); err != nil {
			return err
		}
		return pgDocDeleteTx(ctx, tx, kind, name)
	})
}

func pgDocDeleteTx(ctx context.Context, tx pgx.Tx, kind, name string) error {
	tag, err := tx.Exec(ctx, `DELETE FROM docs WHERE kind = $1 AND name = $2`, kind, name)
	if err != nil {
		return fmt.Errorf("delete %s %q: %w", kind, trunc(name), err)
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("%s %q: %w", kind, trunc(name), ErrNotFound)
	}
	return nil
}

// AddEvent appends an event and trims the host's timeline to the cap.
// PostgreSQL groups the WAL flushes of concurrent commits itself.
func (s *Postgres) AddEvent(ctx context.Context, e Event) error {
	return s.tx(ctx, func(tx pgx.Tx) error { return s.insertEventsTx(ctx, tx, []Event{e}) })
}

func (s *Postgres) insertEventsTx(ctx context.Context, tx pgx.Tx, events []Event) error {
	hosts := map[string]bool{}
	for _, e := range events {
		if e.Time.IsZero() {
			e.Time = time.Now()
		}
		if _, err := tx.Exec(ctx, `INSERT INTO events(host_id, time, kind, detail) VALUES ($1,$2,$3,$4)`,
			e.HostID, e.Time.UnixNano(), e.Kind, e.Detail); err != nil {
			return fmt.Errorf("record %s event for %s: %w", e.Kind, e.HostID, err)
		}
		hosts[e.HostID] = true
	}
	for h := range hosts {
		for _, class := range []string{fetchKindSQL, "NOT " + fetchKindSQL} {
			if _, err := tx.Exec(ctx, `DELETE FROM events WHERE host_id = $1 AND `+class+` AND id <= (
			SELECT id FROM events WHERE host_id = $1 AND `+class+` ORDER BY id DESC LIMIT 1 OFFSET $2)`, h, s.eventCap); err != nil {
				return fmt.Errorf("trim events of %s: %w", h, err)
			}
		}
	}
	return nil
}

// Events returns a host's timeline, oldest first, as SQLite.Events does.
func (s *Postgres) Events(ctx context.Context, hostID string, limit int) ([]Event, error) {
	if limit <= 0 {
		limit = s.eventCap
	}
	rows, err := s.pool.Query(ctx, `SELECT id, host_id, time, kind, detail FROM
		((SELECT * FROM events WHERE host_id = $1 AND `+fetchKindSQL+` ORDER BY id DESC LIMIT $2)
		UNION ALL (SELECT * FROM events WHERE host_id = $1 AND NOT `+fetchKindSQL+` ORDER BY id DESC LIMIT $2)) AS e
		ORDER BY time, id`, hostID, limit)
	if err != nil {
		return nil, fmt.Errorf("read events of %s: %w", trunc(hostID), err)
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

// AddToken stores a new named token; a name or hash already used is a conflict.
func (s *Postgres) AddToken(ctx context.Context, t APIToken) error {
	if err := ValidateName("token", t.Name); err != nil {
		return err
	}
	if t.Created.IsZero() {
		t.Created = time.Now()
	}
	_, err := s.pool.Exec(ctx, `INSERT INTO api_tokens(name, hash, created) VALUES ($1,$2,$3)`, t.Name, t.Hash, t.Created.UnixNano())
	if isUniqueViolation(err) {
		return fmt.Errorf("%w: token %s already exists; revoke it first or choose another name", ErrConflict, t.Name)
	}
	if err != nil {
		return fmt.Errorf("save token %s: %w", t.Name, err)
	}
	return nil
}

func isUniqueViolation(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && pe.Code == "23505"
}

// ListTokens returns the named tokens sorted by name (hashes included, for the caller to drop).
func (s *Postgres) ListTokens(ctx context.Context) ([]APIToken, error) {
	rows, err := s.pool.Query(ctx, `SELECT name, hash, created FROM api_tokens ORDER BY name`)
	if err != nil {
		return nil, fmt.Errorf("list tokens: %w", err)
	}
	defer rows.Close()
	var out []APIToken
	for rows.Next() {
		t, err := scanToken(rows.Scan)
		if err != nil {
			return nil, err
		}
		out = append(out, *t)
	}
	return out, rows.Err()
}

// DeleteToken revokes a named token.
func (s *Postgres) DeleteToken(ctx context.Context, name string) error {
	tag, err := s.pool.Exec(ctx, `DELETE FROM api_tokens WHERE name = $1`, name)
	if err != nil {
		return fmt.Errorf("revoke token %s: %w", trunc(name), err)
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("token %q: %w (list tokens with `netkick token list`)", trunc(name), ErrNotFound)
	}
	return nil
}

// TokenByHash finds the token whose secret hashes to hash.
func (s *Postgres) TokenByHash(ctx context.Context, hash string) (*APIToken, error) {
	var t APIToken
	var ns int64
	err := s.pool.QueryRow(ctx, `SELECT name, hash, created FROM api_tokens WHERE hash = $1`, hash).Scan(&t.Name, &t.Hash, &ns)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, fmt.Errorf("token: %w", ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("look up token: %w", err)
	}
	t.Created = time.Unix(0, ns).UTC()
	return &t, nil
}
