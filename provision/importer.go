package provision

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/netkick/netkick/boot"
	"github.com/netkick/netkick/inventory"
	"github.com/netkick/netkick/kickstart/layout"
	"github.com/netkick/netkick/lvs"
)

// ImportOptions say how a document meets what is stored.
type ImportOptions struct {
	// Replace makes the inventory exactly the document: stored entries the
	// document does not list are deleted. Without it the document is merged:
	// its entries are added or overwrite those with the same key, others stay.
	Replace bool
	// DryRun checks everything and reports what would change, writing nothing.
	DryRun bool
}

// ImportResult says what an import changed (or would change).
type ImportResult struct {
	Mode      string   `json:"mode"` // "merge" or "replace"
	DryRun    bool     `json:"dry_run,omitempty"`
	Added     []string `json:"added,omitempty"`     // "host a01", "profile centos-7.9", …
	Updated   []string `json:"updated,omitempty"`   // with what changed, for hosts
	Unchanged []string `json:"unchanged,omitempty"` // entries equal to what is stored
	Removed   []string `json:"removed,omitempty"`   // replace mode only
	Notes     []string `json:"notes,omitempty"`     // e.g. hosts restored in build mode with a fresh token
}

// Import checks a whole document (every rule a single add or put applies,
// against what the document and the store will hold together) before it
// writes anything, then writes it: hosts in one transaction. A host listed in
// build mode gets a fresh build token, so its boot entry and kickstart work.
func (s *Service) Import(ctx context.Context, a Actor, d *inventory.Dump, o ImportOptions) (res *ImportResult, err error) {
	defer func() {
		if !o.DryRun {
			s.audit(a, "import", on(importSummary(res)), err)
		}
	}()
	res = &ImportResult{Mode: "merge", DryRun: o.DryRun}
	if o.Replace {
		res.Mode = "replace"
	}
	if err := d.Validate(); err != nil {
		return nil, err
	}
	for i := range d.Layouts {
		if err := layout.Validate(&d.Layouts[i]); err != nil {
			return nil, fmt.Errorf("%w: layouts[%d] (%s): %v", inventory.ErrInvalid, i, d.Layouts[i].Name, err)
		}
	}
	cur, err := inventory.Export(ctx, s.o.Store)
	if err != nil {
		return nil, err
	}
	base := cur
	if o.Replace {
		base = &inventory.Dump{}
	}
	k := NewKnown(append(append([]inventory.Profile{}, base.Profiles...), d.Profiles...),
		append(append([]inventory.Layout{}, base.Layouts...), d.Layouts...),
		append(append([]inventory.Cluster{}, base.Clusters...), d.Clusters...))
	for i := range d.Profiles {
		if err := CheckProfile(&d.Profiles[i], k); err != nil {
			return nil, fmt.Errorf("profiles[%d] (%s): %w", i, d.Profiles[i].Name, err)
		}
	}
	for i := range d.Hosts {
		if err := CheckHost(&d.Hosts[i], k); err != nil {
			return nil, fmt.Errorf("hosts[%d] (%s): %w", i, d.Hosts[i].Hostname, err)
		}
	}
	if err := lvs.ValidateImport(base.Clusters, base.Hosts, d.Clusters, d.Hosts); err != nil {
		return nil, fmt.Errorf("%w: %v", inventory.ErrInvalid, err)
	}

	// Hosts in build mode get a fresh token; other lifecycle fields come from the store.
	now := s.o.Now()
	stored := map[string]*inventory.Host{}
	for i := range cur.Hosts {
		stored[cur.Hosts[i].ID()] = &cur.Hosts[i]
	}
	for i := range d.Hosts {
		h := &d.Hosts[i]
		h.BuildToken, h.TokenExpires = "", time.Time{}
		if old := stored[h.ID()]; old != nil {
			h.FirstSeen, h.LastSeen = old.FirstSeen, old.LastSeen
			if h.Arch == "" {
				h.Arch = old.Arch
			}
		}
		if boot.Installing(h.State) {
			tok, err := s.newToken()
			if err != nil {
				return nil, err
			}
			h.State, h.BuildToken, h.TokenExpires = inventory.StateBuild, tok, now.Add(s.o.TokenTTL).UTC()
			res.Notes = append(res.Notes, fmt.Sprintf("host %s is restored in build mode with a fresh build token (valid until %s): its next network boot installs", h.Hostname, h.TokenExpires.Format(time.RFC3339)))
		}
	}

	// What changes.
	plan(res, "profile", cur.Profiles, d.Profiles, func(p inventory.Profile) string { return p.Name }, o.Replace)
	plan(res, "layout", cur.Layouts, d.Layouts, func(l inventory.Layout) string { return l.Name }, o.Replace)
	plan(res, "cluster", cur.Clusters, d.Clusters, func(c inventory.Cluster) string { return c.Name }, o.Replace)
	hostDiffs := map[string][]string{}
	inDoc := map[string]bool{}
	for i := range d.Hosts {
		h := &d.Hosts[i]
		inDoc[h.ID()] = true
		old := stored[h.ID()]
		switch {
		case old == nil:
			res.Added = append(res.Added, "host "+h.Hostname)
		default:
			diff := Diff(old, h)
			if h.BuildToken != "" {
				diff = append(diff, "fresh build token")
			}
			if len(diff) == 0 {
				res.Unchanged = append(res.Unchanged, "host "+h.Hostname)
			} else {
				hostDiffs[h.ID()] = diff
				res.Updated = append(res.Updated, "host "+h.Hostname+": "+strings.Join(diff, "; "))
			}
		}
	}
	bmcs, err := s.importBMCs(d, inDoc)
	if err != nil {
		return nil, err
	}
	for _, b := range d.BMCs {
		res.Notes = append(res.Notes, "BMC settings of host "+b.HostID+" imported")
	}
	var dropHosts []string
	if o.Replace {
		for i := range cur.Hosts {
			if !inDoc[cur.Hosts[i].ID()] {
				dropHosts = append(dropHosts, cur.Hosts[i].ID())
				res.Removed = append(res.Removed, "host "+cur.Hosts[i].Hostname)
			}
		}
	}
	if o.DryRun {
		return res, nil
	}

	// Write: hosts that go first (they may hold names the document gives to
	// others), then documents, then hosts in one transaction, then the
	// documents that go (nothing left names them).
	for _, id := range dropHosts {
		if err := s.o.Store.DeleteHost(ctx, id); err != nil {
			return nil, err
		}
	}
	for i := range d.Profiles {
		if err := s.o.Store.PutProfile(ctx, &d.Profiles[i]); err != nil {
			return nil, err
		}
	}
	for i := range d.Layouts {
		if err := s.o.Store.PutLayout(ctx, &d.Layouts[i]); err != nil {
			return nil, err
		}
	}
	for i := range d.Clusters {
		if err := s.o.Store.PutCluster(ctx, &d.Clusters[i]); err != nil {
			return nil, err
		}
	}
	if err := s.o.Store.PutHosts(ctx, d.Hosts); err != nil {
		return nil, err
	}
	if o.Replace {
		if err := s.dropDocs(ctx, cur, d); err != nil {
			return nil, err
		}
	}
	for _, b := range d.BMCs {
		if err := bmcs.PutBMC(ctx, b); err != nil {
			return nil, err
		}
		s.event(ctx, b.HostID, "bmc", "BMC settings imported (by "+a.String()+")")
	}
	for i := range d.Hosts {
		h := &d.Hosts[i]
		switch diff, updated := hostDiffs[h.ID()]; {
		case stored[h.ID()] == nil:
			s.event(ctx, h.ID(), "imported", "added by import ("+res.Mode+") by "+a.String())
		case updated:
			s.event(ctx, h.ID(), "imported", strings.Join(diff, "; ")+" (import, "+res.Mode+", by "+a.String()+")")
		}
	}
	return res, nil
}

