package inventory

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
)

// Leases returns every stored lease, ordered by address text.
func (s *Postgres) Leases(ctx context.Context) ([]Lease, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+leaseColumns+` FROM leases ORDER BY ip`)
	if err != nil {
		return nil, fmt.Errorf("read leases from %s: %w", s.name, err)
	}
	defer rows.Close()
	var out []Lease
	for rows.Next() {
		l, err := scanLease(rows.Scan)
		if err != nil {
			return nil, fmt.Errorf("read leases from %s: %w", s.name, err)
		}
		out = append(out, l)
	}
	return out, rows.Err()
}

// SaveLeases writes a batch of leases (insert or replace by address) in one
// transaction, committed when it returns nil.
func (s *Postgres) SaveLeases(ctx context.Context, ls []Lease) error {
	if len(ls) == 0 {
		return nil
	}
	for _, l := range ls {
		if err := ValidateIPv4("lease ip", l.IP); err != nil {
			return err
		}
	}
	now := time.Now()
	return s.tx(ctx, func(tx pgx.Tx) error {
		for _, part := range leaseChunks(ls, 500) {
			var q strings.Builder
			q.WriteString(`INSERT INTO leases(ip, mac, state, expires, hostname, updated) VALUES `)
			args := make([]any, 0, 6*len(part))
			for i, l := range part {
				if i > 0 {
					q.WriteString(",")
				}
				n := 6 * i
				fmt.Fprintf(&q, "($%d,$%d,$%d,$%d,$%d,$%d)", n+1, n+2, n+3, n+4, n+5, n+6)
				upd := l.Updated
				if upd.IsZero() {
					upd = now
				}
				args = append(args, l.IP, l.MAC, string(l.State), l.Expires.UnixNano(), l.Hostname, upd.UnixNano())
			}
			q.WriteString(` ON CONFLICT(ip) DO UPDATE SET mac=excluded.mac, state=excluded.state, expires=excluded.expires,
			hostname=excluded.hostname, updated=excluded.updated`)
			if _, err := tx.Exec(ctx, q.String(), args...); err != nil {
				return fmt.Errorf("save %d leases in %s: %w", len(part), s.name, err)
			}
		}
		return nil
	})
}

// LeaseIP returns the address a MAC holds by an active lease, or ErrNotFound.
// While the database does not answer, an address read before is returned
// until the expiry it was read with; any other MAC gets the database's error.
func (s *Postgres) LeaseIP(ctx context.Context, mac string) (string, error) {
	m, err := NormalizeMAC(mac)
	if err != nil {
		return "", err
	}
	var ip string
	var exp int64
	now := time.Now()
	err = s.pool.QueryRow(ctx, `SELECT ip, expires FROM leases WHERE mac = $1 AND state = $2 AND expires > $3 ORDER BY expires DESC LIMIT 1`,
		m, string(LeaseBound), now.UnixNano()).Scan(&ip, &exp)
	if errors.Is(err, pgx.ErrNoRows) {
		s.leaseCache.drop(true, m)
		return "", fmt.Errorf("lease of %s: %w", m, ErrNotFound)
	}
	if err != nil {
		if ip, ok := s.leaseCache.stale(true, m, now); ok {
			return ip, nil
		}
		return "", fmt.Errorf("lease of %s: %w", m, err)
	}
	s.leaseCache.put(true, m, leaseMemo{value: ip, expires: exp})
	return ip, nil
}

// HostIDByLease returns the id of the host whose MAC holds ip by an active
// lease. While the database does not answer, a holder read before is
// returned until the expiry it was read with (GRUB configs by address and
// TFTP timelines of known machines keep working); any other address gets
// the database's error, never ErrNotFound.
func (s *Postgres) HostIDByLease(ctx context.Context, ip string) (string, error) {
	var id string
	var exp int64
	now := time.Now()
	err := s.pool.QueryRow(ctx, `SELECT m.host_id, l.expires FROM leases l JOIN host_macs m ON m.mac = l.mac
		WHERE l.ip = $1 AND l.state = $2 AND l.expires > $3`, ip, string(LeaseBound), now.UnixNano()).Scan(&id, &exp)
	if errors.Is(err, pgx.ErrNoRows) {
		s.leaseCache.drop(false, ip)
		return "", fmt.Errorf("host leasing %s: %w", trunc(ip), ErrNotFound)
	}
	if err != nil {
		if id, ok := s.leaseCache.stale(false, ip, now); ok {
			return id, nil
		}
		return "", fmt.Errorf("host leasing %s: %w", trunc(ip), err)
	}
	s.leaseCache.put(false, ip, leaseMemo{value: id, expires: exp})
	return id, nil
}

// AllocRequest asks for an address for one MAC from a pool.
type AllocRequest struct {
	MAC      string
	Hostname string
	// First and Last bound the pool (inclusive, IPv4).
	First, Last netip.Addr
	// TTL is the lease time from Now.
	TTL time.Duration
	Now time.Time
}

// ErrPoolExhausted says every address of a pool is held by an active lease.
var ErrPoolExhausted = errors.New("pool exhausted")

