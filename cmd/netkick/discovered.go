package main

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/netkick/netkick/httpd"
	"github.com/netkick/netkick/inventory"
	"github.com/netkick/netkick/provision"
)

// discoveredBackend is what the discovered commands need of a backend.
type discoveredBackend interface {
	ListDiscovered(ctx context.Context) ([]inventory.Discovered, error)
	GetDiscovered(ctx context.Context, mac string) (*inventory.Discovered, error)
	DeleteDiscovered(ctx context.Context, mac string) error
	Adopt(ctx context.Context, mac string, o provision.AdoptOptions) (*inventory.Host, error)
}

func (l *local) ListDiscovered(ctx context.Context) ([]inventory.Discovered, error) {
	return hinted2(l.p.ListDiscovered(ctx))
}
func (l *local) GetDiscovered(ctx context.Context, mac string) (*inventory.Discovered, error) {
	return hinted2(l.p.GetDiscovered(ctx, mac))
}
func (l *local) DeleteDiscovered(ctx context.Context, mac string) error {
	return hinted(l.p.RemoveDiscovered(ctx, l.actor, mac))
}
func (l *local) Adopt(ctx context.Context, mac string, o provision.AdoptOptions) (*inventory.Host, error) {
	return hinted2(l.p.Adopt(ctx, l.actor, mac, o))
}

func (r *remote) ListDiscovered(ctx context.Context) ([]inventory.Discovered, error) {
	var out []inventory.Discovered
	return out, r.do(ctx, "GET", "/api/v1/discovered", nil, &out)
}
func (r *remote) GetDiscovered(ctx context.Context, mac string) (*inventory.Discovered, error) {
	var d inventory.Discovered
	return &d, r.do(ctx, "GET", "/api/v1/discovered/"+esc(mac), nil, &d)
}
func (r *remote) DeleteDiscovered(ctx context.Context, mac string) error {
	return r.do(ctx, "DELETE", "/api/v1/discovered/"+esc(mac), nil, nil)
}
func (r *remote) Adopt(ctx context.Context, mac string, o provision.AdoptOptions) (*inventory.Host, error) {
	var h inventory.Host
	body := httpd.AdoptRequest{Hostname: o.Hostname, Profile: o.Profile, Roles: o.Roles, Layout: o.Layout}
	return &h, r.do(ctx, "POST", "/api/v1/discovered/"+esc(mac)+"/adopt", body, &h)
}

func (a *app) discoveredBackend() (discoveredBackend, func() error, error) {
	b, err := a.sf.open()
	if err != nil {
		return nil, nil, err
	}
	db, ok := b.(discoveredBackend)
	if !ok {
		b.Close()
		return nil, nil, errors.New("this inventory backend keeps no discovered machines")
	}
	return db, b.Close, nil
}

func discoveredCmd(a *app) *cobra.Command {
	return group("discovered", "machines DHCP discovered (dhcp.unknown: discover): list, show, rm; adopt them with `host adopt`",
		discoveredListCmd(a), discoveredShowCmd(a), discoveredRmCmd(a))
}

// shown prints a machine's text as data: quoted (Go syntax) unless it is
// plain, so nothing it holds can pass for output of netkick's own.
func shown(s string) string {
	if s == "" {
		return "-"
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("-_.:/@+", r)) {
			return strconv.Quote(s)
		}
	}
	return s
}

func discoveredListCmd(a *app) *cobra.Command {
	var output string
	c := &cobra.Command{
		Use:   "list",
		Short: "list discovered machines, the most recently seen first",
		RunE: func(c *cobra.Command, pos []string) error {
			if len(pos) != 0 {
				return usageError{"discovered list takes no arguments"}
			}
			if err := validOutput(output, true); err != nil {
				return err
			}
			b, done, err := a.discoveredBackend()
			if err != nil {
				return err
			}
			defer done()
			ds, err := b.ListDiscovered(c.Context())
			if err != nil {
				return err
			}
			return a.emit(output, ds, func() error {
				w := tabwriter.NewWriter(a.stdout, 0, 4, 2, ' ', 0)
				fmt.Fprintln(w, "MAC\tARCH\tDHCP HOSTNAME\tADDRESS\tFACTS\tLAST SEEN")
				for _, d := range ds {
					addr := "-"
					if len(d.Addresses) > 0 {
						addr = d.Addresses[len(d.Addresses)-1]
					}
					facts := "-"
					if d.Facts != nil {
						facts = fmt.Sprintf("%d CPUs, %s, %d disks", d.Facts.CPU.Count, inventory.HumanBytes(d.Facts.MemoryBytes), len(d.Facts.Disks))
					}
					fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\n", d.MAC, shown(d.Arch), shown(d.Hostname), addr, facts, d.LastSeen.Local().Format(time.DateTime))
				}
				return w.Flush()
			})
		},
	}
	addOutputFlag(c, &output, outTable)
	return c
}

