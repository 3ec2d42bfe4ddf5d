// Package config fills a configuration struct from its four sources, key by
// key, with one rule: a command-line flag wins over an environment variable,
// which wins over the YAML file, which wins over the built-in default.
//
// The keys are the struct's yaml tags: nested structs make dotted paths
// (dhcp.mode), and every leaf is a key (a list of objects is one key). Each
// key's flag and environment variable are derived from its path, so no key
// lacks either: dhcp.mode is --dhcp-mode and PREFIX_DHCP_MODE, token_ttl is
// --token-ttl and PREFIX_TOKEN_TTL. A `flag:"name"` or `env:"NAME"` tag
// overrides a derived name.
//
// Values from flags and the environment are text, parsed by the key's type
// as the file's values are, so a bad value reads the same wherever it came
// from: an *Error naming the key, the source (flag, variable or file:line)
// and what is accepted.
package config

import (
	"fmt"
	"reflect"
	"strings"
	"time"
)

var durationType = reflect.TypeOf(time.Duration(0))

// Key is one configuration key.
type Key struct {
	// Path is the dotted YAML path, e.g. dhcp.mode.
	Path string
	// Flag is the flag's name without the leading dashes.
	Flag string
	// Env is the environment variable.
	Env string
	// Type is the Go type of the field.
	Type reflect.Type
	// Choices, when set, are the only values a string key accepts.
	Choices []string
	index   []int
}

// Keys lists the keys of the struct type t, in field order; envPrefix
// (e.g. "NETKICK") starts every derived variable name.
func Keys(t reflect.Type, envPrefix string) []Key {
	return keys(t, envPrefix, "", nil)
}

func keys(t reflect.Type, envPrefix, prefix string, index []int) []Key {
	var out []Key
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		name := yamlName(f)
		if name == "" {
			continue
		}
		path := prefix + name
		idx := append(append([]int(nil), index...), i)
		if f.Type.Kind() == reflect.Struct && f.Type != durationType {
			out = append(out, keys(f.Type, envPrefix, path+".", idx)...)
			continue
		}
		k := Key{Path: path, Type: f.Type, index: idx}
		k.Flag = strings.NewReplacer(".", "-", "_", "-").Replace(path)
		if v := f.Tag.Get("flag"); v != "" {
			k.Flag = v
		}
		k.Env = envPrefix + "_" + strings.ToUpper(strings.NewReplacer(".", "_", "-", "_").Replace(path))
		if v := f.Tag.Get("env"); v != "" {
			k.Env = v
		}
		out = append(out, k)
	}
	return out
}

// yamlName is the key a struct field has in YAML; empty: none.
func yamlName(f reflect.StructField) string {
	if !f.IsExported() {
		return ""
	}
	name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
	if name == "-" {
		return ""
	}
	return name
}

// field is the key's field in the struct v points to.
func (k Key) field(v reflect.Value) reflect.Value {
	return v.Elem().FieldByIndex(k.index)
}

// Value is the key's value in the struct cfg points to.
func (k Key) Value(cfg any) any {
	return k.field(reflect.ValueOf(cfg)).Interface()
}

// TypeName names the key's type as a person writes its values.
func (k Key) TypeName() string { return typeName(k.Type) }

func typeName(t reflect.Type) string {
	if t == durationType {
		return "duration"
	}
	switch t.Kind() {
	case reflect.String:
		return "string"
	case reflect.Bool:
		return "bool"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "integer"
	case reflect.Float32, reflect.Float64:
		return "number"
	case reflect.Slice:
		if t.Elem().Kind() == reflect.Struct {
			return "list of objects"
		}
		return "list of " + typeName(t.Elem()) + "s"
	}
	return t.String()
}

// Error is a value a source gave a key that the key does not accept.
type Error struct {
	Key    string // dotted path; empty for a key the struct does not have
	Source string // "flag --x", "environment NETKICK_X", "file F:LINE"
	Value  string
	Want   string // what is accepted
}

func (e *Error) Error() string {
	if e.Key == "" {
		return fmt.Sprintf("%s: %s", e.Source, e.Want)
	}
	return fmt.Sprintf("config key %s, from %s: %q is not accepted: want %s", e.Key, e.Source, e.Value, e.Want)
}
