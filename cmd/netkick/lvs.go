package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/netkick/netkick/inventory"
	"github.com/netkick/netkick/lvs"
	"github.com/netkick/netkick/lvs/ipvs"

	"github.com/spf13/cobra"
)

// lvsCmd is `netkick lvs …`: LVS clusters.
func lvsCmd(a *app) *cobra.Command {
	c := group("lvs", "LVS clusters: put, list, render piranha|keepalived|ipvsadm, apply to the kernel, status",
		lvsPutCmd(a), lvsListCmd(a), lvsRenderCmd(a), lvsApplyCmd(a), lvsStatusCmd(a))
	c.Long = "LVS clusters. CLUSTER is read from --data (default), --server URL, or --file F: an inventory\n" +
		"YAML (netkick export) holding the cluster and its hosts, or a piranha lvs.cf."
	return c
}

func lvsPutCmd(a *app) *cobra.Command {
	return &cobra.Command{
		Use:   "put FILE.yaml",
		Short: "define or replace clusters (validated)",
		RunE: func(c *cobra.Command, pos []string) error {
			if len(pos) != 1 {
				return usageError{"want exactly one FILE"}
			}
			return lvsPut(c.Context(), a, &a.sf, pos[0])
		},
	}
}

func lvsListCmd(a *app) *cobra.Command {
	var output string
	c := &cobra.Command{
		Use:   "list [-o json|yaml]",
		Short: "list clusters",
		RunE: func(c *cobra.Command, pos []string) error {
			if len(pos) != 0 {
				return usageError{"lvs list takes no arguments"}
			}
			if err := validOutput(output, true); err != nil {
				return err
			}
			src, err := openClusters(&a.sf, "")
			if err != nil {
				return err
			}
			defer src.Close()
			return lvsList(c.Context(), a, src, output)
		},
	}
	addOutputFlag(c, &output, outTable)
	return c
}

// lvsPlan reads the one CLUSTER argument's plan from the inventory or --file.
func (a *app) lvsPlan(ctx context.Context, file string, pos []string) (*lvs.Plan, error) {
	if len(pos) != 1 {
		return nil, usageError{"want exactly one CLUSTER"}
	}
	src, err := openClusters(&a.sf, file)
	if err != nil {
		return nil, err
	}
	defer src.Close()
	return src.Plan(ctx, pos[0])
}

const lvsFileUsage = "read the cluster from this file instead of the inventory: inventory YAML or piranha lvs.cf"

func lvsRenderCmd(a *app) *cobra.Command {
	var file, format, director string
	c := &cobra.Command{
		Use:               "render CLUSTER [--format piranha|keepalived|ipvsadm] [--director HOST]",
		Short:             "print a cluster's lvs.cf, keepalived.conf or ipvsadm rules",
		ValidArgsFunction: a.completeNamed("cluster"),
		RunE: func(c *cobra.Command, pos []string) error {
			p, err := a.lvsPlan(c.Context(), file, pos)
			if err != nil {
				return err
			}
			out, err := lvs.Render(p, format, director)
			if err != nil {
				return usageError{err.Error()}
			}
			_, err = fmt.Fprint(a.stdout, out)
			return err
		},
	}
	c.Flags().StringVar(&file, "file", "", lvsFileUsage)
	c.Flags().StringVar(&format, "format", "piranha", "render format: "+strings.Join(lvs.Formats(), ", "))
	c.Flags().StringVar(&director, "director", "", "keepalived.conf for this director (default: the primary)")
	return c
}

func lvsApplyCmd(a *app) *cobra.Command {
	var file string
	var dryRun bool
	var timeout time.Duration
	c := &cobra.Command{
		Use:               "apply CLUSTER [--dry-run] [--timeout 5s]",
		Short:             "make the kernel's IPVS table match a cluster (on a director, as root)",
		ValidArgsFunction: a.completeNamed("cluster"),
		RunE: func(c *cobra.Command, pos []string) error {
			p, err := a.lvsPlan(c.Context(), file, pos)
			if err != nil {
				return err
			}
			return lvsApply(c.Context(), a, p, dryRun, timeout)
		},
	}
	c.Flags().StringVar(&file, "file", "", lvsFileUsage)
	c.Flags().BoolVar(&dryRun, "dry-run", false, "print the changes without making them")
	c.Flags().DurationVar(&timeout, "timeout", ipvs.DefaultTimeout, "limit for each kernel (netlink) call")
	return c
}

