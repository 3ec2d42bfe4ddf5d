package provision

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/netkick/netkick/inventory"
)

// known reads the names a host or profile may refer to.
func (s *Service) known(ctx context.Context) (Known, error) {
	ps, err := s.o.Store.ListProfiles(ctx)
	if err != nil {
		return Known{}, err
	}
	ls, err := s.o.Store.ListLayouts(ctx)
	if err != nil {
		return Known{}, err
	}
	cs, err := s.o.Store.ListClusters(ctx)
	if err != nil {
		return Known{}, err
	}
	return NewKnown(ps, ls, cs), nil
}

func (s *Service) users(ctx context.Context) (Users, error) {
	var u Users
	var err error
	if u.Hosts, err = s.o.Store.ListHosts(ctx, inventory.HostFilter{}); err != nil {
		return u, err
	}
	if u.Profiles, err = s.o.Store.ListProfiles(ctx); err != nil {
		return u, err
	}
	if u.Clusters, err = s.o.Store.ListClusters(ctx); err != nil {
		return u, err
	}
	return u, nil
}

// AddOptions qualify Add.
type AddOptions struct {
	// Replace means it: the host holding the first MAC is replaced whole
	// (its roles, labels, state and build token are gone).
	Replace bool
}

// Add registers a new host. A MAC or hostname another host holds is refused
// with a hint (`host set` edits, --replace replaces). New hosts are ready.
func (s *Service) Add(ctx context.Context, a Actor, h inventory.Host, o AddOptions) (*inventory.Host, error) {
	return s.addLogged(ctx, a, h, o, "added", "added by "+a.String())
}

// addLogged is Add whose new host's timeline starts with the event kind,
// detail (committed with the host).
func (s *Service) addLogged(ctx context.Context, a Actor, h inventory.Host, o AddOptions, kind, detail string) (out *inventory.Host, err error) {
	defer func() { s.audit(a, "host add", onHost(out, h.Hostname), err) }()
	h = *cloneHost(&h)
	if h.State != "" && h.State != inventory.StateReady {
		return nil, fail(inventory.ErrInvalid, "state moves only through `netkick host build` and the install report",
			"a new host is ready; state %q cannot be given", h.State)
	}
	h.State = inventory.StateReady
	h.BuildToken, h.TokenExpires = "", time.Time{}
	k, err := s.known(ctx)
	if err != nil {
		return nil, err
	}
	if err := CheckHost(&h, k); err != nil {
		return nil, err
	}
	holders, err := s.holders(ctx, &h)
	if err != nil {
		return nil, err
	}
	var old *inventory.Host
	for _, x := range holders {
		what := "MAC " + h.ID()
		if x.ID() != h.ID() {
			what = sharedWhat(&h, &x)
		}
		if !o.Replace || x.ID() != h.ID() {
			hint := "change it with `netkick host set " + x.Hostname + " --…` (PATCH /api/v1/hosts/" + x.ID() + "), or add with --replace to replace it whole"
			if x.ID() != h.ID() {
				hint = "change or remove host " + x.Hostname + " first (`netkick host set " + x.Hostname + "`, `netkick host rm " + x.Hostname + "`)"
			}
			return nil, &Error{Kind: inventory.ErrConflict, Msg: fmt.Sprintf("host %s (%s) already exists with %s; nothing was changed", x.Hostname, x.ID(), what), Hint: hint}
		}
		old = &x
	}
	if old != nil {
		if err := s.renameAllowed(ctx, old, &h); err != nil {
			return nil, err
		}
		h.FirstSeen, h.LastSeen, h.Arch = old.FirstSeen, old.LastSeen, old.Arch
	}
	if old != nil {
		kind, detail = "replaced", "replaced whole by "+a.String()+": "+joinOr(Diff(old, &h), "no field changed")
	}
	if err := s.putLogged(ctx, &h, kind, detail); err != nil {
		return nil, err
	}
	return &h, nil
}

// sharedWhat says what a new host shares with an existing one.
func sharedWhat(h, x *inventory.Host) string {
	for _, m := range h.MACs {
		for _, y := range x.MACs {
			if m == y {
				return "MAC " + m
			}
		}
	}
	return "hostname " + x.Hostname
}

// holders returns the stored hosts holding any of h's MACs or its hostname.
func (s *Service) holders(ctx context.Context, h *inventory.Host) ([]inventory.Host, error) {
	seen := map[string]bool{}
	var out []inventory.Host
	for _, key := range append(append([]string{}, h.MACs...), h.Hostname) {
		x, err := s.o.Store.GetHost(ctx, key)
		if errors.Is(err, inventory.ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, err
		}
		if key == h.Hostname && !strings.EqualFold(x.Hostname, h.Hostname) {
			continue // the hostname looked like a MAC
		}
		if !seen[x.ID()] {
			seen[x.ID()] = true
			out = append(out, *x)
		}
	}
	return out, nil
}

