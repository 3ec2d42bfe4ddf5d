package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"text/tabwriter"

	"go.yaml.in/yaml/v3"

	"github.com/netkick/netkick/inventory"
	"github.com/netkick/netkick/kickstart"
	"github.com/netkick/netkick/kickstart/layout"

	"github.com/spf13/cobra"
)

// sizeList is a repeatable --disk flag.
type sizeList []int64

func (s *sizeList) String() string { return fmt.Sprint(*s) }
func (s *sizeList) Type() string   { return "size" }
func (s *sizeList) Set(v string) error {
	n, err := inventory.ParseMiB(v)
	if err != nil {
		return err
	}
	*s = append(*s, n)
	return nil
}

// layoutCmd is `netkick layout …`: disk layouts.
func layoutCmd(a *app) *cobra.Command {
	c := group("layout", "disk layouts: plan NAME --disk 500G, pre, show, list, put",
		layoutPlanCmd(a), layoutPreCmd(a), layoutShowCmd(a), layoutListCmd(a), layoutPutCmd(a))
	c.Long = "Disk layouts. SIZE is MiB, or with a binary suffix: 500G, 1T, 16G (as list-harddrives counts)."
	return c
}

// layoutArg returns the layout named by the one argument or by --file.
func (a *app) layoutArg(ctx context.Context, file string, pos []string) (*inventory.Layout, error) {
	if len(pos) != 1 && !(file != "" && len(pos) == 0) {
		return nil, usageError{"want one layout NAME (or --file F.yaml)"}
	}
	if file != "" {
		return readLayoutFile(file)
	}
	return findLayout(ctx, &a.sf, pos[0])
}

func layoutPlanCmd(a *app) *cobra.Command {
	var disks sizeList
	var ram, fw, file, hostKey string
	c := &cobra.Command{
		Use:   "plan NAME --disk SIZE [--disk SIZE] [--ram SIZE] [--firmware bios|uefi] [--file F.yaml] | plan NAME --host H",
		Short: "show the partition table a layout makes on given disks, or on a discovered host's real disks and RAM",
		RunE: func(c *cobra.Command, pos []string) error {
			l, err := a.layoutArg(c.Context(), file, pos)
			if err != nil {
				return err
			}
			var ds []layout.Disk
			if hostKey != "" {
				h, err := a.hostForPlan(c.Context(), hostKey)
				if err != nil {
					return err
				}
				if len(disks) == 0 {
					for _, d := range h.Facts.Disks {
						ds = append(ds, layout.Disk{Name: d.Name, SizeMiB: d.SizeBytes >> 20})
					}
				}
				if !c.Flags().Changed("ram") {
					ram = strconv.FormatInt(h.Facts.MemoryBytes>>20, 10) + "M"
				}
				if !c.Flags().Changed("firmware") && strings.HasPrefix(h.Arch, "efi") {
					fw = string(layout.FirmwareUEFI)
				}
			}
			if len(disks) == 0 && len(ds) == 0 {
				return usageError{"give at least one --disk SIZE, e.g. --disk 500G, or --host H of a host with reported facts"}
			}
			ramMiB, err := inventory.ParseMiB(ram)
			if err != nil {
				return usageError{"--ram: " + err.Error()}
			}
			if fw != string(layout.FirmwareBIOS) && fw != string(layout.FirmwareUEFI) {
				return usageError{"--firmware: want bios or uefi"}
			}
			for i, n := range disks {
				ds = append(ds, layout.Disk{Name: fmt.Sprintf("sd%c", 'a'+i), SizeMiB: n})
			}
			p, err := layout.Plan(l, ds, ramMiB, layout.Firmware(fw))
			if err != nil {
				return err
			}
			return printPlan(a.stdout, p)
		},
	}
	c.Flags().Var(&disks, "disk", "a disk's size, first then second (repeat)")
	c.Flags().StringVar(&ram, "ram", "4G", "the machine's RAM (for ram-sized swap)")
	c.Flags().StringVar(&fw, "firmware", "bios", "bios or uefi")
	c.Flags().StringVar(&file, "file", "", "plan this YAML layout file instead of a stored or built-in one")
	c.Flags().StringVar(&hostKey, "host", "", "plan on this host's reported disks, RAM and firmware (a host adopted from the discovered machines)")
	return c
}

