package kickstart

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// TestReload: Reload picks up a changed template directory; a template that
// no longer parses is an error naming it, and the ones in use stay.
func TestReload(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) {
		t.Helper()
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("snippets/site-one.tmpl", "one")
	r, err := New(Options{TemplateDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(r.Templates(), "snippets/site-one") || slices.Contains(r.Templates(), "snippets/site-two") {
		t.Fatalf("before reload: %v", r.Templates())
	}
	write("snippets/site-two.tmpl", "two")
	if err := r.Reload(); err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(r.Templates(), "snippets/site-two") || r.Generation() != 1 {
		t.Fatalf("after reload: %v (generation %d), want snippets/site-two and generation 1", r.Templates(), r.Generation())
	}
	write("snippets/site-three.tmpl", "{{ .Broken ")
	err = r.Reload()
	if err == nil || !strings.Contains(err.Error(), "snippets/site-three") {
		t.Fatalf("reload with a broken template: %v, want an error naming it", err)
	}
	if !slices.Contains(r.Templates(), "snippets/site-two") || slices.Contains(r.Templates(), "snippets/site-three") {
		t.Fatalf("after a failed reload the templates in use must stay: %v", r.Templates())
	}
	if r.Generation() != 1 {
		t.Fatalf("a failed reload changed the generation to %d", r.Generation())
	}
}
