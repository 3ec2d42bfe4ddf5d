package provision

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/netkick/netkick/boot"
	"github.com/netkick/netkick/inventory"
)

// discoveries is the store's discovered table.
func (s *Service) discoveries() (inventory.Discoveries, error) {
	ds, ok := s.o.Store.(inventory.Discoveries)
	if !ok {
		return nil, fmt.Errorf("the store (%T) keeps no discovered machines", s.o.Store)
	}
	return ds, nil
}

// ListDiscovered returns the discovered machines, the most recently seen first.
func (s *Service) ListDiscovered(ctx context.Context) ([]inventory.Discovered, error) {
	ds, err := s.discoveries()
	if err != nil {
		return nil, err
	}
	return ds.ListDiscovered(ctx)
}

// GetDiscovered returns one discovered machine.
func (s *Service) GetDiscovered(ctx context.Context, mac string) (*inventory.Discovered, error) {
	ds, err := s.discoveries()
	if err != nil {
		return nil, err
	}
	return ds.GetDiscovered(ctx, mac)
}

// RemoveDiscovered forgets a discovered machine (its next network boot, if
// discovery still answers there, records it again).
func (s *Service) RemoveDiscovered(ctx context.Context, a Actor, mac string) (err error) {
	defer func() { s.audit(a, "discovered remove", onHost(nil, mac), err) }()
	ds, err := s.discoveries()
	if err != nil {
		return err
	}
	return ds.DeleteDiscovered(ctx, mac)
}

// DiscoveryBoot is the discovery boot of a discovered machine (nil when
// discovery boots are off or the table does not hold mac); withToken gives
// it a fresh per-boot token (the one before it stops working).
func (s *Service) DiscoveryBoot(ctx context.Context, mac string, withToken bool) (*boot.Discovery, error) {
	if s.o.Discovery == nil {
		return nil, nil
	}
	ds, err := s.discoveries()
	if err != nil {
		return nil, err
	}
	d := *s.o.Discovery
	if !withToken {
		if _, err := ds.GetDiscovered(ctx, mac); err != nil {
			if errors.Is(err, inventory.ErrNotFound) {
				return nil, nil
			}
			return nil, err
		}
		return &d, nil
	}
	tok, err := s.newToken()
	if err != nil {
		return nil, err
	}
	_, err = ds.UpdateDiscovered(ctx, mac, func(x *inventory.Discovered) error {
		x.Token, x.TokenExpires = tok, s.o.Now().Add(s.o.TokenTTL).UTC()
		return nil
	})
	if errors.Is(err, inventory.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	d.Token = tok
	return &d, nil
}

// ReportFacts is a discovery environment's report: the per-boot token and
// the requester's binding are checked, the facts validated and cleaned
// (inventory.NormalizeFacts), stored on the discovered machine, and the
// token burnt.
func (s *Service) ReportFacts(ctx context.Context, mac string, r Requester, f inventory.Facts) (_ *inventory.Discovered, err error) {
	defer func() { s.audit(Actor{Via: "host", Name: r.Addr}, "report facts", onHost(nil, mac), err) }()
	mac, err = inventory.NormalizeMAC(mac)
	if err != nil {
		return nil, err
	}
	ds, err := s.discoveries()
	if err != nil {
		return nil, err
	}
	if err := inventory.NormalizeFacts(&f); err != nil {
		return nil, err
	}
	machine := &inventory.Host{MACs: []string{mac}, Hostname: "discovered machine " + mac}
	if s.o.Binder != nil {
		if err := s.o.Binder.Bind(ctx, machine, r); err != nil {
			return nil, refused(err)
		}
	}
	now := s.o.Now()
	var denied error
	d, err := ds.UpdateDiscovered(ctx, mac, func(d *inventory.Discovered) error {
		if err := boot.FactsAccess(d, r.Token, now); err != nil {
			denied = refused(err)
			return denied
		}
		f.Reported = now.UTC()
		d.Facts = &f
		d.MACs = []string{mac}
		for _, n := range f.NICs {
			if n.MAC != mac {
				d.MACs = append(d.MACs, n.MAC)
			}
		}
		d.Token, d.TokenExpires = "", time.Time{}
		return nil
	})
	if denied != nil {
		return nil, denied
	}
	if err != nil {
		if errors.Is(err, inventory.ErrNotFound) {
			return nil, refused(fmt.Errorf("facts for %s refused: no discovered machine has this MAC", mac))
		}
		return nil, err
	}
	return d, nil
}

// AdoptOptions say what a discovered machine becomes.
type AdoptOptions struct {
	// Hostname is required unless the name the machine sent in DHCP is a
	// valid one (it is then a suggestion taken as is).
	Hostname string
	Profile  string
	Roles    []string
	Layout   string
}

// Adopt turns a discovered machine into an inventory host (ready, every
// host rule checked as for Add): it keeps the MAC it booted from, its
// firmware and its facts; the discovered entry goes.
func (s *Service) Adopt(ctx context.Context, a Actor, mac string, o AdoptOptions) (*inventory.Host, error) {
	// Audited as the "host add" it makes.
	ds, err := s.discoveries()
	if err != nil {
		return nil, err
	}
	d, err := ds.GetDiscovered(ctx, mac)
	if err != nil {
		return nil, err
	}
	name := strings.TrimSpace(o.Hostname)
	if name == "" {
		if inventory.ValidateHostname(d.Hostname) != nil {
			return nil, fail(inventory.ErrInvalid, "give one with --hostname NAME (API: \"hostname\")",
				"discovered machine %s sent no usable hostname (%q); a hostname is needed to adopt it", d.MAC, d.Hostname)
		}
		name = d.Hostname
	}
	h := inventory.Host{MACs: []string{d.MAC}, Hostname: name, Profile: o.Profile, Roles: o.Roles, Layout: o.Layout,
		Arch: d.Arch, Facts: d.Facts.Clone(), FirstSeen: d.FirstSeen, LastSeen: d.LastSeen}
	// The host and its "adopted" event commit together.
	out, err := s.addLogged(ctx, a, h, AddOptions{}, "adopted", "adopted from the discovered machines by "+a.String()+factsSummary(h.Facts))
	if err != nil {
		return nil, err
	}
	if err := ds.DeleteDiscovered(ctx, d.MAC); err != nil && !errors.Is(err, inventory.ErrNotFound) {
		return nil, fmt.Errorf("host %s added, but its discovered entry stays: %w (remove it with `netkick discovered rm %s`)", out.Hostname, err, d.MAC)
	}
	s.audit(a, "host adopt", onHost(out, mac), nil)
	return out, nil
}

// factsSummary is a short description of facts for the timeline.
func factsSummary(f *inventory.Facts) string {
	if f == nil {
		return " (no facts reported)"
	}
	return fmt.Sprintf(" (%d CPUs, %s RAM, %d disks, %d NICs)", f.CPU.Count, inventory.HumanBytes(f.MemoryBytes), len(f.Disks), len(f.NICs))
}
