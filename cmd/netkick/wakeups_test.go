package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestServeEnv(t *testing.T) {
	const want = "GODEBUG=" + awakeSchedtrace
	tests := []struct {
		name    string
		args    []string
		environ []string
		wantEnv []string
		wantOK  bool
	}{
		{"other command", []string{"netkick", "host", "list"}, []string{"PATH=/bin"}, nil, false},
		{"no command", []string{"netkick"}, nil, nil, false},
		{"serve adds GODEBUG", []string{"netkick", "serve"}, []string{"PATH=/bin"}, []string{"PATH=/bin", want}, true},
		{"serve keeps other settings", []string{"netkick", "serve", "--demo"}, []string{"GODEBUG=gctrace=1", "HOME=/root"},
			[]string{"GODEBUG=gctrace=1," + awakeSchedtrace, "HOME=/root"}, true},
		{"empty GODEBUG", []string{"netkick", "serve"}, []string{"GODEBUG="}, []string{want}, true},
		{"opt out with schedtrace=0", []string{"netkick", "serve"}, []string{"GODEBUG=schedtrace=0"}, nil, false},
		{"already re-executed", []string{"netkick", "serve"}, []string{"GODEBUG=http2debug=1," + awakeSchedtrace}, nil, false},
		{"duplicate GODEBUG: first wins, second dropped", []string{"netkick", "serve"}, []string{"GODEBUG=a=1", "GODEBUG=schedtrace=0"},
			[]string{"GODEBUG=a=1," + awakeSchedtrace}, true},
		{"serve as a flag value is not the command", []string{"netkick", "host", "add", "serve"}, nil, nil, false},
		{"global flags before serve", []string{"netkick", "--data", "/srv/nk", "serve"}, nil, []string{want}, true},
		{"global flag with = before serve", []string{"netkick", "--data=/srv/nk", "serve"}, nil, []string{want}, true},
		{"serve as a global flag's value is not the command", []string{"netkick", "--data", "serve", "host", "list"}, nil, nil, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			env, ok := serveEnv(tc.args, tc.environ)
			if ok != tc.wantOK || !slices.Equal(env, tc.wantEnv) {
				t.Errorf("serveEnv(%q, %q) = %q, %v; want %q, %v", tc.args, tc.environ, env, ok, tc.wantEnv, tc.wantOK)
			}
		})
	}
}

// TestServeReexecsAwake builds netkick, starts `serve`, and reads the
// running process's environment: the same PID (exec, not a child) now has the
// setting. `serve -h` must print its usage once (one exec, no loop).
func TestServeReexecsAwake(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "netkick")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	cmd := exec.Command(bin, "serve", "-h")
	cmd.Env = append(os.Environ(), "GODEBUG=")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("netkick serve -h: %v\n%s", err, out)
	}
	if n := strings.Count(string(out), "Usage:\n  netkick serve"); n != 1 {
		t.Fatalf("usage printed %d times, want 1:\n%s", n, out)
	}

	for _, tc := range []struct {
		name, godebug, want string
	}{
		{"default", "", "GODEBUG=" + awakeSchedtrace},
		{"opted out", "schedtrace=0", "GODEBUG=schedtrace=0"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var stderr strings.Builder
			srv := exec.Command(bin, "serve", "--data", t.TempDir(), "--http", "127.0.0.1:0", "--tftp", "off", "--log-level", "warn")
			srv.Env = append(slices.DeleteFunc(os.Environ(), func(kv string) bool { return strings.HasPrefix(kv, "GODEBUG=") }), "GODEBUG="+tc.godebug)
			srv.Stderr = &stderr
			if err := srv.Start(); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { srv.Process.Kill(); srv.Wait() })
			envFile := filepath.Join("/proc", strconv.Itoa(srv.Process.Pid), "environ")
			deadline := time.Now().Add(10 * time.Second)
			for {
				b, err := os.ReadFile(envFile)
				if err == nil && slices.Contains(strings.Split(string(b), "\x00"), tc.want) {
					return
				}
				if time.Now().After(deadline) {
					t.Fatalf("pid %d environment never had %q (read err %v); stderr:\n%s", srv.Process.Pid, tc.want, err, stderr.String())
				}
				time.Sleep(20 * time.Millisecond)
			}
		})
	}
}
