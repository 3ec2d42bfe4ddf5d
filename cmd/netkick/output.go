package main

import (
	"context"
	"encoding/json"
	"fmt"
	"reflect"

	"github.com/spf13/cobra"
	"go.yaml.in/yaml/v3"
)

// Output formats of list and show commands (-o, --output).
const (
	outTable = "table"
	outJSON  = "json"
	outYAML  = "yaml"
)

// addOutputFlag gives a list or show command -o/--output; def is the
// format it prints without the flag (table, or yaml for YAML documents).
func addOutputFlag(c *cobra.Command, format *string, def string) {
	c.Flags().StringVarP(format, "output", "o", def, "output format: table, json or yaml")
	if def == outYAML {
		c.Flags().Lookup("output").Usage = "output format: yaml or json"
	}
	_ = c.RegisterFlagCompletionFunc("output", func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
		if def == outYAML {
			return []string{outYAML, outJSON}, cobra.ShellCompDirectiveNoFileComp
		}
		return []string{outTable, outJSON, outYAML}, cobra.ShellCompDirectiveNoFileComp
	})
}

// emit prints v as JSON (indented, the API's field names) or YAML (the
// export format's field names), or calls table for the table format (nil:
// the command has no table). A nil slice prints as an empty list, not null.
func (a *app) emit(format string, v any, table func() error) error {
	if err := validOutput(format, table != nil); err != nil {
		return err
	}
	if rv := reflect.ValueOf(v); rv.Kind() == reflect.Slice && rv.IsNil() {
		v = reflect.MakeSlice(rv.Type(), 0, 0).Interface()
	}
	switch format {
	case outJSON:
		enc := json.NewEncoder(a.stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(v)
	case outYAML:
		enc := yaml.NewEncoder(a.stdout)
		enc.SetIndent(2)
		if err := enc.Encode(v); err != nil {
			return err
		}
		return enc.Close()
	}
	return table()
}

// validOutput checks -o before any work is done.
func validOutput(format string, table bool) error {
	switch format {
	case outJSON, outYAML:
		return nil
	case outTable:
		if table {
			return nil
		}
	}
	if !table {
		return usageError{fmt.Sprintf("-o %q: want yaml or json", format)}
	}
	return usageError{fmt.Sprintf("-o %q: want table, json or yaml", format)}
}

// listRunE is the RunE of a list command: no arguments, a valid -o, the
// inventory opened for list (which prints with a.emit).
func (a *app) listRunE(name string, output *string, list func(ctx context.Context, b backend) error) func(*cobra.Command, []string) error {
	return func(c *cobra.Command, pos []string) error {
		if len(pos) != 0 {
			return usageError{name + " takes no arguments"}
		}
		if err := validOutput(*output, true); err != nil {
			return err
		}
		b, err := a.sf.open()
		if err != nil {
			return err
		}
		defer b.Close()
		return list(c.Context(), b)
	}
}
