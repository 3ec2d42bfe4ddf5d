package inventory

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// The BMC settings on the shared store: the same table, semantics, errors
// and order as SQLite's (bmc.go), so power control and reinstall work from
// any server on the database.

const pgBMCColumns = `mac, driver, address, port, "user", password, password_file, power_state, power_checked`

// ListBMCs returns every stored BMC, by host MAC (byte order, as SQLite).
func (s *Postgres) ListBMCs(ctx context.Context) ([]BMC, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+pgBMCColumns+` FROM host_bmcs ORDER BY mac COLLATE "C"`)
	if err != nil {
		return nil, fmt.Errorf("list BMCs: %w", err)
	}
	defer rows.Close()
	var out []BMC
	for rows.Next() {
		b, err := scanBMC(rows)
		if err != nil {
			return nil, fmt.Errorf("list BMCs: %w", err)
		}
		out = append(out, *b)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list BMCs: %w", err)
	}
	return out, nil
}

// RecordPowerState stores the power state just read from a host's BMC.
func (s *Postgres) RecordPowerState(ctx context.Context, hostID, state string, at time.Time) error {
	if _, err := s.pool.Exec(ctx, `UPDATE host_bmcs SET power_state = $1, power_checked = $2 WHERE mac = $3`, state, at.UnixNano(), hostID); err != nil {
		return fmt.Errorf("record power state of host %s: %w", hostID, err)
	}
	return nil
}

// GetBMC returns the BMC settings of the host whose first MAC is hostID.
func (s *Postgres) GetBMC(ctx context.Context, hostID string) (*BMC, error) {
	b, err := scanBMC(s.pool.QueryRow(ctx, `SELECT `+pgBMCColumns+` FROM host_bmcs WHERE mac = $1`, hostID))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, fmt.Errorf("BMC of host %s: %w", hostID, ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("read BMC of host %s: %w", hostID, err)
	}
	return b, nil
}

// PutBMC stores (or replaces) a host's BMC settings. The host must be
// stored: its row is locked while the settings are written, so a removal
// on another server either waits and removes them too or went first and
// the write fails with ErrNotFound (no settings outlive their host).
func (s *Postgres) PutBMC(ctx context.Context, b BMC) error {
	return s.tx(ctx, func(tx pgx.Tx) error { return pgPutBMCTx(ctx, tx, b) })
}

func pgPutBMCTx(ctx context.Context, tx pgx.Tx, b BMC) error {
	var one int
	err := tx.QueryRow(ctx, `SELECT 1 FROM hosts WHERE id = $1 FOR SHARE`, b.HostID).Scan(&one)
	if errors.Is(err, pgx.ErrNoRows) {
		return fmt.Errorf("save BMC of host %s: %w (add the host first)", b.HostID, ErrNotFound)
	}
	if err != nil {
		return fmt.Errorf("save BMC of host %s: %w", b.HostID, err)
	}
	if _, err := tx.Exec(ctx, `INSERT INTO host_bmcs(mac, driver, address, port, "user", password, password_file) VALUES ($1,$2,$3,$4,$5,$6,$7)
		ON CONFLICT(mac) DO UPDATE SET driver=excluded.driver, address=excluded.address, port=excluded.port, "user"=excluded."user",
		password=excluded.password, password_file=excluded.password_file`,
		b.HostID, b.Driver, b.Address, b.Port, b.User, b.Password, b.PasswordFile); err != nil {
		return fmt.Errorf("save BMC of host %s: %w", b.HostID, err)
	}
	return nil
}

// DeleteBMC forgets a host's BMC settings; none stored is not an error.
func (s *Postgres) DeleteBMC(ctx context.Context, hostID string) error {
	if _, err := s.pool.Exec(ctx, `DELETE FROM host_bmcs WHERE mac = $1`, hostID); err != nil {
		return fmt.Errorf("delete BMC of host %s: %w", hostID, err)
	}
	return nil
}
