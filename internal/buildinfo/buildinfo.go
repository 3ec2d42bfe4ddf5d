// Package buildinfo says which netkick binary this is: its version, commit
// and build date, taken from the linker flags the packaging script sets
// (-X main.version=… -X main.commit=… -X main.date=…) and, where those are
// empty, from what the Go toolchain recorded in the binary (the module
// version of `go install …@v1.2.3`, the VCS revision and time of a build in
// a git checkout).
package buildinfo

import (
	"fmt"
	"runtime"
	"runtime/debug"
)

// Unknown is shown for a field neither the linker flags nor the toolchain set.
const Unknown = "unknown"

// Info identifies one build.
type Info struct {
	Version   string `json:"version"`
	Commit    string `json:"commit"`
	Date      string `json:"date"`
	Modified  bool   `json:"modified,omitempty"` // built from a checkout with uncommitted changes
	GoVersion string `json:"go"`
	Platform  string `json:"platform"` // GOOS/GOARCH
}

// Read combines the linker-flag values with the running binary's build info.
func Read(version, commit, date string) Info {
	bi, _ := debug.ReadBuildInfo()
	i := Resolve(version, commit, date, bi)
	i.Platform = runtime.GOOS + "/" + runtime.GOARCH
	if i.GoVersion == "" {
		i.GoVersion = runtime.Version()
	}
	return i
}

// Resolve decides each field: a linker flag wins ("dev" counts as unset for
// the version), then the build info (bi may be nil), then "dev" for the
// version and Unknown for the rest.
func Resolve(version, commit, date string, bi *debug.BuildInfo) Info {
	i := Info{Version: version, Commit: commit, Date: date}
	if i.Version == "dev" {
		i.Version = ""
	}
	var vcsModified bool
	if bi != nil {
		i.GoVersion = bi.GoVersion
		if i.Version == "" && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
			i.Version = bi.Main.Version
		}
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				if i.Commit == "" {
					i.Commit = s.Value
				}
			case "vcs.time":
				if i.Date == "" {
					i.Date = s.Value
				}
			case "vcs.modified":
				vcsModified = s.Value == "true"
			}
		}
		// The toolchain's "modified" describes its own revision only.
		i.Modified = vcsModified && commit == ""
	}
	if i.Version == "" {
		i.Version = "dev"
	}
	if i.Commit == "" {
		i.Commit = Unknown
	}
	if i.Date == "" {
		i.Date = Unknown
	}
	return i
}

// String is the one-line form `netkick --version` prints.
func (i Info) String() string {
	c := i.Commit
	if len(c) > 12 {
		c = c[:12]
	}
	if i.Modified {
		c += "+dirty"
	}
	return fmt.Sprintf("%s (commit %s, built %s)", i.Version, c, i.Date)
}
