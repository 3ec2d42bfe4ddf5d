package inventory

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
)

// RecordDiscovered merges a sighting and evicts beyond max (see Discoveries).
func (s *SQLite) RecordDiscovered(ctx context.Context, seen Discovered, max int) (int, error) {
	if err := NormalizeSighting(&seen); err != nil {
		return 0, err
	}
	tx, err := s.beginWrite(ctx)
	if err != nil {
		return 0, err
	}
	defer tx.Rollback()
	old, err := sqliteDiscovered(ctx, tx, seen.MAC)
	if err != nil && !errors.Is(err, ErrNotFound) {
		return 0, err
	}
	d := MergeSighting(old, seen)
	if err := sqlitePutDiscovered(ctx, tx.Tx, &d); err != nil {
		return 0, err
	}
	res, err := tx.ExecContext(ctx, `DELETE FROM discovered WHERE mac IN
		(SELECT mac FROM discovered ORDER BY last_seen DESC, mac LIMIT -1 OFFSET ?)`, discoveredCap(max))
	if err != nil {
		return 0, fmt.Errorf("evict discovered machines: %w", err)
	}
	n, _ := res.RowsAffected()
	return int(n), tx.Commit()
}

func sqliteDiscovered(ctx context.Context, q querier, mac string) (*Discovered, error) {
	var doc string
	err := q.QueryRowContext(ctx, `SELECT doc FROM discovered WHERE mac = ?`, mac).Scan(&doc)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, discoveredNotFound(mac)
	}
	if err != nil {
		return nil, fmt.Errorf("read discovered machine %s: %w", mac, err)
	}
	return decodeDiscovered(doc)
}

func sqlitePutDiscovered(ctx context.Context, tx *sql.Tx, d *Discovered) error {
	doc, err := encodeDiscovered(d)
	if err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO discovered(mac, last_seen, doc) VALUES (?,?,?)
		ON CONFLICT(mac) DO UPDATE SET last_seen=excluded.last_seen, doc=excluded.doc`,
		d.MAC, d.LastSeen.UnixNano(), doc); err != nil {
		return fmt.Errorf("save discovered machine %s: %w", d.MAC, err)
	}
	return nil
}

// GetDiscovered returns the discovered machine with that MAC.
func (s *SQLite) GetDiscovered(ctx context.Context, mac string) (*Discovered, error) {
	m, err := NormalizeMAC(mac)
	if err != nil {
		return nil, err
	}
	return sqliteDiscovered(ctx, s.db, m)
}

// ListDiscovered returns the discovered machines, the most recently seen first.
func (s *SQLite) ListDiscovered(ctx context.Context) ([]Discovered, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT doc FROM discovered ORDER BY last_seen DESC, mac`)
	if err != nil {
		return nil, fmt.Errorf("list discovered machines: %w", err)
	}
	defer rows.Close()
	return scanDiscovered(rows)
}

// UpdateDiscovered runs fn on the stored machine in one transaction.
func (s *SQLite) UpdateDiscovered(ctx context.Context, mac string, fn func(*Discovered) error) (*Discovered, error) {
	m, err := NormalizeMAC(mac)
	if err != nil {
		return nil, err
	}
	tx, err := s.beginWrite(ctx)
	if err != nil {
		return nil, err
	}
	defer tx.Rollback()
	d, err := sqliteDiscovered(ctx, tx, m)
	if err != nil {
		return nil, err
	}
	if err := fn(d); err != nil {
		return nil, err
	}
	d.MAC = m
	if err := sqlitePutDiscovered(ctx, tx.Tx, d); err != nil {
		return nil, err
	}
	return d, tx.Commit()
}

// DeleteDiscovered forgets a discovered machine.
func (s *SQLite) DeleteDiscovered(ctx context.Context, mac string) error {
	m, err := NormalizeMAC(mac)
	if err != nil {
		return err
	}
	res, err := s.db.ExecContext(ctx, `DELETE FROM discovered WHERE mac = ?`, m)
	if err != nil {
		return fmt.Errorf("remove discovered machine %s: %w", m, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return discoveredNotFound(m)
	}
	return nil
}

// docRows is what both drivers' result sets offer: rows of one doc column.
type docRows interface {
	Next() bool
	Scan(dest ...any) error
	Err() error
}

// scanDiscovered decodes every row's doc into a discovered machine.
func scanDiscovered(rows docRows) ([]Discovered, error) {
	var out []Discovered
	for rows.Next() {
		var doc string
		if err := rows.Scan(&doc); err != nil {
			return nil, err
		}
		d, err := decodeDiscovered(doc)
		if err != nil {
			return nil, err
		}
		out = append(out, *d)
	}
	return out, rows.Err()
}
