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
)

const lvsUsage = `lvs put FILE.yaml                         (define or replace clusters; validated)
       netkick lvs list
       netkick lvs render CLUSTER [--format piranha|keepalived|ipvsadm] [--director HOST]
       netkick lvs apply CLUSTER [--dry-run] [--timeout 5s]   (on a director, as root)
       netkick lvs status [--timeout 5s]
  CLUSTER is read from --data (default), --server URL, or --file F: an inventory
  YAML (netkick export) holding the cluster and its hosts, or a piranha lvs.cf.`

func runLVS(ctx context.Context, a *app, args []string) error {
	if len(args) == 0 {
		return usageError{"missing subcommand; usage: netkick " + lvsUsage}
	}
	sub, args := args[0], args[1:]
	var sf storeFlags
	fs := a.newFlags("lvs "+sub, lvsUsage)
	sf.register(fs)
	file := fs.String("file", "", "read the cluster from this file instead of the inventory: inventory YAML or piranha lvs.cf")
	format := fs.String("format", "piranha", "render format: "+strings.Join(lvs.Formats(), ", "))
	director := fs.String("director", "", "keepalived.conf for this director (default: the primary)")
	dryRun := fs.Bool("dry-run", false, "apply: print the changes without making them")
	timeout := fs.Duration("timeout", ipvs.DefaultTimeout, "apply/status: limit for each kernel (netlink) call")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	switch sub {
	case "put":
		if len(pos) != 1 {
			return usageError{"want exactly one FILE; usage: netkick " + lvsUsage}
		}
		return lvsPut(ctx, a, &sf, pos[0])
	case "list":
		src, err := openClusters(&sf, "")
		if err != nil {
			return err
		}
		defer src.Close()
		return lvsList(ctx, a, src)
	case "render", "apply":
		if len(pos) != 1 {
			return usageError{"want exactly one CLUSTER; usage: netkick " + lvsUsage}
		}
		src, err := openClusters(&sf, *file)
		if err != nil {
			return err
		}
		defer src.Close()
		p, err := src.Plan(ctx, pos[0])
		if err != nil {
			return err
		}
		if sub == "render" {
			out, err := lvs.Render(p, *format, *director)
			if err != nil {
				return usageError{err.Error()}
			}
			_, err = fmt.Fprint(a.stdout, out)
			return err
		}
		return lvsApply(ctx, a, p, *dryRun, *timeout)
	case "status":
		if len(pos) != 0 {
			return usageError{"status takes no arguments; usage: netkick " + lvsUsage}
		}
		k, err := ipvs.Open(ctx, *timeout)
		if err != nil {
			return err
		}
		t, err := k.Table(ctx)
		if err != nil {
			return err
		}
		_, err = fmt.Fprint(a.stdout, ipvs.FormatStatus(t))
		return err
	}
	return usageError{fmt.Sprintf("unknown subcommand %q; usage: netkick %s", sub, lvsUsage)}
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
		return &localClusters{st: x.Store, closer: b}, nil
	case *remote:
		return &remoteClusters{r: x}, nil
	}
	b.Close()
	return nil, fmt.Errorf("internal: unknown inventory backend %T", b)
}

// localClusters reads and writes the local store, validating as the API does.
type localClusters struct {
	st     inventory.Store
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
	hosts, err := l.st.ListHosts(ctx, inventory.HostFilter{})
	if err != nil {
		return err
	}
	others, err := l.st.ListClusters(ctx)
	if err != nil {
		return err
	}
	if err := lvs.Validate(c, hosts, others); err != nil {
		return err
	}
	*c = lvs.WithDefaults(*c)
	return l.st.PutCluster(ctx, c)
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

func lvsList(ctx context.Context, a *app, src clusterSource) error {
	cs, err := src.ListClusters(ctx)
	if err != nil {
		return err
	}
	sort.Slice(cs, func(i, j int) bool { return cs[i].Name < cs[j].Name })
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
