package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/netkick/netkick/adopt"
	"github.com/netkick/netkick/inventory"
	"github.com/netkick/netkick/provision"

	"github.com/spf13/cobra"
)

// importCmd is `netkick import FILE`.
func importCmd(a *app) *cobra.Command {
	var o provision.ImportOptions
	var from string
	c := &cobra.Command{
		Use:   "import FILE [--dry-run] [--replace] | import --from FORMAT FILE|DIR [--dry-run] [--replace]",
		Short: "load an inventory YAML file (hosts, profiles, layouts, clusters) as written by export; - reads stdin",
		Long: "Merge (the default): the file's entries are added, or overwrite the entries with the\n" +
			"same key; everything else stays. --replace: the inventory becomes the file, and\n" +
			"entries it does not list are deleted. --dry-run prints what would change.\n" +
			"A host being installed keeps its build token; other hosts listed in build mode get a\n" +
			"fresh one. Entries equal to what is stored are left untouched; the rest is written in\n" +
			"one transaction, so a failed import writes nothing.\n\n" +
			"--from FORMAT reads a site's existing configuration instead (" + strings.Join(adopt.Formats(), ", ") + "):\n" +
			"its hosts become netkick's, every setting netkick cannot hold is listed as not\n" +
			"imported, and a MAC whose address differs from the stored host's is reported as\n" +
			"a conflict naming both sources. Run with --dry-run first (docs/import.md).",
		RunE: func(c *cobra.Command, pos []string) error {
			a.sf.create = true // import may start a new inventory
			if from != "" {
				return a.importFrom(c.Context(), from, pos, o)
			}
			return a.importFile(c.Context(), pos, o)
		},
	}
	c.Flags().StringVar(&from, "from", "", "read another tool's configuration: "+strings.Join(adopt.Formats(), ", "))
	_ = c.RegisterFlagCompletionFunc("from", func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
		return adopt.Formats(), cobra.ShellCompDirectiveNoFileComp
	})
	c.Flags().BoolVar(&o.DryRun, "dry-run", false, "check the file and print what would change, writing nothing")
	c.Flags().BoolVar(&o.Replace, "replace", false, "make the inventory exactly the file: delete what it does not list")
	return c
}

// printImport says what an import changed, one line per entry.
func printImport(a *app, res *provision.ImportResult) {
	verb := map[bool]string{true: "would be ", false: ""}[res.DryRun]
	for _, x := range res.Added {
		fmt.Fprintf(a.stdout, "%sadded: %s\n", verb, x)
	}
	for _, x := range res.Updated {
		fmt.Fprintf(a.stdout, "%supdated: %s\n", verb, x)
	}
	for _, x := range res.Removed {
		fmt.Fprintf(a.stdout, "%sremoved: %s\n", verb, x)
	}
	for _, x := range res.Notes {
		fmt.Fprintf(a.stdout, "note: %s\n", x)
	}
	what := "imported"
	if res.DryRun {
		what = "dry run, nothing written"
	}
	fmt.Fprintf(a.stdout, "%s (%s): %d added, %d updated, %d unchanged, %d removed\n", what, res.Mode, len(res.Added), len(res.Updated), len(res.Unchanged), len(res.Removed))
}

func (a *app) importFile(ctx context.Context, pos []string, o provision.ImportOptions) error {
	if len(pos) != 1 {
		return usageError{"want exactly one FILE"}
	}
	var err error
	var in []byte
	if pos[0] == "-" {
		in, err = io.ReadAll(os.Stdin)
	} else {
		in, err = os.ReadFile(pos[0])
	}
	if err != nil {
		return fmt.Errorf("read %s: %w", pos[0], err)
	}
	d, err := decodeDump(in)
	if err != nil {
		return fmt.Errorf("%s: %w", pos[0], err)
	}
	b, err := a.sf.open()
	if err != nil {
		return err
	}
	defer b.Close()
	res, err := b.Import(ctx, d, o)
	if err != nil {
		return fmt.Errorf("%s: %w (an import is all or nothing)", pos[0], err)
	}
	printImport(a, res)
	return nil
}

// importFrom is `netkick import --from FORMAT PATH`: the site's
// configuration is read into a dump, what it cannot hold is listed, and the
// dump goes through the same import as a netkick YAML file.
func (a *app) importFrom(ctx context.Context, format string, pos []string, o provision.ImportOptions) error {
	if len(pos) != 1 {
		return usageError{"want exactly one FILE or DIR to read with --from " + format}
	}
	files, err := adopt.ReadPath(pos[0])
	if err != nil {
		return fmt.Errorf("read %s: %w", pos[0], err)
	}
	r, err := adopt.Read(format, files)
	if err != nil {
		return err
	}
	b, err := a.sf.open()
	if err != nil {
		return err
	}
	defer b.Close()
	cur, err := b.Export(ctx, false)
	if err != nil {
		return err
	}
	conflicts := adopt.Conflicts(cur, r)
	adopt.Reconcile(cur, r)
	for _, n := range r.Notes {
		fmt.Fprintf(a.stdout, "not imported: %s\n", n)
	}
	for _, c := range conflicts {
		fmt.Fprintf(a.stdout, "conflict: %s\n", c)
	}
	if len(r.Dump.Hosts)+len(r.Dump.Clusters) == 0 {
		return fmt.Errorf("%s: nothing to import from this %s configuration (%d settings not importable, listed above)", pos[0], format, len(r.Notes))
	}
	res, err := b.Import(ctx, &r.Dump, o)
	if err != nil {
		return fmt.Errorf("%s: %w (an import is all or nothing)", pos[0], err)
	}
	printImport(a, res)
	return nil
}

// decodeDump reads the YAML import format strictly: unknown keys are errors.
func decodeDump(in []byte) (*inventory.Dump, error) {
	var d inventory.Dump
	dec := yaml.NewDecoder(bytes.NewReader(in))
	dec.KnownFields(true)
	if err := dec.Decode(&d); err != nil && err != io.EOF {
		return nil, fmt.Errorf("parse inventory YAML: %w", err)
	}
	return &d, nil
}

func encodeDump(w io.Writer, d *inventory.Dump) error {
	enc := yaml.NewEncoder(w)
	enc.SetIndent(2)
	if err := enc.Encode(d); err != nil {
		return err
	}
	return enc.Close()
}

// exportCmd is `netkick export`.
func exportCmd(a *app) *cobra.Command {
	var secrets bool
	c := &cobra.Command{
		Use:   "export [--secrets]",
		Short: "print the inventory as YAML (netkick import reads it back)",
		Long: "Hosts, profiles, layouts and clusters. Build tokens and BMC settings are left out;\n" +
			"--secrets adds every host's BMC settings with its password (keep that file private).",
		RunE: func(c *cobra.Command, pos []string) error {
			if len(pos) != 0 {
				return usageError{"export takes no arguments"}
			}
			b, err := a.sf.open()
			if err != nil {
				return err
			}
			defer b.Close()
			d, err := b.Export(c.Context(), secrets)
			if err != nil {
				return err
			}
			return encodeDump(a.stdout, d)
		},
	}
	c.Flags().BoolVar(&secrets, "secrets", false, "include the hosts' BMC settings and passwords")
	return c
}
