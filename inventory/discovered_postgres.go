package inventory

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
)

// RecordDiscovered merges a sighting and evicts beyond max (see Discoveries).
func (s *Postgres) RecordDiscovered(ctx context.Context, seen Discovered, max int) (int, error) {
	if err := NormalizeSighting(&seen); err != nil {
		return 0, err
	}
	var evicted int
	err := s.tx(ctx, func(tx pgx.Tx) error {
		// The row lock orders two servers recording the same machine.
		old, err := pgDiscovered(ctx, tx, seen.MAC, " FOR UPDATE")
		if err != nil && !errors.Is(err, ErrNotFound) {
			return err
		}
		d := MergeSighting(old, seen)
		if err := pgPutDiscovered(ctx, tx, &d); err != nil {
			return err
		}
		tag, err := tx.Exec(ctx, `DELETE FROM discovered WHERE mac IN
			(SELECT mac FROM discovered ORDER BY last_seen DESC, mac OFFSET $1)`, discoveredCap(max))
		if err != nil {
			return fmt.Errorf("evict discovered machines: %w", err)
		}
		evicted = int(tag.RowsAffected())
		return nil
	})
	return evicted, err
}

func pgDiscovered(ctx context.Context, q pgQuerier, mac, lock string) (*Discovered, error) {
	var doc string
	err := q.QueryRow(ctx, `SELECT doc FROM discovered WHERE mac = $1`+lock, mac).Scan(&doc)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, discoveredNotFound(mac)
	}
	if err != nil {
		return nil, fmt.Errorf("read discovered machine %s: %w", mac, err)
	}
	return decodeDiscovered(doc)
}

func pgPutDiscovered(ctx context.Context, tx pgx.Tx, d *Discovered) error {
	doc, err := encodeDiscovered(d)
	if err != nil {
		return err
	}
	if _, err := tx.Exec(ctx, `INSERT INTO discovered(mac, last_seen, doc) VALUES ($1,$2,$3)
		ON CONFLICT(mac) DO UPDATE SET last_seen=excluded.last_seen, doc=excluded.doc`,
		d.MAC, d.LastSeen.UnixNano(), doc); err != nil {
		return fmt.Errorf("save discovered machine %s: %w", d.MAC, err)
	}
	return nil
}

// GetDiscovered returns the discovered machine with that MAC.
func (s *Postgres) GetDiscovered(ctx context.Context, mac string) (*Discovered, error) {
	m, err := NormalizeMAC(mac)
	if err != nil {
		return nil, err
	}
	return pgDiscovered(ctx, s.pool, m, "")
}

// ListDiscovered returns the discovered machines, the most recently seen first.
func (s *Postgres) ListDiscovered(ctx context.Context) ([]Discovered, error) {
	rows, err := s.pool.Query(ctx, `SELECT doc FROM discovered ORDER BY last_seen DESC, mac`)
	if err != nil {
		return nil, fmt.Errorf("list discovered machines: %w", err)
	}
	defer rows.Close()
	return scanDiscovered(rows)
}

// UpdateDiscovered runs fn on the stored machine in one transaction.
func (s *Postgres) UpdateDiscovered(ctx context.Context, mac string, fn func(*Discovered) error) (*Discovered, error) {
	m, err := NormalizeMAC(mac)
	if err != nil {
		return nil, err
	}
	var out *Discovered
	err = s.tx(ctx, func(tx pgx.Tx) error {
		d, err := pgDiscovered(ctx, tx, m, " FOR UPDATE")
		if err != nil {
			return err
		}
		if err := fn(d); err != nil {
			return err
		}
		d.MAC = m
		out = d
		return pgPutDiscovered(ctx, tx, d)
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// DeleteDiscovered forgets a discovered machine.
func (s *Postgres) DeleteDiscovered(ctx context.Context, mac string) error {
	m, err := NormalizeMAC(mac)
	if err != nil {
		return err
	}
	tag, err := s.pool.Exec(ctx, `DELETE FROM discovered WHERE mac = $1`, m)
	if err != nil {
		return fmt.Errorf("remove discovered machine %s: %w", m, err)
	}
	if tag.RowsAffected() == 0 {
		return discoveredNotFound(m)
	}
	return nil
}
