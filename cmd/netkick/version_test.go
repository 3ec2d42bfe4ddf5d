package main

import (
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// TestVersionLdflags builds netkick the way scripts/package.sh does and checks
// that `netkick version` and `netkick --version` report what the flags set.
func TestVersionLdflags(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "netkick")
	ld := "-X main.version=9.8.7 -X main.commit=0123456789abcdef0123456789abcdef01234567 -X main.date=2026-12-01T08:00:00Z"
	if out, err := exec.Command("go", "build", "-ldflags", ld, "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	out := run(t, bin, "version")
	for _, want := range []string{"netkick 9.8.7\n", "commit:  0123456789abcdef0123456789abcdef01234567\n",
		"built:   2026-12-01T08:00:00Z\n", "go:      " + runtime.Version() + " " + runtime.GOOS + "/" + runtime.GOARCH + "\n"} {
		if !strings.Contains(out, want) {
			t.Errorf("netkick version lacks %q:\n%s", want, out)
		}
	}
	if got, want := run(t, bin, "--version"), "netkick 9.8.7 (commit 0123456789ab, built 2026-12-01T08:00:00Z)\n"; got != want {
		t.Errorf("netkick --version = %q, want %q", got, want)
	}
}