// AllocateLease gives req.MAC an address of the pool that no other MAC holds,
// safely against any number of servers allocating from the same pool at
// once. The MAC's own active lease in the pool is renewed if it has one.
// Otherwise a free address (no lease row, or a lease that expired or was
// released: reclaimed here) is claimed by one INSERT … ON CONFLICT DO UPDATE
// … WHERE the stored lease is not active: the row lock PostgreSQL takes on
// the conflicting row means at most one of two racing servers wins it; the
// loser sees no row returned and tries the next candidate. When it returns,
// the lease is committed.
func (s *Postgres) AllocateLease(ctx context.Context, req AllocRequest) (Lease, error) {
	mac, err := NormalizeMAC(req.MAC)
	if err != nil {
		return Lease{}, err
	}
	if !req.First.Is4() || !req.Last.Is4() || req.Last.Less(req.First) {
		return Lease{}, fmt.Errorf("%w: pool %s-%s: want two IPv4 addresses, first <= last", ErrInvalid, req.First, req.Last)
	}
	if req.Now.IsZero() {
		req.Now = time.Now()
	}
	now := req.Now.UnixNano()
	l := Lease{MAC: mac, State: LeaseBound, Expires: req.Now.Add(req.TTL).UTC(), Hostname: req.Hostname, Updated: req.Now.UTC()}
	first, last := ip4Int(req.First), ip4Int(req.Last)
	// Renew: the MAC's active lease inside the pool.
	var ip string
	err = s.pool.QueryRow(ctx, `UPDATE leases SET expires = $1, hostname = $2, updated = $3
		WHERE ip = (SELECT ip FROM leases WHERE mac = $4 AND state = 'bound' AND expires > $3
			AND `+ipIntSQL+` BETWEEN $5 AND $6 ORDER BY expires DESC LIMIT 1)
		AND mac = $4 AND state = 'bound' AND expires > $3 RETURNING ip`,
		l.Expires.UnixNano(), l.Hostname, now, mac, first, last).Scan(&ip)
	if err == nil {
		l.IP = ip
		return l, nil
	}
	if !errors.Is(err, pgx.ErrNoRows) {
		return Lease{}, fmt.Errorf("renew lease of %s in %s: %w", mac, s.name, err)
	}
	for attempt := 0; attempt < 64; attempt++ {
		// Candidates from a random point of the pool, so that servers racing
		// for a pool mostly try different addresses.
		start := first + rand.Int64N(last-first+1)
		rows, err := s.pool.Query(ctx, `SELECT n FROM (
			SELECT n FROM generate_series($1::bigint, $2::bigint) AS n
			UNION ALL SELECT n FROM generate_series($3::bigint, $1::bigint - 1) AS n) AS c
			WHERE NOT EXISTS (SELECT 1 FROM leases WHERE ip = `+intIPSQL("c.n")+`
				AND state IN ('bound','declined','offered') AND expires > $4)
			LIMIT 8`, start, last, first, now)
		if err != nil {
			return Lease{}, fmt.Errorf("find a free address for %s in %s: %w", mac, s.name, err)
		}
		cands, err := pgx.CollectRows(rows, pgx.RowTo[int64])
		if err != nil {
			return Lease{}, fmt.Errorf("find a free address for %s in %s: %w", mac, s.name, err)
		}
		if len(cands) == 0 {
			return Lease{}, fmt.Errorf("%w: every address of %s-%s is leased; widen the pool or shorten the lease time", ErrPoolExhausted, req.First, req.Last)
		}
		for _, n := range cands {
			cand := intIP4(n).String()
			err := s.pool.QueryRow(ctx, `INSERT INTO leases(ip, mac, state, expires, hostname, updated)
				VALUES ($1,$2,'bound',$3,$4,$5)
				ON CONFLICT (ip) DO UPDATE SET mac = excluded.mac, state = excluded.state,
					expires = excluded.expires, hostname = excluded.hostname, updated = excluded.updated
				WHERE NOT (leases.state IN ('bound','declined','offered') AND leases.expires > $5)
				RETURNING ip`, cand, mac, l.Expires.UnixNano(), l.Hostname, now).Scan(&ip)
			if err == nil {
				l.IP = ip
				return l, nil
			}
			if !errors.Is(err, pgx.ErrNoRows) {
				return Lease{}, fmt.Errorf("claim %s for %s in %s: %w", cand, mac, s.name, err)
			}
			// Another server took it first: try the next.
		}
	}
	return Lease{}, fmt.Errorf("%w: no address of %s-%s could be claimed for %s after 64 rounds; the pool is nearly full", ErrPoolExhausted, req.First, req.Last, mac)
}

// ipIntSQL is the leases.ip column as a 32-bit number, intIPSQL the reverse.
const ipIntSQL = `((split_part(ip,'.',1)::bigint << 24) + (split_part(ip,'.',2)::bigint << 16) + (split_part(ip,'.',3)::bigint << 8) + split_part(ip,'.',4)::bigint)`

func intIPSQL(col string) string {
	return `((` + col + ` >> 24) || '.' || ((` + col + ` >> 16) & 255) || '.' || ((` + col + ` >> 8) & 255) || '.' || (` + col + ` & 255))`
}

func ip4Int(a netip.Addr) int64 {
	b := a.As4()
	return int64(b[0])<<24 | int64(b[1])<<16 | int64(b[2])<<8 | int64(b[3])
}

func intIP4(n int64) netip.Addr {
	return netip.AddrFrom4([4]byte{byte(n >> 24), byte(n >> 16), byte(n >> 8), byte(n)})
}
