package rpmbuild

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"
)

// This file reads the YAML subset that CPAN META.yml files use (block
// mappings and sequences, plain/quoted scalars, flow collections, block
// scalars, comments). It produces map[string]any, []any, string and nil,
// the same shapes encoding/json gives for META.json, so one function reads
// both. Anchors, aliases and multi-document streams are not META material and
// are refused or ignored.

const maxYAMLDepth = 64

type yline struct {
	num    int    // 1-based line number
	indent int    // leading spaces
	text   string // line without indentation, "" for blank and comment lines
	raw    string // line as read (for block scalars)
}

type yamlParser struct {
	lines []yline
	pos   int
	depth int
}

// parseYAML parses one META.yml document.
func parseYAML(src []byte) (any, error) {
	if !utf8.Valid(src) {
		return nil, errors.New("not valid UTF-8")
	}
	s := strings.TrimPrefix(string(src), "\uFEFF")
	p := &yamlParser{}
	started := false
	for i, raw := range strings.Split(s, "\n") {
		raw = strings.TrimSuffix(raw, "\r")
		body := strings.TrimLeft(raw, " ")
		ind := len(raw) - len(body)
		if strings.HasPrefix(body, "\t") {
			return nil, fmt.Errorf("line %d: tab in indentation", i+1)
		}
		if ind == 0 && (body == "---" || strings.HasPrefix(body, "--- ")) {
			if started {
				break // a second document: META.yml has one
			}
			started = true
			rest := strings.TrimSpace(strings.TrimPrefix(body, "---"))
			if rest == "" || strings.HasPrefix(rest, "#") || (strings.HasPrefix(rest, "!") && !strings.Contains(rest, " ")) {
				continue
			}
			body = rest // "--- {}" style
		}
		if ind == 0 && (body == "..." || strings.HasPrefix(body, "... ")) {
			break
		}
		started = true
		text := body
		if strings.HasPrefix(text, "#") {
			text = ""
		}
		p.lines = append(p.lines, yline{num: i + 1, indent: ind, text: strings.TrimRight(text, " \t"), raw: raw})
	}
	p.skipBlank()
	if p.pos >= len(p.lines) {
		return nil, nil
	}
	l := p.lines[p.pos]
	if !isSeqItem(l.text) {
		if _, _, ok, err := splitKey(l.text); err == nil && !ok {
			// A document that is a single scalar or flow collection.
			p.pos++
			v, err := parseInline(l.text, 0)
			if err != nil {
				return nil, fmt.Errorf("line %d: %w", l.num, err)
			}
			p.skipBlank()
			if p.pos < len(p.lines) {
				return nil, fmt.Errorf("line %d: unexpected content after a scalar document", p.lines[p.pos].num)
			}
			return v, nil
		}
	}
	v, err := p.node(l.indent)
	if err != nil {
		return nil, err
	}
	p.skipBlank()
	if p.pos < len(p.lines) {
		return nil, fmt.Errorf("line %d: unexpected indentation", p.lines[p.pos].num)
	}
	return v, nil
}

func (p *yamlParser) skipBlank() {
	for p.pos < len(p.lines) && p.lines[p.pos].text == "" {
		p.pos++
	}
}

func isSeqItem(t string) bool { return t == "-" || strings.HasPrefix(t, "- ") }

// node parses the block node whose first line is at indent ind.
func (p *yamlParser) node(ind int) (any, error) {
	if p.depth++; p.depth > maxYAMLDepth {
		return nil, errors.New("nested too deeply")
	}
	defer func() { p.depth-- }()
	p.skipBlank()
	if p.pos >= len(p.lines) || p.lines[p.pos].indent < ind {
		return nil, nil
	}
	if isSeqItem(p.lines[p.pos].text) {
		return p.seq(p.lines[p.pos].indent)
	}
	return p.mapping(p.lines[p.pos].indent)
}

