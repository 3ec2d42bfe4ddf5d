package main

import (
	"debug/macho"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// TestCrossBuildDarwin: the remote CLI builds for an admin's Mac. The rig,
// IPVS and other Linux-only code sit behind build tags; this catches a new
// Linux-only import before a release does.
func TestCrossBuildDarwin(t *testing.T) {
	for _, c := range []struct {
		arch string
		cpu  macho.Cpu
	}{{"arm64", macho.CpuArm64}, {"amd64", macho.CpuAmd64}} {
		t.Run(c.arch, func(t *testing.T) {
			bin := filepath.Join(t.TempDir(), "netkick")
			cmd := exec.Command("go", "build", "-o", bin, ".")
			cmd.Env = append(os.Environ(), "GOOS=darwin", "GOARCH="+c.arch, "CGO_ENABLED=0")
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("GOOS=darwin GOARCH=%s go build ./cmd/netkick: %v\n%s", c.arch, err, out)
			}
			f, err := macho.Open(bin)
			if err != nil {
				t.Fatalf("the darwin build is not a Mach-O file: %v", err)
			}
			defer f.Close()
			if f.Cpu != c.cpu || f.Type != macho.TypeExec {
				t.Fatalf("darwin/%s build: cpu %v, type %v; want %v executable", c.arch, f.Cpu, f.Type, c.cpu)
			}
		})
	}
}