// renameAllowed refuses to rename a host (or drop a MAC) that a cluster names by it.
func (s *Service) renameAllowed(ctx context.Context, old, h *inventory.Host) error {
	clusters, err := s.o.Store.ListClusters(ctx)
	if err != nil {
		return err
	}
	return renameCheck(clusters, old, h)
}

// renameCheck refuses a new version h of host old that a cluster's director
// reference (hostname or MAC) no longer names.
func renameCheck(clusters []inventory.Cluster, old, h *inventory.Host) error {
	if strings.EqualFold(old.Hostname, h.Hostname) && sameSet(old.MACs, h.MACs) {
		return nil
	}
	var broken []string
	for _, c := range clusters {
		for _, ref := range []struct{ role, key string }{{"primary", c.Primary}, {"backup", c.Backup}} {
			if ref.key != "" && namesHost(old, ref.key) && !namesHost(h, ref.key) {
				broken = append(broken, "cluster "+c.Name+" ("+ref.role+" "+ref.key+")")
			}
		}
	}
	if len(broken) > 0 {
		return &Error{Kind: ErrInUse, Users: broken,
			Msg:  fmt.Sprintf("host %s is named by %s; renaming it (or dropping that MAC) would leave the cluster without it", old.Hostname, strings.Join(broken, ", ")),
			Hint: "point the cluster at the new name first (`netkick lvs put FILE`), then rename the host"}
	}
	return nil
}

func sameSet(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	m := map[string]bool{}
	for _, x := range a {
		m[x] = true
	}
	for _, x := range b {
		if !m[x] {
			return false
		}
	}
	return true
}

// Set changes only what c names, in one transaction. ifMatch, when not
// empty, must be the host's current ETag (else ErrStale).
func (s *Service) Set(ctx context.Context, a Actor, key string, c Change, ifMatch string) (out *inventory.Host, err error) {
	defer func() { s.audit(a, "host set", onHost(out, key), err) }()
	if c.Empty() {
		return nil, fail(inventory.ErrInvalid, "name at least one field to change, e.g. --timezone Asia/Tokyo", "host %s: nothing to change", key)
	}
	return s.update(ctx, a, key, ifMatch, "updated", func(old *inventory.Host) (*inventory.Host, error) {
		return c.Apply(old), nil
	})
}

// Replace is PUT: the host's editable fields become h's, its lifecycle
// (state, build token, first and last seen) is kept. A host that does not
// exist is added. A state in h other than the current one is refused: state
// moves only through build and the install report.
func (s *Service) Replace(ctx context.Context, a Actor, h inventory.Host, ifMatch string) (out *inventory.Host, created bool, err error) {
	defer func() {
		if !created { // an added host has its "host add" line
			s.audit(a, "host replace", onHost(out, h.Hostname), err)
		}
	}()
	if len(h.MACs) == 0 {
		return nil, false, fail(inventory.ErrInvalid, "list the host's MACs in \"macs\", its identity first", "host %s has no MAC", h.Hostname)
	}
	_, err = s.o.Store.GetHost(ctx, h.MACs[0])
	if errors.Is(err, inventory.ErrNotFound) {
		if strings.Trim(ifMatch, " ") != "" && ifMatch != "*" {
			return nil, false, fail(ErrStale, "GET the host for its current ETag, or leave If-Match out to create it", "host %s does not exist, so no version matches If-Match %s", h.MACs[0], ifMatch)
		}
		added, err := s.Add(ctx, a, h, AddOptions{})
		return added, true, err
	}
	if err != nil {
		return nil, false, err
	}
	out, err = s.update(ctx, a, h.MACs[0], ifMatch, "updated", func(old *inventory.Host) (*inventory.Host, error) {
		if h.State != "" && h.State != old.State {
			return nil, fail(inventory.ErrInvalid, "use POST /api/v1/hosts/{mac}/build (`netkick host build`) to install; the install report moves it on",
				"host %s is %s; state cannot be set to %s through PUT", old.Hostname, old.State, h.State)
		}
		n := cloneHost(&h)
		n.State, n.BuildToken, n.TokenExpires = old.State, old.BuildToken, old.TokenExpires
		n.FirstSeen, n.LastSeen = old.FirstSeen, old.LastSeen
		if n.Arch == "" {
			n.Arch = old.Arch
		}
		return n, nil
	})
	return out, false, err
}