func (p *yamlParser) mapping(ind int) (any, error) {
	m := map[string]any{}
	for {
		p.skipBlank()
		if p.pos >= len(p.lines) || p.lines[p.pos].indent < ind {
			return m, nil
		}
		l := p.lines[p.pos]
		if l.indent > ind {
			return nil, fmt.Errorf("line %d: unexpected indentation", l.num)
		}
		if isSeqItem(l.text) {
			return nil, fmt.Errorf("line %d: a sequence item where a mapping key was expected", l.num)
		}
		key, rest, ok, err := splitKey(l.text)
		if err != nil {
			return nil, fmt.Errorf("line %d: %w", l.num, err)
		}
		if !ok {
			return nil, fmt.Errorf("line %d: want \"key: value\", got %q", l.num, trunc(l.text))
		}
		p.pos++
		v, err := p.value(ind, rest, l.num, false)
		if err != nil {
			return nil, err
		}
		m[key] = v
	}
}

// value parses what follows "key:" or "- " on a line whose block indent is ind.
func (p *yamlParser) value(ind int, rest string, num int, inSeq bool) (any, error) {
	rest = strings.TrimSpace(rest)
	if rest == "" || strings.HasPrefix(rest, "#") {
		p.skipBlank()
		if p.pos >= len(p.lines) {
			return nil, nil
		}
		next := p.lines[p.pos]
		if next.indent > ind || (!inSeq && next.indent == ind && isSeqItem(next.text)) {
			return p.node(next.indent)
		}
		return nil, nil
	}
	if rest[0] == '|' || rest[0] == '>' {
		return p.blockScalar(ind, rest, num)
	}
	v, err := parseInline(rest, 0)
	if err != nil {
		return nil, fmt.Errorf("line %d: %w", num, err)
	}
	s, plain := v.(string)
	if plain && rest[0] != '"' && rest[0] != '\'' {
		// Plain scalars may continue on more-indented lines.
		for p.pos < len(p.lines) && p.lines[p.pos].text != "" && p.lines[p.pos].indent > ind {
			if _, _, isKey, _ := splitKey(p.lines[p.pos].text); isKey || isSeqItem(p.lines[p.pos].text) {
				return nil, fmt.Errorf("line %d: unexpected indentation", p.lines[p.pos].num)
			}
			s += " " + stripComment(p.lines[p.pos].text)
			p.pos++
		}
		return s, nil
	}
	return v, nil
}

func (p *yamlParser) seq(ind int) (any, error) {
	list := []any{}
	for {
		p.skipBlank()
		if p.pos >= len(p.lines) || p.lines[p.pos].indent < ind {
			return list, nil
		}
		l := p.lines[p.pos]
		if l.indent > ind {
			return nil, fmt.Errorf("line %d: unexpected indentation", l.num)
		}
		if !isSeqItem(l.text) {
			return list, nil // the next key of a parent mapping at the same indent
		}
		content := strings.TrimLeft(l.text[1:], " ")
		inner := ind + len(l.text) - len(content)
		_, _, isKey, _ := splitKey(content)
		if content != "" && (isKey || isSeqItem(content)) && content[0] != '"' && content[0] != '\'' && content[0] != '[' && content[0] != '{' {
			// "- key: v" or "- - v": the item is a block node starting here.
			p.lines[p.pos] = yline{num: l.num, indent: inner, text: content, raw: l.raw}
			v, err := p.node(inner)
			if err != nil {
				return nil, err
			}
			list = append(list, v)
			continue
		}
		p.pos++
		v, err := p.value(ind, content, l.num, true)
		if err != nil {
			return nil, err
		}
		list = append(list, v)
	}
}

