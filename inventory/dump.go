package inventory

import (
	"context"
	"fmt"
)

// Dump is the whole inventory as one document: the import/export format.
// Exporting, importing into an empty store and exporting again gives the same document.
type Dump struct {
	Profiles []Profile `json:"profiles,omitempty" yaml:"profiles,omitempty"`
	Layouts  []Layout  `json:"layouts,omitempty" yaml:"layouts,omitempty"`
	Clusters []Cluster `json:"clusters,omitempty" yaml:"clusters,omitempty"`
	Hosts    []Host    `json:"hosts,omitempty" yaml:"hosts,omitempty"`
	// BMCs are the hosts' BMC settings with their passwords: only in an
	// export asked for with secrets (`netkick export --secrets`).
	BMCs []BMC `json:"bmcs,omitempty" yaml:"bmcs,omitempty"`
}

// Export reads everything from s.
func Export(ctx context.Context, s Store) (*Dump, error) {
	var d Dump
	var err error
	if d.Profiles, err = s.ListProfiles(ctx); err != nil {
		return nil, err
	}
	if d.Layouts, err = s.ListLayouts(ctx); err != nil {
		return nil, err
	}
	if d.Clusters, err = s.ListClusters(ctx); err != nil {
		return nil, err
	}
	if d.Hosts, err = s.ListHosts(ctx, HostFilter{}); err != nil {
		return nil, err
	}
	return &d, nil
}

// Validate checks every entry of d before anything is written, so a bad
// document changes nothing.
func (d *Dump) Validate() error {
	for i := range d.Profiles {
		if err := ValidateProfile(&d.Profiles[i]); err != nil {
			return fmt.Errorf("profiles[%d]: %w", i, err)
		}
	}
	for i := range d.Layouts {
		if err := ValidateName("layout", d.Layouts[i].Name); err != nil {
			return fmt.Errorf("layouts[%d]: %w", i, err)
		}
	}
	for i := range d.Clusters {
		if err := ValidateName("cluster", d.Clusters[i].Name); err != nil {
			return fmt.Errorf("clusters[%d]: %w", i, err)
		}
	}
	macs := map[string]string{}
	names := map[string]bool{}
	for i := range d.Hosts {
		h := &d.Hosts[i]
		if err := NormalizeHost(h); err != nil {
			return fmt.Errorf("hosts[%d] (%s): %w", i, h.Hostname, err)
		}
		for _, m := range h.MACs {
			if other, ok := macs[m]; ok {
				return fmt.Errorf("hosts[%d] (%s): %w: MAC %s is also listed for %s", i, h.Hostname, ErrConflict, m, other)
			}
			macs[m] = h.Hostname
		}
		if names[h.Hostname] {
			return fmt.Errorf("hosts[%d]: %w: hostname %s is listed twice", i, ErrConflict, h.Hostname)
		}
		names[h.Hostname] = true
	}
	return nil
}

// Import validates d and then writes it into s (entries with the same key are replaced).
func Import(ctx context.Context, s Store, d *Dump) error {
	if err := d.Validate(); err != nil {
		return err
	}
	for i := range d.Profiles {
		if err := s.PutProfile(ctx, &d.Profiles[i]); err != nil {
			return err
		}
	}
	for i := range d.Layouts {
		if err := s.PutLayout(ctx, &d.Layouts[i]); err != nil {
			return err
		}
	}
	for i := range d.Clusters {
		if err := s.PutCluster(ctx, &d.Clusters[i]); err != nil {
			return err
		}
	}
	// Hosts go in one transaction: all or none, and fast.
	return s.PutHosts(ctx, d.Hosts)
}
