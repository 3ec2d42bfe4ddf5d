package buildinfo

import (
	"runtime"
	"runtime/debug"
	"testing"
)

func TestResolve(t *testing.T) {
	vcs := &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Path: "github.com/netkick/netkick", Version: "(devel)"},
		Settings: []debug.BuildSetting{{Key: "vcs.revision", Value: "0123456789abcdef0123"}, {Key: "vcs.time", Value: "2026-11-30T10:00:00Z"}, {Key: "vcs.modified", Value: "true"}}}
	installed := &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Path: "github.com/netkick/netkick", Version: "v1.4.0"}}
	cases := []struct {
		name                  string
		version, commit, date string
		bi                    *debug.BuildInfo
		want                  Info
	}{
		{"linker flags win", "1.5.0", "feedface", "2026-12-01T08:00:00Z", vcs,
			Info{Version: "1.5.0", Commit: "feedface", Date: "2026-12-01T08:00:00Z", GoVersion: "go1.26.8"}},
		{"git checkout build", "dev", "", "", vcs,
			Info{Version: "dev", Commit: "0123456789abcdef0123", Date: "2026-11-30T10:00:00Z", Modified: true, GoVersion: "go1.26.8"}},
		{"go install module@version", "dev", "", "", installed,
			Info{Version: "v1.4.0", Commit: Unknown, Date: Unknown, GoVersion: "go1.26.8"}},
		{"version flag only: commit and date from vcs", "1.5.0", "", "", vcs,
			Info{Version: "1.5.0", Commit: "0123456789abcdef0123", Date: "2026-11-30T10:00:00Z", Modified: true, GoVersion: "go1.26.8"}},
		{"no build info", "", "", "", nil, Info{Version: "dev", Commit: Unknown, Date: Unknown}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := Resolve(c.version, c.commit, c.date, c.bi); got != c.want {
				t.Errorf("got  %+v\nwant %+v", got, c.want)
			}
		})
	}
}

func TestString(t *testing.T) {
	cases := []struct {
		name string
		in   Info
		want string
	}{
		{"release", Info{Version: "1.5.0", Commit: "0123456789abcdef0123", Date: "2026-12-01T08:00:00Z"}, "1.5.0 (commit 0123456789ab, built 2026-12-01T08:00:00Z)"},
		{"dirty checkout", Info{Version: "dev", Commit: "feedface", Date: Unknown, Modified: true}, "dev (commit feedface+dirty, built unknown)"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := c.in.String(); got != c.want {
				t.Errorf("got %q, want %q", got, c.want)
			}
		})
	}
}

// TestRead: in a real binary (this test's) the toolchain's facts come through.
func TestRead(t *testing.T) {
	i := Read("", "", "")
	if i.GoVersion != runtime.Version() || i.Platform != runtime.GOOS+"/"+runtime.GOARCH || i.Version == "" {
		t.Fatalf("Read: %+v", i)
	}
}