func (s *Service) dropDocs(ctx context.Context, cur, d *inventory.Dump) error {
	keep := map[string]bool{}
	for _, p := range d.Profiles {
		keep["p:"+p.Name] = true
	}
	for _, l := range d.Layouts {
		keep["l:"+l.Name] = true
	}
	for _, c := range d.Clusters {
		keep["c:"+c.Name] = true
	}
	for _, c := range cur.Clusters {
		if !keep["c:"+c.Name] {
			if err := s.o.Store.DeleteCluster(ctx, c.Name); err != nil {
				return err
			}
		}
	}
	for _, l := range cur.Layouts {
		if !keep["l:"+l.Name] {
			if err := s.o.Store.DeleteLayout(ctx, l.Name); err != nil {
				return err
			}
		}
	}
	for _, p := range cur.Profiles {
		if !keep["p:"+p.Name] {
			if err := s.o.Store.DeleteProfile(ctx, p.Name); err != nil {
				return err
			}
		}
	}
	return nil
}

// plan sorts a document's entries of one kind into added, updated and
// unchanged against what is stored (and removed, in replace mode).
func plan[T any](res *ImportResult, kind string, stored, doc []T, name func(T) string, replace bool) {
	have := map[string]string{}
	for _, x := range stored {
		b, _ := json.Marshal(x)
		have[name(x)] = string(b)
	}
	inDoc := map[string]bool{}
	for _, x := range doc {
		n := name(x)
		inDoc[n] = true
		b, _ := json.Marshal(x)
		switch old, ok := have[n]; {
		case !ok:
			res.Added = append(res.Added, kind+" "+n)
		case old == string(b):
			res.Unchanged = append(res.Unchanged, kind+" "+n)
		default:
			res.Updated = append(res.Updated, kind+" "+n)
		}
	}
	if replace {
		var gone []string
		for n := range have {
			if !inDoc[n] {
				gone = append(gone, kind+" "+n)
			}
		}
		sort.Strings(gone)
		res.Removed = append(res.Removed, gone...)
	}
}

// importBMCs checks a dump's BMC settings: each names a host the dump lists.
// The MACs are normalised in place.
func (s *Service) importBMCs(d *inventory.Dump, inDoc map[string]bool) (BMCStore, error) {
	if len(d.BMCs) == 0 {
		return nil, nil
	}
	bs, err := s.bmcs()
	if err != nil {
		return nil, err
	}
	for i := range d.BMCs {
		b := &d.BMCs[i]
		mac, err := inventory.NormalizeMAC(b.HostID)
		if err != nil || !inDoc[mac] {
			return nil, fail(inventory.ErrInvalid, "list the host under hosts in the same file", "bmcs: host %q is not among the file's hosts", b.HostID)
		}
		b.HostID, b.PowerState, b.PowerChecked = mac, "", time.Time{}
		if b.Driver == "" {
			b.Driver = "ipmi"
		}
	}
	return bs, nil
}
