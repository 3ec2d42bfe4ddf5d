package inventory

import (
	"context"
	"encoding/json"
	"fmt"
)

// docBackend stores documents (profiles, layouts, clusters) as JSON text
// keyed by kind and name; each store implements it on its own database.
type docBackend interface {
	docGet(ctx context.Context, kind, name string) (string, error) // ErrNotFound when missing
	docList(ctx context.Context, kind string) ([]string, error)    // sorted by name
	docPut(ctx context.Context, kind, name, doc string) error
	docDelete(ctx context.Context, kind, name string) error
	Generation(ctx context.Context) (int64, error)
}

// documents implements Documents and Clusters on a docBackend, validating
// writes and caching profiles per generation.
type documents struct {
	b     docBackend
	cache *readCache
}

func getDoc[T any](ctx context.Context, b docBackend, kind, name string) (*T, error) {
	doc, err := b.docGet(ctx, kind, name)
	if err != nil {
		return nil, err
	}
	v := new(T)
	if err := json.Unmarshal([]byte(doc), v); err != nil {
		return nil, fmt.Errorf("decode stored %s %q: %w", kind, trunc(name), err)
	}
	return v, nil
}

func listDocs[T any](ctx context.Context, b docBackend, kind string) ([]T, error) {
	docs, err := b.docList(ctx, kind)
	if err != nil {
		return nil, err
	}
	var out []T
	for _, doc := range docs {
		var v T
		if err := json.Unmarshal([]byte(doc), &v); err != nil {
			return nil, fmt.Errorf("decode stored %s: %w", kind, err)
		}
		out = append(out, v)
	}
	return out, nil
}

func putDoc(ctx context.Context, b docBackend, kind, name string, v any) error {
	doc, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return b.docPut(ctx, kind, name, string(doc))
}

// GetProfile returns a profile by name; while the store cannot read its
// generation, the profile as read last (see Postgres.GetHost).
func (d documents) GetProfile(ctx context.Context, name string) (*Profile, error) {
	gen, err := d.b.Generation(ctx)
	if err != nil {
		if p, ok := d.cache.staleProfile(name); ok {
			cp := *p
			return &cp, nil
		}
		return nil, err
	}
	if p, ok := d.cache.getProfile(gen, name); ok {
		cp := *p
		return &cp, nil
	}
	p, err := getDoc[Profile](ctx, d.b, "profile", name)
	if err != nil {
		return nil, err
	}
	d.cache.putProfile(gen, name, p)
	cp := *p
	return &cp, nil
}

// ListProfiles returns all profiles sorted by name.
func (d documents) ListProfiles(ctx context.Context) ([]Profile, error) {
	return listDocs[Profile](ctx, d.b, "profile")
}

// PutProfile validates and saves a profile.
func (d documents) PutProfile(ctx context.Context, p *Profile) error {
	if err := ValidateProfile(p); err != nil {
		return err
	}
	return putDoc(ctx, d.b, "profile", p.Name, p)
}

// DeleteProfile removes a profile.
func (d documents) DeleteProfile(ctx context.Context, name string) error {
	return d.b.docDelete(ctx, "profile", name)
}

// GetLayout returns a layout by name.
func (d documents) GetLayout(ctx context.Context, name string) (*Layout, error) {
	return getDoc[Layout](ctx, d.b, "layout", name)
}

// ListLayouts returns all stored layouts sorted by name.
func (d documents) ListLayouts(ctx context.Context) ([]Layout, error) {
	return listDocs[Layout](ctx, d.b, "layout")
}

// PutLayout saves a layout (its rules are validated by the caller, see kickstart/layout).
func (d documents) PutLayout(ctx context.Context, l *Layout) error {
	if err := ValidateName("layout", l.Name); err != nil {
		return err
	}
	return putDoc(ctx, d.b, "layout", l.Name, l)
}

// DeleteLayout removes a layout.
func (d documents) DeleteLayout(ctx context.Context, name string) error {
	return d.b.docDelete(ctx, "layout", name)
}

// GetCluster returns a cluster by name.
func (d documents) GetCluster(ctx context.Context, name string) (*Cluster, error) {
	return getDoc[Cluster](ctx, d.b, "cluster", name)
}

// ListClusters returns all clusters sorted by name.
func (d documents) ListClusters(ctx context.Context) ([]Cluster, error) {
	return listDocs[Cluster](ctx, d.b, "cluster")
}

// PutCluster saves a cluster (its services are validated by the caller, see lvs).
func (d documents) PutCluster(ctx context.Context, c *Cluster) error {
	if err := ValidateName("cluster", c.Name); err != nil {
		return err
	}
	return putDoc(ctx, d.b, "cluster", c.Name, c)
}

// DeleteCluster removes a cluster.
func (d documents) DeleteCluster(ctx context.Context, name string) error {
	return d.b.docDelete(ctx, "cluster", name)
}
