package inventory

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/jackc/pgx/v5"
)

// Batch is a set of writes that commit together or not at all (an import:
// its hosts, their timeline events, the documents they name). They are
// applied in this order, so that a name one entry gives up is free for the
// next: hosts deleted; profiles, layouts and clusters put; hosts put;
// clusters, layouts and profiles deleted; BMC settings put; events appended.
type Batch struct {
	DeleteHosts    []string // MACs or hostnames
	Profiles       []Profile
	Layouts        []Layout
	Clusters       []Cluster
	Hosts          []Host
	DeleteClusters []string
	DeleteLayouts  []string
	DeleteProfiles []string
	BMCs           []BMC
	Events         []Event // each names its host by HostID (first MAC)
}

// Empty reports whether the batch writes nothing.
func (b *Batch) Empty() bool {
	return len(b.DeleteHosts)+len(b.Profiles)+len(b.Layouts)+len(b.Clusters)+len(b.Hosts)+
		len(b.DeleteClusters)+len(b.DeleteLayouts)+len(b.DeleteProfiles)+len(b.BMCs)+len(b.Events) == 0
}

// Batches commits many writes in one transaction.
type Batches interface {
	// WriteBatch applies b in one transaction: when it returns an error,
	// nothing of b was written. An empty batch writes nothing, and leaves
	// the generation as it is.
	WriteBatch(ctx context.Context, b *Batch) error
}

// docWrite is one document of a batch, checked and encoded.
type docWrite struct{ kind, name, doc string }

// prepare checks every entry of b as the single writes do (hosts are
// normalized in place) and encodes its documents, before a transaction
// begins.
func (b *Batch) prepare() ([]docWrite, error) {
	var docs []docWrite
	add := func(kind, name string, v any) error {
		if err := ValidateName(kind, name); err != nil {
			return err
		}
		doc, err := json.Marshal(v)
		if err != nil {
			return fmt.Errorf("encode %s %q: %w", kind, name, err)
		}
		docs = append(docs, docWrite{kind, name, string(doc)})
		return nil
	}
	for i := range b.Profiles {
		if err := ValidateProfile(&b.Profiles[i]); err != nil {
			return nil, err
		}
		if err := add("profile", b.Profiles[i].Name, &b.Profiles[i]); err != nil {
			return nil, err
		}
	}
	for i := range b.Layouts {
		if err := add("layout", b.Layouts[i].Name, &b.Layouts[i]); err != nil {
			return nil, err
		}
	}
	for i := range b.Clusters {
		if err := add("cluster", b.Clusters[i].Name, &b.Clusters[i]); err != nil {
			return nil, err
		}
	}
	for i := range b.Hosts {
		if err := NormalizeHost(&b.Hosts[i]); err != nil {
			return nil, fmt.Errorf("hosts[%d] (%s): %w", i, b.Hosts[i].Hostname, err)
		}
	}
	for i, e := range b.Events {
		if e.HostID == "" || e.Kind == "" {
			return nil, fmt.Errorf("%w: events[%d]: an event needs a host and a kind", ErrInvalid, i)
		}
	}
	return docs, nil
}

// deletions lists b's document deletions in the order they are applied.
func (b *Batch) deletions() []docWrite {
	var out []docWrite
	for _, set := range []struct {
		kind  string
		names []string
	}{{"cluster", b.DeleteClusters}, {"layout", b.DeleteLayouts}, {"profile", b.DeleteProfiles}} {
		for _, n := range set.names {
			out = append(out, docWrite{kind: set.kind, name: n})
		}
	}
	return out
}

// WriteBatch applies b in one SQLite transaction (one fsync).
func (s *SQLite) WriteBatch(ctx context.Context, b *Batch) error {
	if b.Empty() {
		return nil
	}
	docs, err := b.prepare()
	if err != nil {
		return err
	}
	tx, err := s.beginWrite(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	for _, key := range b.DeleteHosts {
		if err := s.deleteHostTx(ctx, tx.Tx, key); err != nil {
			return fmt.Errorf("remove host %s: %w", trunc(key), err)
		}
	}
	for _, d := range docs {
		if err := docPutTx(ctx, tx.Tx, d.kind, d.name, d.doc); err != nil {
			return err
		}
	}
	p := s.prepared(tx.Tx)
	for i := range b.Hosts {
		if err := putHostTx(ctx, p, &b.Hosts[i]); err != nil {
			return fmt.Errorf("hosts[%d] (%s): %w", i, b.Hosts[i].Hostname, err)
		}
	}
	for _, d := range b.deletions() {
		if err := docDeleteTx(ctx, tx.Tx, d.kind, d.name); err != nil {
			return err
		}
	}
	for _, m := range b.BMCs {
		if err := putBMCTx(ctx, tx.Tx, m); err != nil {
			return err
		}
	}
	if err := s.insertEventsTx(ctx, tx.Tx, b.Events); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("inventory database %s: commit: %w", s.path, err)
	}
	return nil
}

// WriteBatch applies b in one PostgreSQL transaction.
func (s *Postgres) WriteBatch(ctx context.Context, b *Batch) error {
	if b.Empty() {
		return nil
	}
	docs, err := b.prepare()
	if err != nil {
		return err
	}
	var removed []string
	err = s.tx(ctx, func(tx pgx.Tx) error {
		if err := pgBump(ctx, tx); err != nil {
			return err
		}
		for _, key := range b.DeleteHosts {
			id, err := s.deleteHostTx(ctx, tx, key)
			if err != nil {
				return fmt.Errorf("remove host %s: %w", trunc(key), err)
			}
			removed = append(removed, id)
		}
		for _, d := range docs {
			if err := pgDocPutTx(ctx, tx, d.kind, d.name, d.doc); err != nil {
				return err
			}
		}
		for i := range b.Hosts {
			if err := pgPutHostTx(ctx, tx, &b.Hosts[i]); err != nil {
				return fmt.Errorf("hosts[%d] (%s): %w", i, b.Hosts[i].Hostname, err)
			}
		}
		for _, d := range b.deletions() {
			if err := pgDocDeleteTx(ctx, tx, d.kind, d.name); err != nil {
				return err
			}
		}
		for _, m := range b.BMCs {
			if err := pgPutBMCTx(ctx, tx, m); err != nil {
				return err
			}
		}
		return s.insertEventsTx(ctx, tx, b.Events)
	})
	if err != nil {
		return err
	}
	for _, id := range removed {
		s.cache.forgetHost(id)
	}
	return nil
}
