package inventory

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// ClaimRule says when a LeaseClaim may replace the lease stored on its address.
type ClaimRule uint8

// Claim rules. "Active" is a bound, declined or offered lease before its expiry.
const (
	// ClaimFree writes unless another MAC actively holds the address (a
	// bind, a decline by the holder): no row, an inactive one, or one of By.
	ClaimFree ClaimRule = iota
	// ClaimOffer writes an offer unless the address is active; the offering
	// server's own offer to By (same Hostname tag) is refreshed. An address
	// By already holds otherwise (its lease, another server's offer to it)
	// counts as won without a write.
	ClaimOffer
	// ClaimOwn writes only over By's bound lease (a release).
	ClaimOwn
	// ClaimOwnOffer writes only over the offering server's own offer to By
	// (same Hostname tag): the client chose another server.
	ClaimOwnOffer
	// ClaimUndecline writes over the decline By's own DECLINE recorded
	// (Hostname "declined by <By>"), or over an inactive row: a declined
	// reservation given back to its host after a probe found it free.
	// Another client's lease or offer, or a decline by another MAC, stays.
	ClaimUndecline
)

// LeaseClaim is one conditional lease write of a server sharing the store.
type LeaseClaim struct {
	Lease Lease
	By    string // the client's MAC
	Rule  ClaimRule
}

// ClaimResult is the outcome of one LeaseClaim.
type ClaimResult struct {
	// Won is true when the claim was written (or, for ClaimOffer, By holds
	// the address already).
	Won bool
	// Held is the lease found on the address when the claim lost; nil when
	// none was read back.
	Held *Lease
}

// claimSQL is the condition of each rule on the stored row ("leases") and
// the proposed one ("excluded"); $7 is By, $5 now.
var claimSQL = [...]string{
	ClaimFree:      `NOT (leases.state IN ('bound','declined','offered') AND leases.expires > $5) OR leases.mac = $7`,
	ClaimOffer:     `NOT (leases.state IN ('bound','declined','offered') AND leases.expires > $5) OR (leases.mac = $7 AND leases.state = 'offered' AND leases.hostname = excluded.hostname)`,
	ClaimOwn:       `leases.mac = $7 AND leases.state = 'bound'`,
	ClaimOwnOffer:  `leases.mac = $7 AND leases.state = 'offered' AND leases.hostname = excluded.hostname`,
	ClaimUndecline: `(leases.state = 'declined' AND leases.hostname = 'declined by ' || $7) OR NOT (leases.state IN ('bound','declined','offered') AND leases.expires > $5)`,
}

// ClaimLeases applies claims in one transaction, one round trip, and
// commits before it returns: several servers allocating from one pool
// cannot give an address to two MACs, since each write re-checks its rule
// on the row's latest version under PostgreSQL's row lock. The rows are
// written in address order (claims on one address keep their order), so
// two servers' batches cannot deadlock on each other. Concurrent requests
// share the transaction, as the SQLite path shares its fsync: that is the
// group commit of the shared store. The error is a failed transaction; a
// claim that lost reports it in its result.
func (s *Postgres) ClaimLeases(ctx context.Context, claims []LeaseClaim) ([]ClaimResult, error) {
	if len(claims) == 0 {
		return nil, nil
	}
	for _, c := range claims {
		if err := ValidateIPv4("lease ip", c.Lease.IP); err != nil {
			return nil, err
		}
		if int(c.Rule) >= len(claimSQL) {
			return nil, fmt.Errorf("%w: claim rule %d", ErrInvalid, c.Rule)
		}
	}
	order := make([]int, len(claims))
	for i := range order {
		order[i] = i
	}
	sort.SliceStable(order, func(a, b int) bool { return claims[order[a]].Lease.IP < claims[order[b]].Lease.IP })
	var res []ClaimResult
	var err error
	for attempt := 0; attempt < 4; attempt++ {
		res, err = s.claimOnce(ctx, claims, order)
		var pe *pgconn.PgError
		if err == nil || !errors.As(err, &pe) || (pe.Code != "40P01" && pe.Code != "40001") {
			break
		}
		// A deadlock with a writer outside this path: run the batch again.
	}
	if err != nil {
		return nil, err
	}
	// Read back what holds the addresses lost, for the caller's view.
	var lost []string
	for i, r := range res {
		if !r.Won {
			lost = append(lost, claims[i].Lease.IP)
		}
	}
	if len(lost) == 0 {
		return res, nil
	}
	rows, err := s.pool.Query(ctx, `SELECT `+leaseColumns+` FROM leases WHERE ip = ANY($1)`, lost)
	if err != nil {
		return res, nil // the claims stand; the holders are only a hint
	}
	held := map[string]Lease{}
	for rows.Next() {
		if l, err := scanLease(rows.Scan); err == nil {
			held[l.IP] = l
		}
	}
	rows.Close()
	now := time.Now()
	for i := range res {
		if res[i].Won {
			continue
		}
		if h, ok := held[claims[i].Lease.IP]; ok {
			h := h
			res[i].Held = &h
			if claims[i].Rule == ClaimOffer && h.MAC == claims[i].By && h.Active(now) {
				res[i].Won = true // the client holds it already
			}
		}
	}
	return res, nil
}

// claimOnce sends the claims as one pgx batch: PostgreSQL runs a batch's
// statements in one implicit transaction committed at its end, so the
// batch costs one round trip and one commit.
func (s *Postgres) claimOnce(ctx context.Context, claims []LeaseClaim, order []int) ([]ClaimResult, error) {
	res := make([]ClaimResult, len(claims))
	now := time.Now().UnixNano()
	b := &pgx.Batch{}
	for _, i := range order {
		c := claims[i]
		l := c.Lease
		upd := l.Updated
		if upd.IsZero() {
			upd = time.Unix(0, now)
		}
		b.Queue(`INSERT INTO leases(ip, mac, state, expires, hostname, updated) VALUES ($1,$2,$3,$4,$6,$8)
			ON CONFLICT (ip) DO UPDATE SET mac = excluded.mac, state = excluded.state, expires = excluded.expires,
				hostname = excluded.hostname, updated = excluded.updated
			WHERE $5::bigint IS NOT NULL AND (`+claimSQL[c.Rule]+`) RETURNING ip`,
			l.IP, l.MAC, string(l.State), l.Expires.UnixNano(), now, l.Hostname, c.By, upd.UnixNano())
	}
	br := s.pool.SendBatch(ctx, b)
	for _, i := range order {
		var ip string
		err := br.QueryRow().Scan(&ip)
		switch {
		case err == nil:
			res[i].Won = true
		case errors.Is(err, pgx.ErrNoRows):
		default:
			br.Close()
			return nil, fmt.Errorf("store %s: claim lease %s for %s: %w", s.name, claims[i].Lease.IP, claims[i].By, err)
		}
	}
	// The implicit transaction commits when the batch ends: Close reports it.
	if err := br.Close(); err != nil {
		return nil, fmt.Errorf("store %s: commit %d lease claims: %w", s.name, len(claims), err)
	}
	return res, nil
}
