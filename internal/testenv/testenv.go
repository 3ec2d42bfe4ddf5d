// Package testenv decides, for tests, whether a missing prerequisite (a
// program, root, a kernel feature) skips the test (by hand) or fails it
// (under CI=true, where a skipped test proves nothing).
package testenv

import (
	"os"
	"os/exec"
	"testing"
)

// CI reports whether the tests run under CI (CI=true).
func CI() bool { return os.Getenv("CI") == "true" }

// Missing skips the test with reason, or fails it under CI.
func Missing(t testing.TB, reason string) {
	t.Helper()
	if CI() {
		t.Fatalf("prerequisite missing under CI: %s", reason)
	}
	t.Skipf("skipped: %s", reason)
}

// RequireRoot needs uid 0 (network namespaces, mounts, raw sockets).
func RequireRoot(t testing.TB) {
	t.Helper()
	if os.Geteuid() != 0 {
		Missing(t, "needs root")
	}
}

// RequireProgram needs each named program on PATH and returns the path of the first.
func RequireProgram(t testing.TB, names ...string) string {
	t.Helper()
	first := ""
	for _, n := range names {
		p, err := exec.LookPath(n)
		if err != nil {
			Missing(t, n+" is not installed (scripts/deps.sh installs it)")
			return ""
		}
		if first == "" {
			first = p
		}
	}
	return first
}

// RequireFile needs a file to exist (e.g. a boot ROM from a Debian package).
func RequireFile(t testing.TB, path string) {
	t.Helper()
	if _, err := os.Stat(path); err != nil {
		Missing(t, path+" is missing (scripts/deps.sh installs it)")
	}
}
