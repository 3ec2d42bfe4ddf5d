package inventory

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strings"

	"github.com/jackc/pgx/v5"
)

// HostChanges is what happened to the hosts after a generation: readers that
// keep a copy of every host (the web page's table) patch it from this
// instead of reading every host again.
type HostChanges struct {
	// Generation is the store's generation this answer is current at: pass
	// it as since next time.
	Generation int64
	// Changed holds the hosts created or replaced after since, sorted by
	// hostname (byte order, whatever the database's collation).
	Changed []Host
	// Deleted holds the IDs (first MACs) of hosts removed after since. An ID
	// may be in both lists when its host was removed and added again: apply
	// Deleted first.
	Deleted []string
	// Full says Changed holds every host (Deleted is empty): since was < 0,
	// or older than the tombstones kept (see tombstones.go), so a removal
	// after it may no longer be known. The reader replaces its copy.
	Full bool
}

// Each host row records the generation of its last write (changed_gen) and
// each removed host leaves a tombstone (host_deletions) with the generation
// of its removal. Writers take the generation first (SQLite: one writer at a
// time; PostgreSQL: the meta row lock, held to commit), so generations are
// given in commit order and a snapshot that reads generation g holds every
// write up to g and none after.

// HostsChangedSince returns the hosts written and removed after generation
// since, read in one snapshot (since < 0, or older than the tombstones kept:
// every host, Full).
func (s *SQLite) HostsChangedSince(ctx context.Context, since int64) (HostChanges, error) {
	var out HostChanges
	fail := func(what string, err error) (HostChanges, error) {
		return HostChanges{}, fmt.Errorf("inventory database %s: hosts changed since generation %d: %s: %w", s.path, since, what, err)
	}
	// A read-only transaction is a deferred BEGIN: one WAL snapshot for all three reads.
	tx, err := s.db.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return fail("begin", err)
	}
	defer tx.Rollback()
	var pruned int64
	if err := tx.QueryRowContext(ctx, `SELECT generation, tombstones_pruned FROM meta`).Scan(&out.Generation, &pruned); err != nil {
		return fail("read generation", err)
	}
	if mustReload(since, pruned) {
		since = -1
	}
	out.Full = since < 0
	rows, err := tx.QueryContext(ctx, `SELECT doc FROM hosts WHERE changed_gen > ?`, since)
	if err != nil {
		return fail("read hosts", err)
	}
	for rows.Next() {
		var doc string
		if err := rows.Scan(&doc); err != nil {
			rows.Close()
			return fail("read hosts", err)
		}
		h, err := decodeHost(doc)
		if err != nil {
			rows.Close()
			return fail("read hosts", err)
		}
		out.Changed = append(out.Changed, *h)
	}
	if err := rows.Close(); err != nil {
		return fail("read hosts", err)
	}
	// Sorted here: an ORDER BY made the planner walk the hostname index (every row).
	slices.SortFunc(out.Changed, func(a, b Host) int { return strings.Compare(a.Hostname, b.Hostname) })
	if since >= 0 {
		rows, err = tx.QueryContext(ctx, `SELECT id FROM host_deletions WHERE gen > ? ORDER BY id`, since)
		if err != nil {
			return fail("read removed hosts", err)
		}
		for rows.Next() {
			var id string
			if err := rows.Scan(&id); err != nil {
				rows.Close()
				return fail("read removed hosts", err)
			}
			out.Deleted = append(out.Deleted, id)
		}
		if err := rows.Close(); err != nil {
			return fail("read removed hosts", err)
		}
	}
	return out, tx.Commit()
}

// HostsChangedSince returns the hosts written and removed after generation
// since, read in one snapshot (since < 0, or older than the tombstones kept:
// every host, Full).
func (s *Postgres) HostsChangedSince(ctx context.Context, since int64) (HostChanges, error) {
	var out HostChanges
	fail := func(what string, err error) (HostChanges, error) {
		return HostChanges{}, fmt.Errorf("store %s: hosts changed since generation %d: %s: %w", s.name, since, what, err)
	}
	tx, err := s.pool.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly})
	if err != nil {
		return fail("begin", err)
	}
	defer tx.Rollback(ctx)
	var pruned int64
	if err := tx.QueryRow(ctx, `SELECT generation, tombstones_pruned FROM meta`).Scan(&out.Generation, &pruned); err != nil {
		return fail("read generation", err)
	}
	if mustReload(since, pruned) {
		since = -1
	}
	out.Full = since < 0
	rows, err := tx.Query(ctx, `SELECT doc FROM hosts WHERE changed_gen > $1`, since)
	if err != nil {
		return fail("read hosts", err)
	}
	docs, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return fail("read hosts", err)
	}
	for _, doc := range docs {
		h, err := decodeHost(doc)
		if err != nil {
			return fail("read hosts", err)
		}
		out.Changed = append(out.Changed, *h)
	}
	slices.SortFunc(out.Changed, func(a, b Host) int { return strings.Compare(a.Hostname, b.Hostname) })
	if since >= 0 {
		rows, err := tx.Query(ctx, `SELECT id FROM host_deletions WHERE gen > $1 ORDER BY id`, since)
		if err != nil {
			return fail("read removed hosts", err)
		}
		if out.Deleted, err = pgx.CollectRows(rows, pgx.RowTo[string]); err != nil {
			return fail("read removed hosts", err)
		}
	}
	if err := tx.Commit(ctx); err != nil {
		return fail("commit", err)
	}
	return out, nil
}
