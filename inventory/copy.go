package inventory

import (
	"context"
	"fmt"
	"time"
)

// Counts are how many of each thing a store holds (CopyStore compares them).
type Counts struct {
	Hosts, Profiles, Layouts, Clusters, Leases, Events, Tokens, BMCs int
}

func (c Counts) String() string {
	return fmt.Sprintf("%d hosts, %d profiles, %d layouts, %d clusters, %d leases, %d events, %d API tokens, %d BMC settings",
		c.Hosts, c.Profiles, c.Layouts, c.Clusters, c.Leases, c.Events, c.Tokens, c.BMCs)
}

// bmcKeeper is a store that keeps hosts' BMC settings (both stores do).
type bmcKeeper interface {
	GetBMC(ctx context.Context, hostID string) (*BMC, error)
	PutBMC(ctx context.Context, b BMC) error
	ListBMCs(ctx context.Context) ([]BMC, error)
	RecordPowerState(ctx context.Context, hostID, state string, at time.Time) error
}

var (
	_ bmcKeeper = (*SQLite)(nil)
	_ bmcKeeper = (*Postgres)(nil)
)

// CountStore counts what s holds (events: the timelines of its hosts).
func CountStore(ctx context.Context, s Store) (Counts, error) {
	var c Counts
	hosts, err := s.ListHosts(ctx, HostFilter{})
	if err != nil {
		return c, err
	}
	c.Hosts = len(hosts)
	for _, h := range hosts {
		ev, err := s.Events(ctx, h.ID(), 0)
		if err != nil {
			return c, err
		}
		c.Events += len(ev)
	}
	ps, err := s.ListProfiles(ctx)
	if err != nil {
		return c, err
	}
	ls, err := s.ListLayouts(ctx)
	if err != nil {
		return c, err
	}
	cs, err := s.ListClusters(ctx)
	if err != nil {
		return c, err
	}
	leases, err := s.Leases(ctx)
	if err != nil {
		return c, err
	}
	toks, err := s.ListTokens(ctx)
	if err != nil {
		return c, err
	}
	c.Profiles, c.Layouts, c.Clusters, c.Leases, c.Tokens = len(ps), len(ls), len(cs), len(leases), len(toks)
	if bs, ok := s.(bmcKeeper); ok {
		l, err := bs.ListBMCs(ctx)
		if err != nil {
			return c, err
		}
		c.BMCs = len(l)
	}
	return c, nil
}

// CopyStore copies everything from one store into another that holds no
// hosts, profiles, leases or tokens yet: the inventory (build tokens
// included), the hosts' timelines with their times, the leases, the
// API tokens (hashes) and the hosts' BMC settings (passwords and the power
// state last read included). It then counts both stores and returns an error
// naming the difference if they disagree.
func CopyStore(ctx context.Context, from, to Store) (Counts, error) {
	dst, err := CountStore(ctx, to)
	if err != nil {
		return Counts{}, fmt.Errorf("count the target store: %w", err)
	}
	if dst != (Counts{}) {
		return Counts{}, fmt.Errorf("%w: the target store is not empty (%s); migrate into a new, empty database", ErrConflict, dst)
	}
	src, err := CountStore(ctx, from)
	if err != nil {
		return Counts{}, fmt.Errorf("count the source store: %w", err)
	}
	d, err := Export(ctx, from)
	if err != nil {
		return Counts{}, fmt.Errorf("read the source inventory: %w", err)
	}
	if err := Import(ctx, to, d); err != nil {
		return Counts{}, fmt.Errorf("write the inventory: %w", err)
	}
	for _, h := range d.Hosts {
		ev, err := from.Events(ctx, h.ID(), 0)
		if err != nil {
			return Counts{}, fmt.Errorf("read the timeline of %s: %w", h.Hostname, err)
		}
		for _, e := range ev {
			e.ID = 0
			if err := to.AddEvent(ctx, e); err != nil {
				return Counts{}, fmt.Errorf("write the timeline of %s: %w", h.Hostname, err)
			}
		}
	}
	leases, err := from.Leases(ctx)
	if err != nil {
		return Counts{}, fmt.Errorf("read the leases: %w", err)
	}
	if err := to.SaveLeases(ctx, leases); err != nil {
		return Counts{}, fmt.Errorf("write the leases: %w", err)
	}
	toks, err := from.ListTokens(ctx)
	if err != nil {
		return Counts{}, fmt.Errorf("read the API tokens: %w", err)
	}
	for _, t := range toks {
		if err := to.AddToken(ctx, t); err != nil {
			return Counts{}, fmt.Errorf("write API token %s: %w", t.Name, err)
		}
	}
	if err := copyBMCs(ctx, from, to); err != nil {
		return Counts{}, err
	}
	got, err := CountStore(ctx, to)
	if err != nil {
		return Counts{}, fmt.Errorf("count the target store: %w", err)
	}
	if got != src {
		return got, fmt.Errorf("copy verification failed: the source holds %s, the target %s", src, got)
	}
	return got, nil
}

// copyBMCs copies every host's BMC settings, with the power state last read.
func copyBMCs(ctx context.Context, from, to Store) error {
	src, ok := from.(bmcKeeper)
	if !ok {
		return nil
	}
	l, err := src.ListBMCs(ctx)
	if err != nil {
		return fmt.Errorf("read the BMC settings: %w", err)
	}
	if len(l) == 0 {
		return nil
	}
	dst, ok := to.(bmcKeeper)
	if !ok {
		return fmt.Errorf("%w: the target store keeps no BMC settings, and the source holds %d", ErrInvalid, len(l))
	}
	for _, b := range l {
		if err := dst.PutBMC(ctx, b); err != nil {
			return fmt.Errorf("write the BMC settings of host %s: %w", b.HostID, err)
		}
		if b.PowerChecked.IsZero() {
			continue // never read
		}
		if err := dst.RecordPowerState(ctx, b.HostID, b.PowerState, b.PowerChecked); err != nil {
			return fmt.Errorf("write the power state of host %s: %w", b.HostID, err)
		}
	}
	return nil
}
