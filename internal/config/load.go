package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"reflect"
	"strings"

	"github.com/spf13/pflag"
	"go.yaml.in/yaml/v3"
)

// Sources are where Load reads values from; each may be absent.
type Sources struct {
	// File is the YAML file's path; empty: none.
	File string
	// Env looks a variable up (os.LookupEnv); nil: no environment. A
	// variable set to the empty string counts as unset.
	Env func(string) (string, bool)
	// Flags are the parsed flags; only flags given on the command line
	// (Changed) apply. A key's flag is looked up by name, so a flag the
	// caller registered itself (a global one) applies too, as its text.
	Flags *pflag.FlagSet
}

// Load fills the struct cfg points to, which holds the defaults, from the
// file, then the environment, then the flags: each later source wins for
// the keys it sets. It returns every bad value, each as an *Error.
func Load(cfg any, keys []Key, src Sources) error {
	v := reflect.ValueOf(cfg)
	if v.Kind() != reflect.Pointer || v.Elem().Kind() != reflect.Struct {
		return errors.New("config.Load: cfg must point to a struct")
	}
	if src.File != "" {
		if err := loadFile(v, keys, src.File); err != nil {
			return err
		}
	}
	var errs []error
	if src.Env != nil {
		for _, k := range keys {
			if s, ok := src.Env(k.Env); ok && s != "" {
				if err := k.setText(v, s, "environment "+k.Env); err != nil {
					errs = append(errs, err)
				}
			}
		}
	}
	if src.Flags != nil {
		for _, k := range keys {
			if f := src.Flags.Lookup(k.Flag); f != nil && f.Changed {
				if err := k.setText(v, flagText(f), "flag --"+k.Flag); err != nil {
					errs = append(errs, err)
				}
			}
		}
	}
	return errors.Join(errs...)
}

// flagText is a flag's value as text: a list flag of pflag's own (given
// with StringSliceVar) prints as [a,b].
func flagText(f *pflag.Flag) string {
	if sv, ok := f.Value.(pflag.SliceValue); ok {
		return strings.Join(sv.GetSlice(), ",")
	}
	return f.Value.String()
}

func loadFile(v reflect.Value, keys []Key, path string) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("read config file: %w (name an existing file with --config)", err)
	}
	return loadYAML(v, keys, path, b)
}

// loadYAML is loadFile on the file's bytes b; path names it in errors.
func loadYAML(v reflect.Value, keys []Key, path string, b []byte) error {
	var doc yaml.Node
	if err := yaml.NewDecoder(bytes.NewReader(b)).Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil // an empty file sets nothing
		}
		return fmt.Errorf("config file %s: not YAML: %s", path, yamlErr(err))
	}
	if len(doc.Content) == 0 {
		return nil
	}
	at := func(line int) string { return fmt.Sprintf("file %s:%d", path, line) }
	lines := map[string]int{}
	if err := setNode(v.Elem(), doc.Content[0], "", at, lines); err != nil {
		return err
	}
	var errs []error
	for _, k := range keys {
		if line, ok := lines[k.Path]; ok {
			if err := k.checkChoice(k.field(v), at(line)); err != nil {
				errs = append(errs, err)
			}
		}
	}
	return errors.Join(errs...)
}

// text is a flag Value holding the text given; Load parses it by the key's
// type, so a bad value is reported as for the other sources. A list flag
// given twice holds both values (--dhcp-relays a --dhcp-relays b).
type text struct {
	s, typ string
	list   bool
	set    bool
}

func (t *text) String() string { return t.s }
func (t *text) Type() string   { return t.typ }

func (t *text) Set(s string) error {
	if t.list && t.set && s != "" {
		s = t.s + "," + s
	}
	t.s, t.set = s, true
	return nil
}

// Register adds a flag to fs for every key whose flag fs does not have yet
// and skip does not name; usage gives its help line. def points to the
// struct of defaults, shown in the help.
func Register(fs *pflag.FlagSet, keys []Key, def any, skip map[string]bool, usage func(Key) string) {
	dv := reflect.ValueOf(def)
	for _, k := range keys {
		if skip[k.Flag] || fs.Lookup(k.Flag) != nil {
			continue
		}
		d := defaultText(k.field(dv))
		list := k.Type.Kind() == reflect.Slice && k.Type.Elem().Kind() != reflect.Struct
		f := fs.VarPF(&text{s: d, typ: flagType(k.Type), list: list}, k.Flag, "", usage(k))
		f.DefValue = d
		if k.Type.Kind() == reflect.Bool {
			f.NoOptDefVal = "true"
		}
	}
}

// flagType is the short type name --help shows after a flag.
func flagType(t reflect.Type) string {
	switch {
	case t.Kind() == reflect.Slice && t.Elem().Kind() == reflect.Struct:
		return "yaml"
	case t.Kind() == reflect.Slice:
		return "list"
	}
	switch n := typeName(t); n {
	case "integer":
		return "int"
	default:
		return n
	}
}

// defaultText is a default as a flag's help shows it: empty for a zero value.
func defaultText(v reflect.Value) string {
	if v.IsZero() {
		return ""
	}
	if v.Kind() == reflect.Slice {
		var parts []string
		for i := 0; i < v.Len(); i++ {
			parts = append(parts, fmt.Sprint(v.Index(i).Interface()))
		}
		return strings.Join(parts, ",")
	}
	return fmt.Sprint(v.Interface())
}
