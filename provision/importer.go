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
// writes anything, then writes it all in one transaction with one timeline
// event per host it adds or changes: when it returns an error, nothing was
// written. Entries equal to what is stored are not written at all (no event,
// no new generation), so re-running an import changes nothing. A host the
// inventory has in the middle of a build keeps that build's token (its
// machine may hold it already); a host the document puts in build mode
// otherwise gets a fresh build token, so its boot entry and kickstart work.
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

	// Lifecycle fields come from the store, the build as importBuildOf decides.
	now := s.o.Now()
	stored := map[string]*inventory.Host{}
	for i := range cur.Hosts {
		stored[cur.Hosts[i].ID()] = &cur.Hosts[i]
	}
	fresh := map[string]bool{}
	for i := range d.Hosts {
		h := &d.Hosts[i]
		old := stored[h.ID()]
		h.BuildToken, h.TokenExpires = "", time.Time{}
		if old != nil {
			h.FirstSeen, h.LastSeen = old.FirstSeen, old.LastSeen
			if h.Arch == "" {
				h.Arch = old.Arch
			}
		}
		switch importBuildOf(h, old, now) {
		case buildKeep:
			h.State, h.BuildToken, h.TokenExpires = old.State, old.BuildToken, old.TokenExpires
		case buildFresh:
			tok, err := s.newToken()
			if err != nil {
				return nil, err
			}
			h.State, h.BuildToken, h.TokenExpires = inventory.StateBuild, tok, now.Add(s.o.TokenTTL).UTC()
			fresh[h.ID()] = true
			res.Notes = append(res.Notes, fmt.Sprintf("host %s is restored in build mode with a fresh build token (valid until %s): its next network boot installs", h.Hostname, h.TokenExpires.Format(time.RFC3339)))
		}
	}

	// What changes: only that is written.
	var w inventory.Batch
	w.Profiles = plan(res, "profile", cur.Profiles, d.Profiles, func(p inventory.Profile) string { return p.Name }, o.Replace, &w.DeleteProfiles)
	w.Layouts = plan(res, "layout", cur.Layouts, d.Layouts, func(l inventory.Layout) string { return l.Name }, o.Replace, &w.DeleteLayouts)
	w.Clusters = plan(res, "cluster", cur.Clusters, d.Clusters, func(c inventory.Cluster) string { return c.Name }, o.Replace, &w.DeleteClusters)
	inDoc := map[string]bool{}
	for i := range d.Hosts {
		h := &d.Hosts[i]
		inDoc[h.ID()] = true
		old := stored[h.ID()]
		if old == nil {
			res.Added = append(res.Added, "host "+h.Hostname)
			w.Hosts = append(w.Hosts, *h)
			w.Events = append(w.Events, inventory.Event{HostID: h.ID(), Time: now, Kind: "imported", Detail: "added by import (" + res.Mode + ") by " + a.String()})
			continue
		}
		diff := importDiff(old, h)
		if fresh[h.ID()] {
			diff = append(diff, "fresh build token")
		}
		if len(diff) == 0 {
			res.Unchanged = append(res.Unchanged, "host "+h.Hostname)
			continue
		}
		res.Updated = append(res.Updated, "host "+h.Hostname+": "+strings.Join(diff, "; "))
		w.Hosts = append(w.Hosts, *h)
		w.Events = append(w.Events, inventory.Event{HostID: h.ID(), Time: now, Kind: "imported", Detail: strings.Join(diff, "; ") + " (import, " + res.Mode + ", by " + a.String() + ")"})
	}
	bmcs, err := s.importBMCs(d, inDoc)
	if err != nil {
		return nil, err
	}
	for _, b := range d.BMCs {
		if bmcs != nil {
			if old, err := bmcs.GetBMC(ctx, b.HostID); err == nil && sameBMC(old, &b) {
				continue
			}
		}
		w.BMCs = append(w.BMCs, b)
		w.Events = append(w.Events, inventory.Event{HostID: b.HostID, Time: now, Kind: "bmc", Detail: "BMC settings imported (by " + a.String() + ")"})
		res.Notes = append(res.Notes, "BMC settings of host "+b.HostID+" imported")
	}
	if o.Replace {
		for i := range cur.Hosts {
			if !inDoc[cur.Hosts[i].ID()] {
				w.DeleteHosts = append(w.DeleteHosts, cur.Hosts[i].ID())
				res.Removed = append(res.Removed, "host "+cur.Hosts[i].Hostname)
			}
		}
	}
	if o.DryRun {
		return res, nil
	}
	// One transaction: hosts that go first (they may hold names the
	// document gives to others), then documents, then hosts, then the
	// documents that go (nothing left names them), BMCs, and the events.
	if err := s.o.Store.WriteBatch(ctx, &w); err != nil {
		return nil, fmt.Errorf("import rolled back, nothing written: %w", err)
	}
	return res, nil
}