// hostForPlan reads a host that has hardware facts.
func (a *app) hostForPlan(ctx context.Context, key string) (*inventory.Host, error) {
	b, err := a.sf.open()
	if err != nil {
		return nil, err
	}
	defer b.Close()
	h, err := b.GetHost(ctx, key)
	if err != nil {
		return nil, err
	}
	if h.Facts == nil || len(h.Facts.Disks) == 0 {
		return nil, fmt.Errorf("host %s has no reported disks: its facts come from discovery (`netkick host adopt`); give --disk SIZE instead", h.Hostname)
	}
	return h, nil
}

func layoutPreCmd(a *app) *cobra.Command {
	var fw, file string
	var noEnd bool
	c := &cobra.Command{
		Use:   "pre NAME [--firmware auto|bios|uefi] [--no-end] [--file F.yaml]",
		Short: "print the %pre script a layout generates",
		RunE: func(c *cobra.Command, pos []string) error {
			l, err := a.layoutArg(c.Context(), file, pos)
			if err != nil {
				return err
			}
			s, err := layout.PreScript(l, layout.ScriptOptions{Firmware: layout.Firmware(fw), OmitEnd: noEnd, ErrorOnFail: !noEnd})
			if err != nil {
				return err
			}
			_, err = io.WriteString(a.stdout, s)
			return err
		},
	}
	c.Flags().StringVar(&fw, "firmware", "auto", "auto (decided at install time), bios or uefi")
	c.Flags().BoolVar(&noEnd, "no-end", false, "leave out %end (CentOS/RHEL 5)")
	c.Flags().StringVar(&file, "file", "", "use this YAML layout file instead of a stored or built-in one")
	return c
}

func layoutShowCmd(a *app) *cobra.Command {
	var output string
	c := &cobra.Command{
		Use:   "show NAME [-o yaml|json]",
		Short: "print a layout (stored, else built-in) as YAML (layout put reads it back) or JSON",
		RunE: func(c *cobra.Command, pos []string) error {
			if err := validOutput(output, false); err != nil {
				return err
			}
			l, err := a.layoutArg(c.Context(), "", pos)
			if err != nil {
				return err
			}
			return a.emit(output, l, nil)
		},
	}
	addOutputFlag(c, &output, outYAML)
	return c
}

func layoutListCmd(a *app) *cobra.Command {
	var output string
	c := &cobra.Command{
		Use:   "list [-o json|yaml]",
		Short: "list stored and built-in layouts",
		RunE: func(c *cobra.Command, pos []string) error {
			if len(pos) != 0 {
				return usageError{"layout list takes no arguments"}
			}
			if err := validOutput(output, true); err != nil {
				return err
			}
			return layoutList(c.Context(), a, &a.sf, output)
		},
	}
	addOutputFlag(c, &output, outTable)
	return c
}

func layoutPutCmd(a *app) *cobra.Command {
	return &cobra.Command{
		Use:   "put FILE.yaml",
		Short: "validate a layout, then store it (- reads stdin)",
		RunE: func(c *cobra.Command, pos []string) error {
			if len(pos) != 1 {
				return usageError{"want FILE"}
			}
			return layoutPut(c.Context(), a, &a.sf, pos[0])
		},
	}
}

