package rpmbuild

import (
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"

	"go.yaml.in/yaml/v3"
)

// maxYAMLDepth bounds the nesting parseYAML converts; META.yml needs four.
const maxYAMLDepth = 64

// parseYAML reads the first document of a META.yml into the shapes
// encoding/json gives for META.json (map[string]any, []any, string, nil), so
// one function reads both. Every scalar stays the text it was written as
// ("1.10" is a version, not the float 1.1); tags are ignored; aliases are
// refused (no META writer emits them, and expanding them costs memory). A
// second document, or anything after a "..." line, is not read.
func parseYAML(src []byte) (any, error) {
	if !utf8.Valid(src) {
		return nil, errors.New("not valid UTF-8")
	}
	var doc yaml.Node
	if err := yaml.NewDecoder(strings.NewReader(string(src))).Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, nil // no document at all
		}
		return nil, err
	}
	return fromNode(&doc, 0)
}

// fromNode converts one parsed YAML node and its children.
func fromNode(n *yaml.Node, depth int) (any, error) {
	if depth > maxYAMLDepth {
		return nil, errors.New("nested too deeply")
	}
	switch n.Kind {
	case yaml.DocumentNode:
		if len(n.Content) == 0 {
			return nil, nil
		}
		return fromNode(n.Content[0], depth)
	case yaml.ScalarNode:
		if n.ShortTag() == "!!null" { // "", "~", "null" unquoted
			return nil, nil
		}
		return n.Value, nil
	case yaml.SequenceNode:
		l := make([]any, 0, len(n.Content))
		for _, c := range n.Content {
			v, err := fromNode(c, depth+1)
			if err != nil {
				return nil, err
			}
			l = append(l, v)
		}
		return l, nil
	case yaml.MappingNode:
		m := make(map[string]any, len(n.Content)/2)
		for i := 0; i+1 < len(n.Content); i += 2 {
			k := n.Content[i]
			if k.Kind != yaml.ScalarNode {
				return nil, fmt.Errorf("line %d: a mapping key must be a scalar", k.Line)
			}
			v, err := fromNode(n.Content[i+1], depth+1)
			if err != nil {
				return nil, err
			}
			m[k.Value] = v // a repeated key: the last one wins
		}
		return m, nil
	case yaml.AliasNode:
		return nil, fmt.Errorf("line %d: alias *%s: aliases are not supported in META.yml", n.Line, n.Value)
	}
	return nil, fmt.Errorf("line %d: unexpected YAML node kind %d", n.Line, n.Kind)
}
