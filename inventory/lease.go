package inventory

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"
)

// LeaseState is what happened last to a DHCP lease.
type LeaseState string

// Lease states. A bound lease past its expiry is free again (but the server
// prefers to give it back to the same MAC).
const (
	LeaseBound    LeaseState = "bound"
	LeaseReleased LeaseState = "released"
	// LeaseDeclined marks an address a client found in use (DHCPDECLINE):
	// it is not handed out again before Expires.
	LeaseDeclined LeaseState = "declined"
	// LeaseOffered marks an address a server of a shared store offered to a
	// MAC: other servers do not offer or give it before Expires (a short
	// hold). Its Hostname names the offering server ("offered by 192.0.2.1").
	LeaseOffered LeaseState = "offered"
)

// Lease is one IPv4 address and who holds it. The address is the key: the
// store never holds two leases for one address.
type Lease struct {
	IP       string     `json:"ip"`
	MAC      string     `json:"mac,omitempty"`
	State    LeaseState `json:"state"`
	Expires  time.Time  `json:"expires"`
	Hostname string     `json:"hostname,omitempty"`
	Updated  time.Time  `json:"updated"`
}

// Active reports whether the lease still holds its address at now.
func (l *Lease) Active(now time.Time) bool {
	return (l.State == LeaseBound || l.State == LeaseDeclined || l.State == LeaseOffered) && now.Before(l.Expires)
}

// leaseColumns are the columns scanLease reads, in order.
const leaseColumns = `ip, mac, state, expires, hostname, updated`

// scanLease reads one row of leaseColumns.
func scanLease(scan func(dest ...any) error) (Lease, error) {
	var l Lease
	var exp, upd int64
	var st string
	if err := scan(&l.IP, &l.MAC, &st, &exp, &l.Hostname, &upd); err != nil {
		return Lease{}, err
	}
	l.State = LeaseState(st)
	l.Expires = time.Unix(0, exp).UTC()
	l.Updated = time.Unix(0, upd).UTC()
	return l, nil
}

// Leases returns every stored lease, ordered by address text.
func (s *SQLite) Leases(ctx context.Context) ([]Lease, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT `+leaseColumns+` FROM leases ORDER BY ip`)
	if err != nil {
		return nil, fmt.Errorf("read leases from %s: %w", s.path, err)
	}
	defer rows.Close()
	var out []Lease
	for rows.Next() {
		l, err := scanLease(rows.Scan)
		if err != nil {
			return nil, fmt.Errorf("read leases from %s: %w", s.path, err)
		}
		out = append(out, l)
	}
	return out, rows.Err()
}

// SaveLeases writes a batch of leases (insert or replace by address) in one
// transaction: when it returns nil every lease of the batch is on disk
// (WAL, synchronous=FULL), so a DHCPACK may be sent. Callers batch the leases
// of concurrent requests to pay one fsync for many of them.
func (s *SQLite) SaveLeases(ctx context.Context, ls []Lease) error {
	if len(ls) == 0 {
		return nil
	}
	for _, l := range ls {
		if err := ValidateIPv4("lease ip", l.IP); err != nil {
			return err
		}
	}
	tx, err := s.beginWrite(ctx)
	if err != nil {
		return fmt.Errorf("save %d leases in %s: %w", len(ls), s.path, err)
	}
	defer tx.Rollback()
	// One multi-row statement per chunk: the driver prepares each statement
	// anew, so one statement for many rows is what makes big batches cheap.
	now := time.Now()
	for _, part := range leaseChunks(ls, 500) {
		var q strings.Builder
		q.WriteString(`INSERT INTO leases(ip, mac, state, expires, hostname, updated) VALUES `)
		args := make([]any, 0, 6*len(part))
		for i, l := range part {
			if i > 0 {
				q.WriteString(",")
			}
			q.WriteString("(?,?,?,?,?,?)")
			upd := l.Updated
			if upd.IsZero() {
				upd = now
			}
			args = append(args, l.IP, l.MAC, string(l.State), l.Expires.UnixNano(), l.Hostname, upd.UnixNano())
		}
		q.WriteString(` ON CONFLICT(ip) DO UPDATE SET mac=excluded.mac, state=excluded.state, expires=excluded.expires,
		hostname=excluded.hostname, updated=excluded.updated`)
		if _, err := tx.ExecContext(ctx, q.String(), args...); err != nil {
			return fmt.Errorf("save %d leases in %s: %w", len(part), s.path, err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit leases in %s: %w", s.path, err)
	}
	return nil
}

// leaseIPSQL is LeaseIP's query.
const leaseIPSQL = `SELECT ip FROM leases WHERE mac = ? AND state = ? AND expires > ? ORDER BY expires DESC LIMIT 1`

// LeaseIP returns the address a MAC holds by an active lease, or ErrNotFound.
func (s *SQLite) LeaseIP(ctx context.Context, mac string) (string, error) {
	m, err := NormalizeMAC(mac)
	if err != nil {
		return "", err
	}
	var ip string
	err = s.leaseIP.QueryRowContext(ctx, m, string(LeaseBound), time.Now().UnixNano()).Scan(&ip)
	if err != nil {
		return "", fmt.Errorf("lease of %s: %w", m, ErrNotFound)
	}
	return ip, nil
}

// HostIDByLease returns the id of the inventory host whose MAC holds ip by an
// active lease, or ErrNotFound (no active lease, or the MAC is no host's).
// It is one indexed lookup, cheap enough for every TFTP request.
func (s *SQLite) HostIDByLease(ctx context.Context, ip string) (string, error) {
	var id string
	err := s.db.QueryRowContext(ctx, `SELECT m.host_id FROM leases l JOIN host_macs m ON m.mac = l.mac
		WHERE l.ip = ? AND l.state = ? AND l.expires > ?`, ip, string(LeaseBound), time.Now().UnixNano()).Scan(&id)
	if err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return "", fmt.Errorf("host leasing %s: %w", trunc(ip), ErrNotFound)
		}
		return "", fmt.Errorf("host leasing %s: %w", trunc(ip), err)
	}
	return id, nil
}

// leaseChunks splits a batch into statements of at most size rows in which
// each address appears once: a repeated address and every row after it go
// to the next statement, so later rows of the batch win, in order, as they
// would executed one by one.
func leaseChunks(ls []Lease, size int) [][]Lease {
	var out [][]Lease
	for len(ls) > 0 {
		var part []Lease
		seen := map[string]bool{}
		rest := ls[:0:0]
		for i, l := range ls {
			if len(part) == size || seen[l.IP] {
				rest = append(rest, ls[i:]...)
				break
			}
			seen[l.IP] = true
			part = append(part, l)
		}
		out = append(out, part)
		ls = rest
	}
	return out
}
