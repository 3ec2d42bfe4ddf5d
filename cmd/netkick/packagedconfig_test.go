package main

import (
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"

	"github.com/netkick/netkick/internal/config"
)

// TestPackagedConfig keeps packaging/netkick.yaml true to the config
// struct: the file loads; a commented-out key, uncommented, holds the
// default serve really uses (examples of keys without a default are
// free); every key with a default appears, set or commented.
func TestPackagedConfig(t *testing.T) {
	const path = "../../packaging/netkick.yaml"
	// A commented-out key line: "#key:" or, nested, "#  key:" and
	// "#  - key:" (prose has one space after the #).
	commentedKey := regexp.MustCompile(`^(\s*)#((?:\s{2,})?(?:- )?[a-z_]+:.*)$`)
	keyLine := regexp.MustCompile(`^(\s*)(?:- )?([a-z_]+):`) // indentation, key
	keys := serveKeys()
	cfg := defaultServeConfig()
	if err := config.Load(&cfg, keys, config.Sources{File: path}); err != nil {
		t.Fatalf("packaged config does not load: %v", err)
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	commented := map[string]int{} // key path -> line
	mentioned := map[string]bool{}
	type level struct {
		indent int
		name   string
	}
	var stack []level
	for i, line := range strings.Split(string(raw), "\n") {
		wasComment := false
		if m := commentedKey.FindStringSubmatch(line); m != nil {
			line = m[1] + m[2]
			wasComment = true
		}
		out = append(out, line)
		m := keyLine.FindStringSubmatch(line)
		if m == nil || strings.HasPrefix(strings.TrimSpace(line), "#") {
			continue
		}
		indent := len(m[1])
		for len(stack) > 0 && stack[len(stack)-1].indent >= indent {
			stack = stack[:len(stack)-1]
		}
		var p []string
		for _, l := range stack {
			p = append(p, l.name)
		}
		p = append(p, m[2])
		stack = append(stack, level{indent, m[2]})
		full := strings.Join(p, ".")
		mentioned[full] = true
		if wasComment {
			commented[full] = i + 1
		}
	}
	uncommented := filepath.Join(t.TempDir(), "netkick.yaml")
	if err := os.WriteFile(uncommented, []byte(strings.Join(out, "\n")), 0o600); err != nil {
		t.Fatal(err)
	}
	got := defaultServeConfig()
	if err := config.Load(&got, keys, config.Sources{File: uncommented}); err != nil {
		t.Fatalf("packaged config with its commented keys uncommented does not load: %v", err)
	}
	def := defaultServeConfig()
	for _, k := range keys {
		dv := reflect.ValueOf(k.Value(&def))
		if line, ok := commented[k.Path]; ok && !dv.IsZero() && !reflect.DeepEqual(k.Value(&got), k.Value(&def)) {
			t.Errorf("packaging/netkick.yaml:%d: commented-out %s shows %s, but the default is %s: write the default there", line, k.Path, valueText(k.Value(&got)), valueText(k.Value(&def)))
		}
		if !dv.IsZero() && !mentioned[k.Path] {
			t.Errorf("packaging/netkick.yaml does not show %s (default %v): add it, commented out", k.Path, valueText(k.Value(&def)))
		}
	}
	if len(commented) < 10 {
		t.Errorf("found only %d commented-out keys: the line pattern no longer matches the file", len(commented))
	}
}