func lvsStatusCmd(a *app) *cobra.Command {
	var timeout time.Duration
	c := &cobra.Command{
		Use:   "status [--timeout 5s]",
		Short: "print the kernel's IPVS table",
		RunE: func(c *cobra.Command, pos []string) error {
			if len(pos) != 0 {
				return usageError{"status takes no arguments"}
			}
			k, err := ipvs.Open(c.Context(), timeout)
			if err != nil {
				return err
			}
			t, err := k.Table(c.Context())
			if err != nil {
				return err
			}
			_, err = fmt.Fprint(a.stdout, ipvs.FormatStatus(t))
			return err
		},
	}
	c.Flags().DurationVar(&timeout, "timeout", ipvs.DefaultTimeout, "limit for each kernel (netlink) call")
	return c
}

func lvsApply(ctx context.Context, a *app, p *lvs.Plan, dryRun bool, timeout time.Duration) error {
	desired, err := ipvs.Desired(p)
	if err != nil {
		return err
	}
	k, err := ipvs.Open(ctx, timeout)
	if err != nil {
		return err
	}
	var changes []ipvs.Change
	if dryRun {
		cur, err := k.Table(ctx)
		if err != nil {
			return err
		}
		changes = ipvs.Diff(desired, cur)
		for _, c := range changes {
			fmt.Fprintln(a.stdout, "would", c)
		}
	} else {
		changes, err = ipvs.Apply(ctx, k, desired)
		for _, c := range changes {
			fmt.Fprintln(a.stdout, c)
		}
		if err != nil {
			return err
		}
	}
	switch {
	case len(changes) == 0:
		fmt.Fprintf(a.stdout, "no changes: the kernel's IPVS table already matches cluster %s\n", p.Cluster.Name)
	case !dryRun:
		fmt.Fprintf(a.stdout, "applied %d changes for cluster %s\n", len(changes), p.Cluster.Name)
	}
	return nil
}

// clusterSource is where render and apply find a cluster and its hosts.
type clusterSource interface {
	Plan(ctx context.Context, name string) (*lvs.Plan, error)
	ListClusters(ctx context.Context) ([]inventory.Cluster, error)
	PutCluster(ctx context.Context, c *inventory.Cluster) error
	Close() error
}

func openClusters(sf *storeFlags, file string) (clusterSource, error) {
	if file != "" {
		return fileClusters(file)
	}
	b, err := sf.open()
	if err != nil {
		return nil, err
	}
	switch x := b.(type) {
	case *local:
		return &localClusters{st: x.Store, l: x, closer: b}, nil
	case *remote:
		return &remoteClusters{r: x}, nil
	}
	b.Close()
	return nil, fmt.Errorf("internal: unknown inventory backend %T", b)
}

// localClusters reads and writes the local store, validating as the API does.
type localClusters struct {
	st     inventory.Store
	l      *local
	closer interface{ Close() error }
}

func (l *localClusters) Plan(ctx context.Context, name string) (*lvs.Plan, error) {
	c, err := l.st.GetCluster(ctx, name)
	if err != nil {
		return nil, err
	}
	hosts, err := l.st.ListHosts(ctx, inventory.HostFilter{})
	if err != nil {
		return nil, err
	}
	return lvs.NewPlan(c, hosts)
}

func (l *localClusters) ListClusters(ctx context.Context) ([]inventory.Cluster, error) {
	return l.st.ListClusters(ctx)
}

func (l *localClusters) PutCluster(ctx context.Context, c *inventory.Cluster) error {
	d, err := l.l.p.PutCluster(ctx, l.l.actor, c)
	if err != nil {
		return err
	}
	*c = *d
	return nil
}

func (l *localClusters) Close() error { return l.closer.Close() }

// remoteClusters goes through a running server's API.
type remoteClusters struct{ r *remote }

func (r *remoteClusters) Plan(ctx context.Context, name string) (*lvs.Plan, error) {
	var p lvs.Plan
	return &p, r.r.do(ctx, "GET", "/api/v1/clusters/"+esc(name)+"/plan", nil, &p)
}

func (r *remoteClusters) ListClusters(ctx context.Context) ([]inventory.Cluster, error) {
	var out []inventory.Cluster
	return out, r.r.do(ctx, "GET", "/api/v1/clusters", nil, &out)
}

