package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"

	"go.yaml.in/yaml/v3"

	"github.com/netkick/netkick/inventory"
)

func runImport(ctx context.Context, a *app, args []string) error {
	var sf storeFlags
	fs := a.newFlags("import", "import FILE   (YAML as written by `netkick export`; - reads stdin)")
	sf.register(fs)
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usageError{"want exactly one FILE"}
	}
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
	b, err := sf.open()
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

func runExport(ctx context.Context, a *app, args []string) error {
	var sf storeFlags
	fs := a.newFlags("export", "export   (prints YAML that `netkick import` reads back)")
	sf.register(fs)
	_, b, err := sf.parseOpen(fs, args)
	if err != nil {
		return err
	}
	defer b.Close()
	d, err := b.Export(ctx)
	if err != nil {
		return err
	}
	return encodeDump(a.stdout, d)
}
