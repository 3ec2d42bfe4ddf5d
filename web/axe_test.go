package web_test

import (
	"archive/tar"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/netkick/netkick/internal/testenv"
)

// axeVersion is the axe-core release the accessibility checks run (npm
// provides it to the tests only; the page itself ships no third-party code).
const axeVersion = "4.14.1"

// axeSource returns axe.min.js: from the user's cache directory, or fetched
// once with `npm pack axe-core@axeVersion` and kept there. Without npm, or
// when the registry cannot be reached, the test is skipped (fails under CI).
func axeSource(t *testing.T) string {
	t.Helper()
	npm := testenv.RequireProgram(t, "npm")
	cache, err := os.UserCacheDir()
	if err != nil {
		cache = os.TempDir()
	}
	dir := filepath.Join(cache, "netkick-test", "axe-core-"+axeVersion)
	path := filepath.Join(dir, "axe.min.js")
	if b, err := os.ReadFile(path); err == nil {
		return string(b)
	}
	tmp := t.TempDir()
	cmd := exec.Command(npm, "pack", "--silent", "--pack-destination", tmp, "axe-core@"+axeVersion)
	cmd.Dir = tmp
	if out, err := cmd.CombinedOutput(); err != nil {
		testenv.Missing(t, fmt.Sprintf("npm pack axe-core@%s: %v\n%s(check that the npm registry is reachable)", axeVersion, err, out))
		return ""
	}
	src, err := untarFile(filepath.Join(tmp, "axe-core-"+axeVersion+".tgz"), "package/axe.min.js")
	if err != nil {
		t.Fatalf("axe-core@%s from npm: %v", axeVersion, err)
	}
	if err := os.MkdirAll(dir, 0o755); err == nil {
		part := path + ".part"
		if os.WriteFile(part, src, 0o644) == nil {
			os.Rename(part, path)
		}
	}
	return string(src)
}

// untarFile returns one file of a .tgz.
func untarFile(tgz, name string) ([]byte, error) {
	f, err := os.Open(tgz)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	z, err := gzip.NewReader(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", tgz, err)
	}
	tr := tar.NewReader(z)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("%s holds no %s", tgz, name)
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", tgz, err)
		}
		if h.Name == name {
			return io.ReadAll(io.LimitReader(tr, 16<<20))
		}
	}
}

// axeRules are the rule sets run: WCAG 2.1 A and AA, and axe's best practices.
const axeRules = `{runOnly: {type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"]}}`

// axeViolation is one rule axe-core found broken, with (some of) the elements.
type axeViolation struct {
	ID, Impact, Help string
	Nodes            []string
}

// runAxe runs axe-core (injected once per page) on the page the browser shows.
func runAxe(t *testing.T, ctx context.Context, src string) []axeViolation {
	t.Helper()
	if !get(t, ctx, chromedp.Evaluate[bool](`typeof axe === "object"`)) {
		get(t, ctx, chromedp.Evaluate[bool](src+"\n;true"))
	}
	return get(t, ctx, chromedp.Evaluate[[]axeViolation](`axe.run(document, `+axeRules+`).then(r => r.violations.map(v => ({
		id: v.id, impact: v.impact || "", help: v.help, nodes: v.nodes.slice(0, 8).map(n => n.target.join(" "))})))`, chromedp.EvalAwaitPromise))
}

// checkAxe fails on every serious or critical violation on the page,
// naming the rule and the elements; the others are logged.
func checkAxe(t *testing.T, ctx context.Context, src, page string) {
	t.Helper()
	for _, v := range runAxe(t, ctx, src) {
		msg := fmt.Sprintf("%s: axe %s (%s): %s: %s", page, v.ID, v.Impact, v.Help, strings.Join(v.Nodes, ", "))
		if v.Impact == "serious" || v.Impact == "critical" {
			t.Error(msg)
		} else {
			t.Log(msg)
		}
	}
}