// importBuild is what an import does with the build of a host it writes.
type importBuild int

const (
	// buildNone: the host is not in build mode; it holds no token.
	buildNone importBuild = iota
	// buildKeep: the build under way goes on with the stored state, token
	// and expiry.
	buildKeep
	// buildFresh: the host is put (back) in build mode with a fresh token.
	buildFresh
)

// importBuildOf decides the build of a host an import writes: doc is the
// host as the document gives it, stored as the inventory has it (nil: a
// new host). A host the inventory has in build mode with a token that
// still works keeps it whatever else the import changes: its machine may be
// in the middle of an install, holding the token in the boot entry it
// fetched, and a new token would lock it out of its kickstart and its
// report. A host the document lists in build mode otherwise needs a fresh
// token (exports carry none). A host the document lists out of build mode
// has none.
func importBuildOf(doc, stored *inventory.Host, now time.Time) importBuild {
	switch {
	case !boot.Installing(doc.State):
		return buildNone
	case stored != nil && boot.Installing(stored.State) && stored.BuildToken != "" &&
		(stored.TokenExpires.IsZero() || now.Before(stored.TokenExpires)):
		return buildKeep
	}
	return buildFresh
}

// importDiff is what writing h changes about the stored host old: Diff's
// fields, and the firmware and facts an import may carry too.
func importDiff(old, h *inventory.Host) []string {
	diff := Diff(old, h)
	if old.Arch != h.Arch {
		diff = append(diff, fmt.Sprintf("arch %s -> %s", orDash(old.Arch), orDash(h.Arch)))
	}
	if a, b := jsonOf(old.Facts), jsonOf(h.Facts); a != b {
		diff = append(diff, "facts replaced")
	}
	if len(diff) == 0 && ETag(old) != ETag(h) {
		// A field Diff does not name: write it rather than lose it.
		diff = append(diff, "stored record rewritten")
	}
	return diff
}

func jsonOf(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

func sameBMC(a, b *inventory.BMC) bool {
	return a.Driver == b.Driver && a.Address == b.Address && a.Port == b.Port && a.User == b.User &&
		a.Password == b.Password && a.PasswordFile == b.PasswordFile
}

// plan sorts a document's entries of one kind into added, updated and
// unchanged against what is stored (and removed, in replace mode, appended
// to *gone); it returns the entries to write: the added and the updated.
func plan[T any](res *ImportResult, kind string, stored, doc []T, name func(T) string, replace bool, gone *[]string) []T {
	have := map[string]string{}
	for _, x := range stored {
		have[name(x)] = jsonOf(x)
	}
	inDoc := map[string]bool{}
	var write []T
	for _, x := range doc {
		n := name(x)
		inDoc[n] = true
		switch old, ok := have[n]; {
		case !ok:
			res.Added = append(res.Added, kind+" "+n)
			write = append(write, x)
		case old == jsonOf(x):
			res.Unchanged = append(res.Unchanged, kind+" "+n)
		default:
			res.Updated = append(res.Updated, kind+" "+n)
			write = append(write, x)
		}
	}
	if replace {
		var names []string
		for n := range have {
			if !inDoc[n] {
				names = append(names, n)
			}
		}
		sort.Strings(names)
		for _, n := range names {
			res.Removed = append(res.Removed, kind+" "+n)
		}
		*gone = append(*gone, names...)
	}
	return write
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
