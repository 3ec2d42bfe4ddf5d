package rpmbuild

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"io"
	"reflect"
	"testing"
)

func TestParseYAML(t *testing.T) {
	cases := []struct {
		name string
		in   string
		want any
	}{
		{"flat mapping", "---\nname: Foo-Bar\nversion: '1.02'\n", map[string]any{"name": "Foo-Bar", "version": "1.02"}},
		{"nested mapping", "requires:\n  Foo::Bar: 1.2\n  perl: '5.008'\nname: x\n",
			map[string]any{"requires": map[string]any{"Foo::Bar": "1.2", "perl": "5.008"}, "name": "x"}},
		{"indented sequence", "author:\n  - 'A <a@b.c>'\n  - B\n", map[string]any{"author": []any{"A <a@b.c>", "B"}}},
		{"compact sequence", "license:\n- perl_5\n- mit\nname: x\n", map[string]any{"license": []any{"perl_5", "mit"}, "name": "x"}},
		{"sequence of mappings", "l:\n  - a: 1\n    b: 2\n  - c: 3\n", map[string]any{"l": []any{map[string]any{"a": "1", "b": "2"}, map[string]any{"c": "3"}}}},
		{"double quotes and escapes", `abstract: "say \"hi\"\t\u00e9"` + "\n", map[string]any{"abstract": "say \"hi\"\té"}},
		{"single quotes", "abstract: 'it''s # not a comment'\n", map[string]any{"abstract": "it's # not a comment"}},
		{"comments", "# head\nname: x # trailing\n\n  # indented comment\nversion: 1\n", map[string]any{"name": "x", "version": "1"}},
		{"flow collections", "a: {}\nb: []\nc: [x, 'y', {k: v}]\n", map[string]any{"a": map[string]any{}, "b": []any{}, "c": []any{"x", "y", map[string]any{"k": "v"}}}},
		{"null values", "a: ~\nb:\nc: null\n", map[string]any{"a": nil, "b": nil, "c": nil}},
		{"literal block", "d: |\n  line one\n  line two\nn: 1\n", map[string]any{"d": "line one\nline two\n", "n": "1"}},
		{"folded block strip", "d: >-\n  one\n  two\n\n  three\n", map[string]any{"d": "one two\nthree"}},
		{"plain continuation", "abstract: a long\n  abstract here\nx: y\n", map[string]any{"abstract": "a long abstract here", "x": "y"}},
		{"tag ignored", "--- !!perl/hash:CPAN::Meta\nname: x\n", map[string]any{"name": "x"}},
		{"url value keeps colon", "url: http://example.org/x\n", map[string]any{"url": "http://example.org/x"}},
		{"document end", "name: x\n...\ngarbage: [\n", map[string]any{"name": "x"}},
		{"CRLF", "name: x\r\nversion: 2\r\n", map[string]any{"name": "x", "version": "2"}},
		{"empty sequence item", "l:\n- \n- b\n", map[string]any{"l": []any{nil, "b"}}},
		{"empty", "", nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := parseYAML([]byte(c.in))
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, c.want) {
				t.Errorf("got %#v\nwant %#v", got, c.want)
			}
		})
	}
}

func TestParseYAMLErrors(t *testing.T) {
	cases := []struct{ name, in string }{
		{"tab indentation", "a:\n\tb: 1\n"},
		{"bad indentation", "a: 1\n  b: 2\n"},
		{"unterminated quote", "a: 'abc\n"},
		{"unterminated flow", "a: [1, 2\n"},
		{"alias", "a: *ref\n"},
		{"sequence inside mapping level", "a: 1\n- b\n"},
		{"not utf-8", "a: \xff\n"},
		{"bad escape", `a: "\q"` + "\n"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if v, err := parseYAML([]byte(c.in)); err == nil {
				t.Fatalf("want an error, got %#v", v)
			}
		})
	}
}

const metaYAML14 = `---
abstract: 'Keep the numbers of a list'
author:
  - 'Netkick Test <test@example.org>'
build_requires:
  Test::More: '0.88'
configure_requires:
  Module::Build: '0.40'
license: mit
name: Acme-Netkick-MB
requires:
  Scalar::Util: '1.10'
  perl: '5.008'
version: '0.31'
`

const metaJSON2 = `{
   "abstract" : "Add up numbers",
   "license" : [ "perl_5" ],
   "name" : "Acme-Netkick-Pure",
   "prereqs" : {
      "configure" : { "requires" : { "ExtUtils::MakeMaker" : "6.64" } },
      "runtime" : {
         "requires" : { "List::Util" : "1.0", "perl" : 5.008001 },
         "recommends" : { "Foo" : "1" }
      },
      "test" : { "requires" : { "Test::More" : "0.88" } }
   },
   "version" : "1.02"
}`