func (p *yamlParser) blockScalar(ind int, header string, num int) (any, error) {
	header = stripComment(header)
	style, chomp, explicit := header[0], byte(0), 0
	for _, c := range []byte(header[1:]) {
		switch {
		case c == '-' || c == '+':
			chomp = c
		case c >= '1' && c <= '9':
			explicit = int(c - '0')
		default:
			return nil, fmt.Errorf("line %d: bad block scalar header %q", num, header)
		}
	}
	var body []string
	content := -1
	if explicit > 0 {
		content = ind + explicit
	}
	for p.pos < len(p.lines) {
		l := p.lines[p.pos]
		if strings.TrimSpace(l.raw) == "" {
			body = append(body, "")
			p.pos++
			continue
		}
		if l.indent <= ind {
			break
		}
		if content < 0 {
			content = l.indent
		}
		if l.indent < content {
			break
		}
		body = append(body, l.raw[content:])
		p.pos++
	}
	// Trailing blank lines belong to chomping only.
	trailing := 0
	for len(body) > 0 && body[len(body)-1] == "" {
		body = body[:len(body)-1]
		trailing++
	}
	var s string
	if style == '|' {
		s = strings.Join(body, "\n")
	} else {
		var b strings.Builder
		for i, line := range body {
			switch {
			case line == "":
				b.WriteByte('\n')
				continue
			case i > 0 && body[i-1] != "":
				b.WriteByte(' ')
			}
			b.WriteString(line)
		}
		s = b.String()
	}
	switch {
	case len(body) == 0:
	case chomp == '-':
	case chomp == '+':
		s += "\n" + strings.Repeat("\n", trailing)
	default:
		s += "\n"
	}
	return s, nil
}

// splitKey splits `key: rest`. ok is false when the text is not a mapping
// entry (a plain scalar). err reports a malformed quoted key.
func splitKey(t string) (key, rest string, ok bool, err error) {
	if t == "" {
		return "", "", false, nil
	}
	if t[0] == '"' || t[0] == '\'' {
		k, n, err := quoted(t)
		if err != nil {
			return "", "", false, err
		}
		after := strings.TrimLeft(t[n:], " ")
		if after == ":" || strings.HasPrefix(after, ": ") {
			return k, after[1:], true, nil
		}
		return "", "", false, nil
	}
	if strings.ContainsRune("[{-?&*!|>%@`#,", rune(t[0])) && !(t[0] == '-' && len(t) > 1 && t[1] != ' ') {
		return "", "", false, nil
	}
	for i := 0; i < len(t); i++ {
		if t[i] == '#' && i > 0 && t[i-1] == ' ' {
			return "", "", false, nil
		}
		if t[i] == ':' && (i+1 == len(t) || t[i+1] == ' ') {
			k := strings.TrimRight(t[:i], " ")
			if k == "" {
				return "", "", false, nil
			}
			return k, t[i+1:], true, nil
		}
	}
	return "", "", false, nil
}

func stripComment(s string) string {
	if i := strings.Index(s, " #"); i >= 0 {
		s = s[:i]
	}
	return strings.TrimSpace(s)
}

// parseInline parses a scalar or flow collection that fills the rest of a line.
func parseInline(s string, depth int) (any, error) {
	s = strings.TrimSpace(s)
	for strings.HasPrefix(s, "!") || strings.HasPrefix(s, "&") {
		// Tags (!!perl/hash:CPAN::Meta) and anchors carry nothing META needs.
		_, after, _ := strings.Cut(s, " ")
		if after == s {
			after = ""
		}
		s = strings.TrimSpace(after)
	}
	if s == "" {
		return nil, nil
	}
	switch s[0] {
	case '*':
		return nil, fmt.Errorf("alias %q: aliases are not supported in META.yml", trunc(s))
	case '"', '\'':
		v, n, err := quoted(s)
		if err != nil {
			return nil, err
		}
		if r := strings.TrimSpace(s[n:]); r != "" && !strings.HasPrefix(r, "#") {
			return nil, fmt.Errorf("text %q after a quoted scalar", trunc(r))
		}
		return v, nil
	case '[', '{':
		f := &flowParser{s: s, depth: depth}
		v, err := f.value()
		if err != nil {
			return nil, err
		}
		f.ws()
		if f.i < len(f.s) && f.s[f.i] != '#' {
			return nil, fmt.Errorf("text %q after a flow collection", trunc(f.s[f.i:]))
		}
		return v, nil
	}
	v := stripComment(s)
	if v == "~" || v == "null" {
		return nil, nil
	}
	return v, nil
}

