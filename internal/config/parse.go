package config

import (
	"fmt"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// want says what a value of type t looks like, for error messages.
func want(t reflect.Type) string {
	if t == durationType {
		return "a duration such as 90s, 15m or 24h"
	}
	switch t.Kind() {
	case reflect.Bool:
		return "true or false"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return "a whole number"
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "a whole number, 0 or more"
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.Slice:
		if t.Elem().Kind() == reflect.Struct {
			return "a YAML list of objects, e.g. [{key: value}]"
		}
		return "a list (comma-separated in a flag or environment variable)"
	}
	return "a " + typeName(t)
}

// parseScalar parses s into v (a settable value of a scalar kind); false:
// s is not one.
func parseScalar(v reflect.Value, s string) bool {
	if v.Type() == durationType {
		d, err := time.ParseDuration(strings.TrimSpace(s))
		if err != nil {
			return false
		}
		v.SetInt(int64(d))
		return true
	}
	s2 := strings.TrimSpace(s)
	switch v.Kind() {
	case reflect.String:
		v.SetString(s)
	case reflect.Bool:
		b, err := strconv.ParseBool(s2)
		if err != nil {
			return false
		}
		v.SetBool(b)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		n, err := strconv.ParseInt(s2, 10, v.Type().Bits())
		if err != nil {
			return false
		}
		v.SetInt(n)
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		n, err := strconv.ParseUint(s2, 10, v.Type().Bits())
		if err != nil {
			return false
		}
		v.SetUint(n)
	case reflect.Float32, reflect.Float64:
		f, err := strconv.ParseFloat(s2, v.Type().Bits())
		if err != nil {
			return false
		}
		v.SetFloat(f)
	default:
		return false
	}
	return true
}

// setText sets the key's field from a flag's or variable's text: scalars
// as themselves, lists of scalars comma-separated, lists of objects as YAML.
func (k Key) setText(cfg reflect.Value, s, source string) error {
	v := k.field(cfg)
	t := v.Type()
	nv := reflect.New(t).Elem()
	switch {
	case t.Kind() == reflect.Slice && t.Elem().Kind() == reflect.Struct:
		var n yaml.Node
		if err := yaml.Unmarshal([]byte(s), &n); err != nil {
			return &Error{Key: k.Path, Source: source, Value: s, Want: want(t) + " (" + yamlErr(err) + ")"}
		}
		if len(n.Content) == 1 {
			if err := setNode(nv, n.Content[0], k.Path, func(int) string { return source }, nil); err != nil {
				return err
			}
		}
	case t.Kind() == reflect.Slice:
		for _, part := range strings.Split(s, ",") {
			if part = strings.TrimSpace(part); part == "" {
				continue
			}
			e := reflect.New(t.Elem()).Elem()
			if !parseScalar(e, part) {
				return &Error{Key: k.Path, Source: source, Value: part, Want: "a list of " + want(t.Elem()) + "s"}
			}
			nv = reflect.Append(nv, e)
		}
	default:
		if !parseScalar(nv, s) {
			return &Error{Key: k.Path, Source: source, Value: s, Want: want(t)}
		}
	}
	if err := k.checkChoice(nv, source); err != nil {
		return err
	}
	v.Set(nv)
	return nil
}

func (k Key) checkChoice(v reflect.Value, source string) error {
	if len(k.Choices) == 0 || v.Kind() != reflect.String || slices.Contains(k.Choices, v.String()) {
		return nil
	}
	return &Error{Key: k.Path, Source: source, Value: v.String(), Want: "one of " + strings.Join(k.Choices, ", ")}
}

// setNode decodes the YAML node n into v (settable) strictly: unknown keys
// are errors; at(line) names the source of an error at that line. lines,
// when not nil, records the line of every key set.
func setNode(v reflect.Value, n *yaml.Node, path string, at func(line int) string, lines map[string]int) error {
	if n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	t := v.Type()
	bad := func(w string) error {
		val := n.Value
		if n.Kind != yaml.ScalarNode {
			val = nodeKind(n)
		}
		return &Error{Key: path, Source: at(n.Line), Value: val, Want: w}
	}
	if n.Kind == yaml.ScalarNode && n.Tag == "!!null" {
		return nil // a key without a value keeps its default
	}
	if v.CanAddr() {
		if u, ok := v.Addr().Interface().(yaml.Unmarshaler); ok {
			if err := u.UnmarshalYAML(n); err != nil {
				return bad(err.Error())
			}
			return nil
		}
	}
	switch {
	case t.Kind() == reflect.Struct && t != durationType:
		if n.Kind != yaml.MappingNode {
			return bad("a block of keys")
		}
		for i := 0; i+1 < len(n.Content); i += 2 {
			kn, vn := n.Content[i], n.Content[i+1]
			fi, names := fieldNamed(t, kn.Value)
			sub := kn.Value
			if path != "" {
				sub = path + "." + kn.Value
			}
			if fi < 0 {
				msg := fmt.Sprintf("unknown key %q", sub)
				if s := closest(kn.Value, names); s != "" {
					msg += fmt.Sprintf("; did you mean %q?", s)
				} else {
					msg += " (known here: " + strings.Join(names, ", ") + ")"
				}
				return &Error{Source: at(kn.Line), Want: msg}
			}
			if lines != nil {
				lines[sub] = kn.Line
			}
			if err := setNode(v.Field(fi), vn, sub, at, lines); err != nil {
				return err
			}
		}
	case t.Kind() == reflect.Slice:
		if n.Kind != yaml.SequenceNode {
			return bad(want(t))
		}
		nv := reflect.MakeSlice(t, len(n.Content), len(n.Content))
		ep := path
		if t.Elem().Kind() == reflect.Struct {
			ep += "[]"
		}
		for i, en := range n.Content {
			if err := setNode(nv.Index(i), en, ep, at, nil); err != nil {
				return err
			}
		}
		v.Set(nv)
	default:
		if n.Kind != yaml.ScalarNode || !parseScalar(v, n.Value) {
			return bad(want(t))
		}
	}
	return nil
}

func nodeKind(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a block of keys"
	case yaml.SequenceNode:
		return "a list"
	}
	return n.Value
}

// fieldNamed finds the field of struct t whose yaml key is name (-1: none)
// and lists the keys t has.
func fieldNamed(t reflect.Type, name string) (int, []string) {
	var names []string
	found := -1
	for i := 0; i < t.NumField(); i++ {
		n := yamlName(t.Field(i))
		if n == "" {
			continue
		}
		names = append(names, n)
		if n == name {
			found = i
		}
	}
	return found, names
}

// closest is the name within two edits of s, if any.
func closest(s string, names []string) string {
	best, bestD := "", 3
	for _, n := range names {
		if d := editDistance(s, n); d < bestD {
			best, bestD = n, d
		}
	}
	return best
}

func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur := make([]int, len(b)+1)
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev = cur
	}
	return prev[len(b)]
}

// yamlErr is a YAML syntax error without the library's prefix.
func yamlErr(err error) string {
	return strings.TrimPrefix(err.Error(), "yaml: ")
}
