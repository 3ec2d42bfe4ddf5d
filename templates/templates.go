// Package templates holds netkick's built-in kickstart templates and snippets
// (embedded with go:embed) and overlays a user's template directory on them:
// a file in the directory replaces the built-in file of the same path.
package templates

import (
	"embed"
	"fmt"
	"io/fs"
	"os"
	"sort"
	"strings"
)

//go:embed files
var embedded embed.FS

// Builtin returns the embedded templates, rooted at the template tree.
func Builtin() fs.FS {
	sub, err := fs.Sub(embedded, "files")
	if err != nil {
		panic(err) // the embed directive guarantees "files" exists
	}
	return sub
}

// Ext is the suffix of template files; template names are paths without it.
const Ext = ".tmpl"

// Load reads every template file from the built-in tree and, when dir is not
// empty, from dir, whose files replace built-in files of the same path. It
// returns template name (path without Ext) → text.
func Load(dir string) (map[string]string, error) {
	out := map[string]string{}
	if err := collect(Builtin(), out); err != nil {
		return nil, fmt.Errorf("built-in templates: %w", err)
	}
	if dir != "" {
		fi, err := os.Stat(dir)
		if err != nil {
			return nil, fmt.Errorf("template directory %s: %w (check --templates)", dir, err)
		}
		if !fi.IsDir() {
			return nil, fmt.Errorf("template directory %s is not a directory (check --templates)", dir)
		}
		if err := collect(os.DirFS(dir), out); err != nil {
			return nil, fmt.Errorf("template directory %s: %w", dir, err)
		}
	}
	return out, nil
}

func collect(fsys fs.FS, out map[string]string) error {
	return fs.WalkDir(fsys, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() || !strings.HasSuffix(p, Ext) {
			return nil
		}
		b, err := fs.ReadFile(fsys, p)
		if err != nil {
			return fmt.Errorf("read %s: %w", p, err)
		}
		// One trailing newline is the file's, not the template's: drop it so
		// snippets compose line by line.
		out[strings.TrimSuffix(p, Ext)] = strings.TrimSuffix(string(b), "\n")
		return nil
	})
}

// Names returns the sorted template names of a loaded set.
func Names(set map[string]string) []string {
	out := make([]string, 0, len(set))
	for k := range set {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// Roles lists the role names that have templates (directories under roles/).
func Roles(set map[string]string) []string {
	seen := map[string]bool{}
	var out []string
	for k := range set {
		if rest, ok := strings.CutPrefix(k, "roles/"); ok {
			r, _, _ := strings.Cut(rest, "/")
			if !seen[r] {
				seen[r] = true
				out = append(out, r)
			}
		}
	}
	sort.Strings(out)
	return out
}