// update runs one edit of a stored host in one transaction: the If-Match
// check, the edit, every rule, then one timeline event naming the actor and
// what changed. An edit that changes nothing records nothing.
func (s *Service) update(ctx context.Context, a Actor, key, ifMatch, kind string, edit func(old *inventory.Host) (*inventory.Host, error)) (*inventory.Host, error) {
	k, err := s.known(ctx)
	if err != nil {
		return nil, err
	}
	clusters, err := s.o.Store.ListClusters(ctx)
	if err != nil {
		return nil, err
	}
	var before *inventory.Host
	var checkErr error
	h, err := s.updateLogged(ctx, key, func(h *inventory.Host) (*inventory.Event, error) {
		if etag := ETag(h); !matchETag(ifMatch, etag) {
			checkErr = &Error{Kind: ErrStale, Msg: fmt.Sprintf("host %s changed since you read it (If-Match %s, now %s); nothing was changed", h.Hostname, ifMatch, etag),
				Hint: "read it again (`netkick host show " + h.Hostname + "`, GET /api/v1/hosts/" + h.ID() + ") and repeat the change"}
			return nil, checkErr
		}
		before = cloneHost(h)
		n, err := edit(before)
		if err != nil {
			checkErr = err
			return nil, err
		}
		if first, err := firstMAC(n); err != nil || first != before.MACs[0] {
			checkErr = fail(inventory.ErrInvalid, "keep "+before.ID()+" first in macs; to give the machine another identity, remove the host and add it again",
				"host %s: the first MAC is the host's identity and cannot change", before.Hostname)
			return nil, checkErr
		}
		if err := CheckHost(n, k); err != nil {
			checkErr = err
			return nil, err
		}
		if err := renameCheck(clusters, before, n); err != nil {
			checkErr = err
			return nil, err
		}
		*h = *n
		if d := Diff(before, n); len(d) > 0 {
			return &inventory.Event{Kind: kind, Detail: strings.Join(d, "; ") + " (by " + a.String() + ")", Time: s.o.Now()}, nil
		}
		return nil, nil
	})
	if checkErr != nil {
		return nil, checkErr
	}
	if err != nil {
		return nil, err
	}
	return h, nil
}

func firstMAC(h *inventory.Host) (string, error) {
	if len(h.MACs) == 0 {
		return "", fmt.Errorf("no MAC")
	}
	return inventory.NormalizeMAC(h.MACs[0])
}

// Remove deletes a host and its timeline, unless a cluster names it.
func (s *Service) Remove(ctx context.Context, a Actor, key, ifMatch string) (out *inventory.Host, err error) {
	defer func() { s.audit(a, "host remove", onHost(out, key), err) }()
	h, err := s.o.Store.GetHost(ctx, key)
	if err != nil {
		return nil, err
	}
	if etag := ETag(h); !matchETag(ifMatch, etag) {
		return nil, &Error{Kind: ErrStale, Msg: fmt.Sprintf("host %s changed since you read it (If-Match %s, now %s); nothing was removed", h.Hostname, ifMatch, etag),
			Hint: "read it again and repeat"}
	}
	u, err := s.users(ctx)
	if err != nil {
		return nil, err
	}
	if users := HostUsers(h, u); len(users) > 0 {
		return nil, &Error{Kind: ErrInUse, Users: users,
			Msg:  fmt.Sprintf("host %s is named by %s; nothing was removed", h.Hostname, strings.Join(users, ", ")),
			Hint: "give the cluster another director first (`netkick lvs put FILE`), then remove the host"}
	}
	if err := s.o.Store.DeleteHost(ctx, h.ID()); err != nil {
		return nil, err
	}
	return h, nil
}

// Roles adds and removes roles (tag/untag) in one transaction.
func (s *Service) Roles(ctx context.Context, a Actor, key string, add, remove []string, ifMatch string) (out *inventory.Host, err error) {
	defer func() { s.audit(a, "host roles", onHost(out, key), err) }()
	for _, r := range append(append([]string{}, add...), remove...) {
		if err := inventory.ValidateName("role", r); err != nil {
			return nil, err
		}
	}
	if len(add)+len(remove) == 0 {
		return nil, fail(inventory.ErrInvalid, "name at least one role", "host %s: no role to add or remove", key)
	}
	return s.update(ctx, a, key, ifMatch, "roles", func(old *inventory.Host) (*inventory.Host, error) {
		n := cloneHost(old)
		n.Roles = ApplyRoles(old.Roles, add, remove)
		return n, nil
	})
}

// ApplyRoles returns roles with add appended (once each) and remove taken out.
func ApplyRoles(roles, add, remove []string) []string {
	out := []string{}
	drop := map[string]bool{}
	for _, r := range remove {
		drop[r] = true
	}
	seen := map[string]bool{}
	for _, r := range append(append([]string{}, roles...), add...) {
		if !drop[r] && !seen[r] {
			seen[r] = true
			out = append(out, r)
		}
	}
	return out
}

func joinOr(ss []string, empty string) string {
	if len(ss) == 0 {
		return empty
	}
	return strings.Join(ss, "; ")
}