// printPlan writes a table per disk, in MiB, then the kickstart part lines.
func printPlan(w io.Writer, p *layout.Table) error {
	fmt.Fprintf(w, "layout %s, firmware %s, RAM %d MiB\n", p.Layout, p.Firmware, p.RAMMiB)
	for _, d := range p.Disks {
		fmt.Fprintf(w, "\n%s: %d MiB, %s label (disk %s)\n", d.Name, d.SizeMiB, d.Label, d.Use)
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "DEVICE\tMOUNT\tFSTYPE\tKIND\tSTART MiB\tEND MiB\tSIZE MiB")
		for _, q := range d.Partitions {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\t%d\t%d\n", q.Device, dash(q.Mount), dash(q.FSType), q.Kind, q.StartMiB, q.EndMiB, q.SizeMiB)
		}
		if err := tw.Flush(); err != nil {
			return err
		}
	}
	fmt.Fprintf(w, "\n%s:\n%s", layout.IncludeFile, p.PartLines())
	return nil
}

// storeExists says whether there is an inventory to read layouts from,
// so that planning a built-in layout does not create a data directory.
func (sf *storeFlags) storeExists() bool {
	if sf.server != "" {
		return true
	}
	_, err := os.Stat(filepath.Join(sf.data, "inventory.db"))
	return err == nil
}

// findLayout returns the stored layout, else the built-in one.
func findLayout(ctx context.Context, sf *storeFlags, name string) (*inventory.Layout, error) {
	if !sf.storeExists() {
		if l, ok := layout.Builtin(name); ok {
			return l, nil
		}
		return nil, fmt.Errorf("layout %s: no inventory at %s and no built-in of that name (built-ins: %s)", name, sf.data, strings.Join(layout.BuiltinNames(), ", "))
	}
	b, err := sf.open()
	if err != nil {
		return nil, err
	}
	defer b.Close()
	return kickstart.FindLayout(ctx, b, name)
}

// layoutView is one row of layout list's JSON and YAML: the layout and
// where it comes from.
type layoutView struct {
	inventory.Layout `yaml:",inline"`
	Source           string `json:"source" yaml:"source"` // stored or built-in
}

func layoutList(ctx context.Context, a *app, sf *storeFlags, output string) error {
	var stored []inventory.Layout
	if sf.storeExists() {
		b, err := sf.open()
		if err != nil {
			return err
		}
		defer b.Close()
		if stored, err = b.ListLayouts(ctx); err != nil {
			return err
		}
	}
	var all []layoutView
	have := map[string]bool{}
	for _, l := range stored {
		have[l.Name] = true
		all = append(all, layoutView{l, "stored"})
	}
	for _, n := range layout.BuiltinNames() {
		if !have[n] {
			l, _ := layout.Builtin(n)
			all = append(all, layoutView{*l, "built-in"})
		}
	}
	return a.emit(output, all, func() error {
		tw := tabwriter.NewWriter(a.stdout, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "NAME\tLABEL\tSOURCE\tDESCRIPTION")
		for _, l := range all {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", l.Name, dash(l.Label), l.Source, dash(l.Description))
		}
		return tw.Flush()
	})
}

func layoutPut(ctx context.Context, a *app, sf *storeFlags, file string) error {
	l, err := readLayoutFile(file)
	if err != nil {
		return err
	}
	b, err := sf.open()
	if err != nil {
		return err
	}
	defer b.Close()
	// Checked once, where it is stored (provision, locally or in the server).
	if err := b.PutLayout(ctx, l); err != nil {
		return fmt.Errorf("%s: %w", file, err)
	}
	fmt.Fprintf(a.stdout, "saved layout %s\n", l.Name)
	return nil
}

// readLayoutFile reads one layout from YAML (or JSON), strictly.
func readLayoutFile(file string) (*inventory.Layout, error) {
	var in []byte
	var err error
	if file == "-" {
		in, err = io.ReadAll(os.Stdin)
	} else {
		in, err = os.ReadFile(file)
	}
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", file, err)
	}
	var l inventory.Layout
	dec := yaml.NewDecoder(bytes.NewReader(in))
	dec.KnownFields(true)
	if err := dec.Decode(&l); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("%s is empty", file)
		}
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	return &l, nil
}
