package inventory

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"
)

// APIToken is a named API token: the name appears on timelines and in logs
// as who made a change; only the SHA-256 hash of the secret is stored.
type APIToken struct {
	Name    string    `json:"name" yaml:"name"`
	Hash    string    `json:"-" yaml:"-"`
	Created time.Time `json:"created" yaml:"created"`
}

// scanToken reads one row of name, hash, created.
func scanToken(scan func(dest ...any) error) (*APIToken, error) {
	var t APIToken
	var ns int64
	if err := scan(&t.Name, &t.Hash, &ns); err != nil {
		return nil, err
	}
	t.Created = time.Unix(0, ns).UTC()
	return &t, nil
}

// AddToken stores a new named token; a name already used is a conflict.
func (s *SQLite) AddToken(ctx context.Context, t APIToken) error {
	if err := ValidateName("token", t.Name); err != nil {
		return err
	}
	if t.Created.IsZero() {
		t.Created = time.Now()
	}
	_, err := s.db.ExecContext(ctx, `INSERT INTO api_tokens(name, hash, created) VALUES (?,?,?)`, t.Name, t.Hash, t.Created.UnixNano())
	if err != nil && strings.Contains(err.Error(), "UNIQUE") {
		return fmt.Errorf("%w: token %s already exists; revoke it first or choose another name", ErrConflict, t.Name)
	}
	if err != nil {
		return fmt.Errorf("save token %s: %w", t.Name, err)
	}
	return nil
}

// ListTokens returns the named tokens sorted by name (hashes included, for the caller to drop).
func (s *SQLite) ListTokens(ctx context.Context) ([]APIToken, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT name, hash, created FROM api_tokens ORDER BY name`)
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
func (s *SQLite) DeleteToken(ctx context.Context, name string) error {
	res, err := s.db.ExecContext(ctx, `DELETE FROM api_tokens WHERE name = ?`, name)
	if err != nil {
		return fmt.Errorf("revoke token %s: %w", name, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("token %q: %w (list tokens with `netkick token list`)", trunc(name), ErrNotFound)
	}
	return nil
}

// TokenByHash finds the token whose secret hashes to hash.
func (s *SQLite) TokenByHash(ctx context.Context, hash string) (*APIToken, error) {
	var t APIToken
	var ns int64
	err := s.db.QueryRowContext(ctx, `SELECT name, hash, created FROM api_tokens WHERE hash = ?`, hash).Scan(&t.Name, &t.Hash, &ns)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("token: %w", ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("look up token: %w", err)
	}
	t.Created = time.Unix(0, ns).UTC()
	return &t, nil
}
