package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"

	"go.yaml.in/yaml/v3"

	"github.com/netkick/netkick/inventory"

	"github.com/spf13/cobra"
)

// importCmd is `netkick import FILE`.
func importCmd(a *app) *cobra.Command {
	return &cobra.Command{
		Use:   "import FILE",
		Short: "load an inventory YAML file (hosts, profiles, layouts, clusters) as written by export; - reads stdin",
		RunE: func(c *cobra.Command, pos []string) error {
			return a.importFile(c.Context(), pos)
		},
	}
}

func (a *app) importFile(ctx context.Context, pos []string) error {
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
	if err := b.Import(ctx, d); err != nil {
		return fmt.Errorf("%s: %w (nothing was written if the error came from validation)", pos[0], err)
	}
	fmt.Fprintf(a.stdout, "imported %d profiles, %d layouts, %d clusters, %d hosts\n", len(d.Profiles), len(d.Layouts), len(d.Clusters), len(d.Hosts))
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
	return &cobra.Command{
		Use:   "export",
		Short: "print the inventory as YAML (netkick import reads it back)",
		RunE: func(c *cobra.Command, pos []string) error {
			if len(pos) != 0 {
				return usageError{"export takes no arguments"}
			}
			b, err := a.sf.open()
			if err != nil {
				return err
			}
			defer b.Close()
			d, err := b.Export(c.Context())
			if err != nil {
				return err
			}
			return encodeDump(a.stdout, d)
		},
	}
}
