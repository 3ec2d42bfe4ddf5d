package provision

import (
	"context"
	"fmt"
	"strings"

	"github.com/netkick/netkick/inventory"
	"github.com/netkick/netkick/kickstart/layout"
	"github.com/netkick/netkick/lvs"
)

// PutProfile checks a profile (fields, timezone, layout) and saves it.
func (s *Service) PutProfile(ctx context.Context, a Actor, p *inventory.Profile) (err error) {
	defer func() { s.audit(a, "profile put", on(p.Name), err) }()
	k, err := s.known(ctx)
	if err != nil {
		return err
	}
	if err := CheckProfile(p, k); err != nil {
		return err
	}
	return s.o.Store.PutProfile(ctx, p)
}

// PutLayout checks a layout's rules and saves it.
func (s *Service) PutLayout(ctx context.Context, a Actor, l *inventory.Layout) (err error) {
	defer func() { s.audit(a, "layout put", on(l.Name), err) }()
	if err := layout.Validate(l); err != nil {
		return &Error{Kind: inventory.ErrInvalid, Msg: err.Error(),
			Hint: "see docs/layouts.md; `netkick layout plan NAME --disk 500G` shows what a layout does"}
	}
	return s.o.Store.PutLayout(ctx, l)
}

// PutCluster checks a cluster against the hosts and the other clusters and
// saves it with its defaults made explicit; it returns what was saved.
func (s *Service) PutCluster(ctx context.Context, a Actor, c *inventory.Cluster) (_ *inventory.Cluster, err error) {
	defer func() { s.audit(a, "cluster put", on(c.Name), err) }()
	if err := inventory.ValidateName("cluster", c.Name); err != nil {
		return nil, err
	}
	hosts, err := s.o.Store.ListHosts(ctx, inventory.HostFilter{})
	if err != nil {
		return nil, err
	}
	others, err := s.o.Store.ListClusters(ctx)
	if err != nil {
		return nil, err
	}
	if err := lvs.Validate(c, hosts, others); err != nil {
		return nil, &Error{Kind: inventory.ErrInvalid, Msg: err.Error(), Hint: "see docs/lvs.md for the cluster fields and what direct routing requires"}
	}
	d := lvs.WithDefaults(*c)
	if err := s.o.Store.PutCluster(ctx, &d); err != nil {
		return nil, err
	}
	return &d, nil
}

func inUse(kind, name string, users []string, hint string) error {
	return &Error{Kind: ErrInUse, Users: users,
		Msg:  fmt.Sprintf("%s %s is used by %s; nothing was deleted", kind, name, strings.Join(users, ", ")),
		Hint: hint}
}

// DeleteProfile deletes a profile no host uses.
func (s *Service) DeleteProfile(ctx context.Context, a Actor, name string) (err error) {
	defer func() { s.audit(a, "profile remove", on(name), err) }()
	if _, err := s.o.Store.GetProfile(ctx, name); err != nil {
		return err
	}
	u, err := s.users(ctx)
	if err != nil {
		return err
	}
	if users := ProfileUsers(name, u); len(users) > 0 {
		return inUse("profile", name, users, "give those hosts another profile first (`netkick host set HOST --profile OTHER`)")
	}
	return s.o.Store.DeleteProfile(ctx, name)
}

// DeleteLayout deletes a stored layout no host or profile names.
func (s *Service) DeleteLayout(ctx context.Context, a Actor, name string) (err error) {
	defer func() { s.audit(a, "layout remove", on(name), err) }()
	if _, err := s.o.Store.GetLayout(ctx, name); err != nil {
		return err
	}
	u, err := s.users(ctx)
	if err != nil {
		return err
	}
	if _, builtin := layout.Builtin(name); !builtin {
		if users := LayoutUsers(name, u); len(users) > 0 {
			return inUse("layout", name, users, "give those hosts and profiles another layout first (`netkick host set HOST --layout OTHER`)")
		}
	}
	return s.o.Store.DeleteLayout(ctx, name)
}

// DeleteCluster deletes a cluster no host is a member of.
func (s *Service) DeleteCluster(ctx context.Context, a Actor, name string) (err error) {
	defer func() { s.audit(a, "cluster remove", on(name), err) }()
	if _, err := s.o.Store.GetCluster(ctx, name); err != nil {
		return err
	}
	u, err := s.users(ctx)
	if err != nil {
		return err
	}
	if users := ClusterUsers(name, u); len(users) > 0 {
		return inUse("cluster", name, users, "move those hosts out first (`netkick host set HOST --cluster \"\"`)")
	}
	return s.o.Store.DeleteCluster(ctx, name)
}
