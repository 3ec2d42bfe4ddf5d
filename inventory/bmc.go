package inventory

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// BMC is how to reach a host's baseboard management controller. It is kept
// apart from the Host (its own table), so that host reads, the API's host
// documents and exports never carry the password.
type BMC struct {
	HostID  string `json:"host" yaml:"host"` // the host's first MAC
	Driver  string `json:"driver" yaml:"driver"`
	Address string `json:"address" yaml:"address"`
	Port    int    `json:"port,omitempty" yaml:"port,omitempty"`
	User    string `json:"user" yaml:"user"`
	// Password is the clear-text password (a BMC needs it, a hash will not
	// do); empty when PasswordFile names where it is read from instead.
	Password     string `json:"password,omitempty" yaml:"password,omitempty"`
	PasswordFile string `json:"password_file,omitempty" yaml:"password_file,omitempty"`
	// PowerState is the chassis power state last read from the BMC ("on",
	// "off", "" never read) and PowerChecked when.
	PowerState   string    `json:"power_state,omitempty" yaml:"-"`
	PowerChecked time.Time `json:"power_checked,omitzero" yaml:"-"`
}

const bmcColumns = `mac, driver, address, port, user, password, password_file, power_state, power_checked`

func scanBMC(sc interface{ Scan(...any) error }) (*BMC, error) {
	var b BMC
	var ns int64
	if err := sc.Scan(&b.HostID, &b.Driver, &b.Address, &b.Port, &b.User, &b.Password, &b.PasswordFile, &b.PowerState, &ns); err != nil {
		return nil, err
	}
	if ns != 0 {
		b.PowerChecked = time.Unix(0, ns).UTC()
	}
	return &b, nil
}

// ListBMCs returns every stored BMC, by host MAC.
func (s *SQLite) ListBMCs(ctx context.Context) ([]BMC, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT `+bmcColumns+` FROM host_bmcs ORDER BY mac`)
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
	return out, rows.Err()
}

// RecordPowerState stores the power state just read from a host's BMC.
func (s *SQLite) RecordPowerState(ctx context.Context, hostID, state string, at time.Time) error {
	if _, err := s.db.ExecContext(ctx, `UPDATE host_bmcs SET power_state = ?, power_checked = ? WHERE mac = ?`, state, at.UnixNano(), hostID); err != nil {
		return fmt.Errorf("record power state of host %s: %w", hostID, err)
	}
	return nil
}

// GetBMC returns the BMC settings of the host whose first MAC is hostID.
func (s *SQLite) GetBMC(ctx context.Context, hostID string) (*BMC, error) {
	b, err := scanBMC(s.db.QueryRowContext(ctx, `SELECT `+bmcColumns+` FROM host_bmcs WHERE mac = ?`, hostID))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("BMC of host %s: %w", hostID, ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("read BMC of host %s: %w", hostID, err)
	}
	return b, nil
}

// PutBMC stores (or replaces) a host's BMC settings. The host must be
// stored (ErrNotFound otherwise): no settings outlive their host.
func (s *SQLite) PutBMC(ctx context.Context, b BMC) error {
	return putBMCTx(ctx, s.db, b)
}

func putBMCTx(ctx context.Context, tx interface {
	ExecContext(ctx context.Context, q string, args ...any) (sql.Result, error)
}, b BMC) error {
	res, err := tx.ExecContext(ctx, `INSERT INTO host_bmcs(mac, driver, address, port, user, password, password_file)
		SELECT ?,?,?,?,?,?,? WHERE EXISTS (SELECT 1 FROM hosts WHERE id = ?)
		ON CONFLICT(mac) DO UPDATE SET driver=excluded.driver, address=excluded.address, port=excluded.port, user=excluded.user,
		password=excluded.password, password_file=excluded.password_file`,
		b.HostID, b.Driver, b.Address, b.Port, b.User, b.Password, b.PasswordFile, b.HostID)
	if err != nil {
		return fmt.Errorf("save BMC of host %s: %w", b.HostID, err)
	}
	if n, err := res.RowsAffected(); err == nil && n == 0 {
		return fmt.Errorf("save BMC of host %s: %w (add the host first)", b.HostID, ErrNotFound)
	}
	return nil
}

// DeleteBMC forgets a host's BMC settings; none stored is not an error.
func (s *SQLite) DeleteBMC(ctx context.Context, hostID string) error {
	if _, err := s.db.ExecContext(ctx, `DELETE FROM host_bmcs WHERE mac = ?`, hostID); err != nil {
		return fmt.Errorf("delete BMC of host %s: %w", hostID, err)
	}
	return nil
}