func TestParseMeta(t *testing.T) {
	y, err := ParseMetaYAML([]byte(metaYAML14))
	if err != nil {
		t.Fatal(err)
	}
	wantY := &Meta{Source: "META.yml", Name: "Acme-Netkick-MB", Version: "0.31", Abstract: "Keep the numbers of a list",
		License: []string{"mit"}, Prereqs: []Prereq{
			{PhaseConfigure, "Module::Build", "0.40"}, {PhaseBuild, "Test::More", "0.88"},
			{PhaseRuntime, "Scalar::Util", "1.10"}, {PhaseRuntime, "perl", "5.008"},
		}}
	if !reflect.DeepEqual(y, wantY) {
		t.Errorf("META.yml:\ngot  %+v\nwant %+v", y, wantY)
	}
	j, err := ParseMetaJSON([]byte(metaJSON2))
	if err != nil {
		t.Fatal(err)
	}
	wantJ := &Meta{Source: "META.json", Name: "Acme-Netkick-Pure", Version: "1.02", Abstract: "Add up numbers",
		License: []string{"perl_5"}, Prereqs: []Prereq{
			{PhaseConfigure, "ExtUtils::MakeMaker", "6.64"}, {PhaseTest, "Test::More", "0.88"},
			{PhaseRuntime, "List::Util", "1.0"}, {PhaseRuntime, "perl", "5.008001"},
		}}
	if !reflect.DeepEqual(j, wantJ) {
		t.Errorf("META.json:\ngot  %+v\nwant %+v", j, wantJ)
	}
}

// FuzzParseMetaYAML: the META.yml reader never panics, and what it accepts
// can be planned.
func FuzzParseMetaYAML(f *testing.F) {
	for _, s := range []string{metaYAML14, "a: [1, {b: c}]\n", "d: |+\n  x\n\n", "- a\n- - b\n  - c\n", "l:\n  - a: 1\n    b: 2\n"} {
		f.Add([]byte(s))
	}
	d := &Dist{File: "Foo-1.0.tar.gz", Name: "Foo", Version: "1.0", TopDir: "Foo-1.0", Files: []string{"Makefile.PL"}}
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := ParseMetaYAML(b)
		if err != nil {
			return
		}
		if p, err := PlanSpec(d, m, "", goldenDate); err == nil {
			if _, err := RenderSpec(p); err != nil {
				t.Fatalf("planned but not rendered: %v", err)
			}
		}
	})
}

// FuzzReadDist: the tarball reader never panics, and what it accepts never
// names a member outside its top directory.
func FuzzReadDist(f *testing.F) {
	f.Add(tarGz(f, []distFile{{name: "Foo-1.0/Makefile.PL", body: plainMakefilePL}, {name: "Foo-1.0/lib/Foo.pm", body: plainPM}}))
	f.Add(tarGz(f, []distFile{{name: "Foo-1.0/a", typ: tar.TypeSymlink, link: "."}, {name: "Foo-1.0/b", typ: tar.TypeSymlink, link: "a/.."}}))
	f.Add(tarGz(f, []distFile{{name: "Foo-1.0/META.yml", body: metaYAML14}}))
	// Plain tar seeds let the fuzzer work on the tar structure itself.
	for _, files := range [][]distFile{
		{{name: "Foo-1.0/Makefile.PL", body: plainMakefilePL}, {name: "Foo-1.0/x", typ: tar.TypeSymlink, link: "lib/../Makefile.PL"}},
		{{name: "Foo-1.0/META.yml", body: metaYAML14}, {name: "Foo-1.0/h", typ: tar.TypeLink, link: "Foo-1.0/META.yml"}},
	} {
		zr, err := gzip.NewReader(bytes.NewReader(tarGz(f, files)))
		if err != nil {
			f.Fatal(err)
		}
		raw, _ := io.ReadAll(zr)
		f.Add(raw)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		d, err := ReadDist("Foo-1.0.tar.gz", bytes.NewReader(b))
		if err != nil {
			return
		}
		for _, m := range d.Files {
			if _, err := checkMemberName(m); err != nil || m == "" {
				t.Fatalf("accepted member %q", m)
			}
		}
		if m, err := ReadMeta(d); err == nil {
			if p, err := PlanSpec(d, m, "", goldenDate); err == nil {
				RenderSpec(p)
			}
		}
	})
}