// quoted reads a single- or double-quoted scalar at the start of s and
// returns it and the number of bytes used.
func quoted(s string) (string, int, error) {
	q := s[0]
	var b strings.Builder
	for i := 1; i < len(s); i++ {
		c := s[i]
		if q == '\'' {
			if c == '\'' {
				if i+1 < len(s) && s[i+1] == '\'' {
					b.WriteByte('\'')
					i++
					continue
				}
				return b.String(), i + 1, nil
			}
			b.WriteByte(c)
			continue
		}
		switch c {
		case '"':
			return b.String(), i + 1, nil
		case '\\':
			if i+1 >= len(s) {
				return "", 0, errors.New("unterminated escape in a double-quoted scalar")
			}
			i++
			switch e := s[i]; e {
			case 'n':
				b.WriteByte('\n')
			case 't':
				b.WriteByte('\t')
			case 'r':
				b.WriteByte('\r')
			case '0':
				b.WriteByte(0)
			case '"', '\\', '/', ' ':
				b.WriteByte(e)
			case 'x', 'u', 'U':
				n := map[byte]int{'x': 2, 'u': 4, 'U': 8}[e]
				if i+n >= len(s) {
					return "", 0, fmt.Errorf("short \\%c escape", e)
				}
				r, err := strconv.ParseUint(s[i+1:i+1+n], 16, 32)
				if err != nil || !utf8.ValidRune(rune(r)) {
					return "", 0, fmt.Errorf("bad \\%c escape %q", e, s[i+1:i+1+n])
				}
				b.WriteRune(rune(r))
				i += n
			default:
				return "", 0, fmt.Errorf("unknown escape \\%c", e)
			}
		default:
			b.WriteByte(c)
		}
	}
	return "", 0, errors.New("unterminated quoted scalar (multi-line quoted scalars are not supported)")
}

type flowParser struct {
	s     string
	i     int
	depth int
}

func (f *flowParser) ws() {
	for f.i < len(f.s) && f.s[f.i] == ' ' {
		f.i++
	}
}

func (f *flowParser) value() (any, error) {
	f.ws()
	if f.i >= len(f.s) {
		return nil, errors.New("unterminated flow collection")
	}
	switch f.s[f.i] {
	case '[', '{':
		if f.depth++; f.depth > maxYAMLDepth {
			return nil, errors.New("nested too deeply")
		}
		defer func() { f.depth-- }()
		open := f.s[f.i]
		f.i++
		var list []any
		m := map[string]any{}
		for first := true; ; first = false {
			f.ws()
			if f.i >= len(f.s) {
				return nil, errors.New("unterminated flow collection")
			}
			if c := f.s[f.i]; (open == '[' && c == ']') || (open == '{' && c == '}') {
				f.i++
				if open == '[' {
					if list == nil {
						list = []any{}
					}
					return list, nil
				}
				return m, nil
			}
			if !first {
				if f.s[f.i] != ',' {
					return nil, fmt.Errorf("want ',' in a flow collection at %q", trunc(f.s[f.i:]))
				}
				f.i++
				f.ws()
				if f.i < len(f.s) && (f.s[f.i] == ']' || f.s[f.i] == '}') {
					continue // trailing comma
				}
			}
			v, err := f.value()
			if err != nil {
				return nil, err
			}
			if open == '[' {
				list = append(list, v)
				continue
			}
			k, ok := v.(string)
			if !ok {
				return nil, errors.New("a flow mapping key must be a scalar")
			}
			f.ws()
			if f.i >= len(f.s) || f.s[f.i] != ':' {
				m[k] = nil
				continue
			}
			f.i++
			if m[k], err = f.value(); err != nil {
				return nil, err
			}
		}
	case '"', '\'':
		v, n, err := quoted(f.s[f.i:])
		if err != nil {
			return nil, err
		}
		f.i += n
		return v, nil
	}
	start := f.i
	for f.i < len(f.s) {
		c := f.s[f.i]
		if c == ',' || c == ']' || c == '}' || (c == ':' && (f.i+1 == len(f.s) || f.s[f.i+1] == ' ')) {
			break
		}
		f.i++
	}
	v := strings.TrimSpace(f.s[start:f.i])
	if v == "~" || v == "null" {
		return nil, nil
	}
	return v, nil
}

func trunc(s string) string {
	if len(s) > 60 {
		return s[:60] + "…"
	}
	return s
}
