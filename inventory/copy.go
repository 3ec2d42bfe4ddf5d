package inventory

import (
	"context"
	"fmt"
)

// Counts are how many of each thing a store holds (CopyStore compares them).
type Counts struct {
	Hosts, Profiles, Layouts, Clusters, Leases, Events, Tokens int
}

func (c Counts) String() string {
	return fmt.Sprintf("%d hosts, %d profiles, %d layouts, %d clusters, %d leases, %d events, %d API tokens",
		c.Hosts, c.Profiles, c.Layouts, c.Clusters, c.Leases, c.Events, c.Tokens)
}

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
	return c, nil
}

// CopyStore copies everything from one store into another that holds no
// hosts, profiles, leases or tokens yet: the inventory (build tokens
// included), the hosts' timelines with their times, the leases and the
// API tokens (hashes). It then counts both stores and returns an error
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
	got, err := CountStore(ctx, to)
	if err != nil {
		return Counts{}, fmt.Errorf("count the target store: %w", err)
	}
	if got != src {
		return got, fmt.Errorf("copy verification failed: the source holds %s, the target %s", src, got)
	}
	return got, nil
}