func discoveredShowCmd(a *app) *cobra.Command {
	var output string
	c := &cobra.Command{
		Use:   "show MAC",
		Short: "show a discovered machine: what DHCP saw and its hardware facts",
		RunE: func(c *cobra.Command, pos []string) error {
			if len(pos) != 1 {
				return usageError{"want exactly one MAC"}
			}
			if err := validOutput(output, true); err != nil {
				return err
			}
			b, done, err := a.discoveredBackend()
			if err != nil {
				return err
			}
			defer done()
			d, err := b.GetDiscovered(c.Context(), pos[0])
			if err != nil {
				return err
			}
			return a.emit(output, d, func() error {
				w := tabwriter.NewWriter(a.stdout, 0, 4, 2, ' ', 0)
				fmt.Fprintf(w, "mac:\t%s\n", d.MAC)
				fmt.Fprintf(w, "macs:\t%s\n", strings.Join(d.MACs, " "))
				fmt.Fprintf(w, "arch:\t%s\n", shown(d.Arch))
				fmt.Fprintf(w, "vendor class:\t%s\n", shown(d.VendorClass))
				fmt.Fprintf(w, "dhcp hostname:\t%s\n", shown(d.Hostname))
				fmt.Fprintf(w, "relay circuit id:\t%s\n", shown(d.CircuitID))
				fmt.Fprintf(w, "relay remote id:\t%s\n", shown(d.RemoteID))
				fmt.Fprintf(w, "addresses:\t%s\n", strings.Join(d.Addresses, " "))
				fmt.Fprintf(w, "first seen:\t%s\n", d.FirstSeen.Local().Format(time.RFC3339))
				fmt.Fprintf(w, "last seen:\t%s\n", d.LastSeen.Local().Format(time.RFC3339))
				if err := w.Flush(); err != nil {
					return err
				}
				printFacts(a, d.Facts)
				return nil
			})
		},
	}
	addOutputFlag(c, &output, outTable)
	return c
}

// printFacts prints hardware facts, every text shown as data.
func printFacts(a *app, f *inventory.Facts) {
	if f == nil {
		fmt.Fprintln(a.stdout, "facts: none reported yet")
		return
	}
	w := tabwriter.NewWriter(a.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintf(w, "facts reported:\t%s\n", f.Reported.Local().Format(time.RFC3339))
	fmt.Fprintf(w, "cpu:\t%d × %s\n", f.CPU.Count, shown(f.CPU.Model))
	fmt.Fprintf(w, "memory:\t%s (%d bytes)\n", inventory.HumanBytes(f.MemoryBytes), f.MemoryBytes)
	fmt.Fprintf(w, "dmi:\tvendor %s, product %s, serial %s\n", shown(f.DMI.Vendor), shown(f.DMI.Product), shown(f.DMI.Serial))
	for _, d := range f.Disks {
		kind := "ssd"
		if d.Rotational {
			kind = "rotational"
		}
		fmt.Fprintf(w, "disk %s:\t%s (%d bytes), %s, model %s, serial %s\n", d.Name, inventory.HumanBytes(d.SizeBytes), d.SizeBytes, kind, shown(d.Model), shown(d.Serial))
	}
	for _, n := range f.NICs {
		link := "down"
		if n.Link {
			link = "up"
		}
		speed := ""
		if n.SpeedMbps > 0 {
			speed = fmt.Sprintf(", %d Mb/s", n.SpeedMbps)
		}
		fmt.Fprintf(w, "nic %s:\t%s, link %s%s\n", shown(n.Name), n.MAC, link, speed)
	}
	w.Flush()
}

func discoveredRmCmd(a *app) *cobra.Command {
	return &cobra.Command{
		Use:   "rm MAC…",
		Short: "forget discovered machines",
		RunE: func(c *cobra.Command, pos []string) error {
			if len(pos) == 0 {
				return usageError{"want at least one MAC"}
			}
			b, done, err := a.discoveredBackend()
			if err != nil {
				return err
			}
			defer done()
			for _, m := range pos {
				if err := b.DeleteDiscovered(c.Context(), m); err != nil {
					return err
				}
				fmt.Fprintf(a.stdout, "removed discovered machine %s\n", m)
			}
			return nil
		},
	}
}

func hostAdoptCmd(a *app) *cobra.Command {
	var o provision.AdoptOptions
	c := &cobra.Command{
		Use:   "adopt MAC --hostname H [--profile P] [--role R]… [--layout L]",
		Short: "make a discovered machine a host: it keeps its MAC, firmware and hardware facts",
		RunE: func(c *cobra.Command, pos []string) error {
			if len(pos) != 1 {
				return usageError{"want exactly one MAC (see `netkick discovered list`)"}
			}
			b, done, err := a.discoveredBackend()
			if err != nil {
				return err
			}
			defer done()
			h, err := b.Adopt(c.Context(), pos[0], o)
			if err != nil {
				return err
			}
			fmt.Fprintf(a.stdout, "adopted %s as host %s (state %s)%s\n", h.ID(), h.Hostname, h.State, factsLine(h.Facts))
			return nil
		},
	}
	c.Flags().StringVar(&o.Hostname, "hostname", "", "the host's name (default: the DHCP hostname it sent, when that is a valid name)")
	c.Flags().StringVar(&o.Profile, "profile", "", "OS profile")
	c.Flags().StringArrayVar(&o.Roles, "role", nil, "role (repeatable)")
	c.Flags().StringVar(&o.Layout, "layout", "", "disk layout")
	return c
}

func factsLine(f *inventory.Facts) string {
	if f == nil {
		return "; no facts reported"
	}
	return fmt.Sprintf("; facts: %d CPUs, %s RAM, %d disks", f.CPU.Count, inventory.HumanBytes(f.MemoryBytes), len(f.Disks))
}
