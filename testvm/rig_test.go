package testvm

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/netkick/netkick/internal/testenv"
)

// buildNetkick builds a static netkick binary for the server and the guests.
func buildNetkick(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("NETKICK_TESTVM_NETKICK"); p != "" {
		return p // a prebuilt static binary
	}
	out := filepath.Join(t.TempDir(), "netkick")
	cmd := exec.Command("go", "build", "-o", out, "../cmd/netkick")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build ./cmd/netkick: %v: %s", err, b)
	}
	return out
}

// buildStormclient builds bench/stormclient, the simulated PXE client the
// rig checks against the real machines.
func buildStormclient(t *testing.T) string {
	t.Helper()
	out := filepath.Join(t.TempDir(), "stormclient")
	if b, err := exec.Command("go", "build", "-o", out, "../bench/stormclient").CombinedOutput(); err != nil {
		t.Fatalf("go build ./bench/stormclient: %v: %s", err, b)
	}
	return out
}

// TestScenarios boots every scenario (or those named in
// NETKICK_TESTVM_SCENARIOS, comma-separated) through netkick.
func TestScenarios(t *testing.T) {
	testenv.RequireRoot(t)
	if m := Prerequisites(); len(m) > 0 {
		testenv.Missing(t, "the rig needs "+strings.Join(m, ", "))
	}
	var names []string
	if v := os.Getenv("NETKICK_TESTVM_SCENARIOS"); v != "" {
		names = strings.Split(v, ",")
	}
	scs, err := SelectScenarios(Scenarios(), names)
	if err != nil {
		t.Fatal(err)
	}
	opts := Options{Netkick: buildNetkick(t), Stormclient: buildStormclient(t), Out: testWriter{t}, Timeout: 5 * time.Minute,
		Direct: os.Getenv("NETKICK_TESTVM_DIRECT") == "1"}
	results, err := Run(context.Background(), opts, scs)
	if err != nil {
		t.Fatal(err)
	}
	for _, res := range results {
		t.Run(res.Scenario.Name, func(t *testing.T) {
			if !res.Pass {
				t.Errorf("%s failed at %s: %s", res.Scenario.Name, res.Failed, strings.Join(res.Problems, "; "))
			}
		})
	}
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}