func (r *remoteClusters) PutCluster(ctx context.Context, c *inventory.Cluster) error {
	return r.r.do(ctx, "PUT", "/api/v1/clusters/"+esc(c.Name), c, c)
}

func (r *remoteClusters) Close() error { return nil }

// fileSource is a cluster read from a file, for directors without access to
// the inventory: a piranha lvs.cf (*.cf, *.conf) or inventory YAML.
type fileSource struct {
	clusters []inventory.Cluster
	hosts    []inventory.Host
	piranha  *lvs.Plan
	path     string
}

func fileClusters(path string) (*fileSource, error) {
	in, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	fsrc := &fileSource{path: path}
	switch filepath.Ext(path) {
	case ".cf", ".conf":
		name := strings.TrimSuffix(filepath.Base(path), filepath.Ext(path))
		if fsrc.piranha, err = lvs.ParsePiranha(name, string(in)); err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		fsrc.clusters = []inventory.Cluster{fsrc.piranha.Cluster}
		return fsrc, nil
	}
	var d inventory.Dump
	dec := yaml.NewDecoder(strings.NewReader(string(in)))
	dec.KnownFields(true)
	if err := dec.Decode(&d); err != nil {
		return nil, fmt.Errorf("%s: parse inventory YAML (clusters: and hosts:): %w", path, err)
	}
	fsrc.clusters, fsrc.hosts = d.Clusters, d.Hosts
	return fsrc, nil
}

func (f *fileSource) Plan(ctx context.Context, name string) (*lvs.Plan, error) {
	if f.piranha != nil {
		// An lvs.cf describes one cluster; any name selects it.
		return f.piranha, nil
	}
	for i := range f.clusters {
		if f.clusters[i].Name == name {
			if err := lvs.Validate(&f.clusters[i], f.hosts, f.clusters); err != nil {
				return nil, fmt.Errorf("%s: %w", f.path, err)
			}
			return lvs.NewPlan(&f.clusters[i], f.hosts)
		}
	}
	return nil, fmt.Errorf("%w: %s has no cluster %q", inventory.ErrNotFound, f.path, name)
}

func (f *fileSource) ListClusters(context.Context) ([]inventory.Cluster, error) {
	return f.clusters, nil
}

func (f *fileSource) PutCluster(context.Context, *inventory.Cluster) error {
	return fmt.Errorf("%s is read only here; use --data or --server to store clusters", f.path)
}

func (f *fileSource) Close() error { return nil }

// lvsPut stores every cluster of an inventory YAML file (its hosts are not
// touched: add them with `netkick host add` or `netkick import`).
func lvsPut(ctx context.Context, a *app, sf *storeFlags, path string) error {
	f, err := fileClusters(path)
	if err != nil {
		return err
	}
	if f.piranha != nil {
		return usageError{"lvs put takes inventory YAML (clusters:), not lvs.cf; see docs/lvs.md"}
	}
	if len(f.clusters) == 0 {
		return fmt.Errorf("%s holds no clusters: list them under clusters:", path)
	}
	src, err := openClusters(sf, "")
	if err != nil {
		return err
	}
	defer src.Close()
	for i := range f.clusters {
		c := f.clusters[i]
		if err := src.PutCluster(ctx, &c); err != nil {
			return err // lvs errors name the cluster already
		}
		fmt.Fprintf(a.stdout, "cluster %s: %d services, primary %s, backup %s\n", c.Name, len(c.Services), c.Primary, orDash(c.Backup))
	}
	return nil
}

func lvsList(ctx context.Context, a *app, src clusterSource, output string) error {
	cs, err := src.ListClusters(ctx)
	if err != nil {
		return err
	}
	sort.Slice(cs, func(i, j int) bool { return cs[i].Name < cs[j].Name })
	return a.emit(output, cs, func() error { return lvsTable(a, cs) })
}

func lvsTable(a *app, cs []inventory.Cluster) error {
	tw := tabwriter.NewWriter(a.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "CLUSTER\tPRIMARY\tBACKUP\tSUBNET\tSERVICES")
	for _, c := range cs {
		var svcs []string
		for _, s := range c.Services {
			proto := s.Protocol
			if proto == "" {
				proto = lvs.DefaultProtocol
			}
			svcs = append(svcs, fmt.Sprintf("%s=%s:%d/%s", s.Name, s.VIP, s.Port, proto))
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", c.Name, c.Primary, orDash(c.Backup), orDash(c.Subnet), strings.Join(svcs, " "))
	}
	return tw.Flush()
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
