package boot

import (
	"errors"
	"path"
	"strings"
	"testing"
)

func TestCleanPath(t *testing.T) {
	tests := []struct {
		name, in, want string
		refused        bool
	}{
		{"plain file", "pxelinux.0", "pxelinux.0", false},
		{"nested file", "centos-5.3/vmlinuz", "centos-5.3/vmlinuz", false},
		{"generated config", "pxelinux.cfg/01-52-54-00-00-a0-01", "pxelinux.cfg/01-52-54-00-00-a0-01", false},
		{"dot elements dropped", "./a/./b", "a/b", false},
		{"double slash collapsed", "a//b", "a/b", false},
		{"trailing slash", "dir/", "dir", false},
		{"literal percent escape is just a name", "%2e%2e/etc/passwd", "%2e%2e/etc/passwd", false},
		{"dots inside a name", "a..b", "a..b", false},
		{"empty", "", "", true},
		{"root itself", ".", "", true},
		{"root via dots", "./", "", true},
		{"parent", "..", "", true},
		{"parent prefix", "../etc/passwd", "", true},
		{"parent in the middle", "a/../../etc/passwd", "", true},
		{"parent that would stay inside", "a/../b", "", true},
		{"parent at the end", "a/..", "", true},
		{"absolute", "/etc/passwd", "", true},
		{"absolute root", "/", "", true},
		{"backslash parent", `..\etc\passwd`, "", true},
		{"backslash separator", `a\b`, "", true},
		{"NUL truncation", "pxelinux.0\x00/../../etc/passwd", "", true},
		{"newline", "a\nb", "", true},
		{"DEL", "a\x7fb", "", true},
		{"too long", strings.Repeat("a", MaxPathLen+1), "", true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := CleanPath(tc.in)
			if tc.refused {
				if err == nil || !errors.Is(err, ErrBadPath) {
					t.Fatalf("CleanPath(%q) = %q, %v; want ErrBadPath", tc.in, got, err)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("CleanPath(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
			}
		})
	}
}

// FuzzCleanPath checks the resolver's promise for any input: an accepted name
// is relative, clean, has no '..' element, no backslash or control byte, and
// cleaning it again changes nothing.
func FuzzCleanPath(f *testing.F) {
	for _, s := range []string{"pxelinux.0", "../x", "a/../b", "/etc/passwd", `..\x`, "a\x00b", "./a//b/", "....", ".../...", "a/./../.."} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		got, err := CleanPath(in)
		if err != nil {
			if got != "" {
				t.Fatalf("refused %q but returned %q", in, got)
			}
			return
		}
		if got == "" || got == "." || strings.HasPrefix(got, "/") || path.Clean(got) != got {
			t.Fatalf("CleanPath(%q) = %q: not a clean relative name", in, got)
		}
		for _, el := range strings.Split(got, "/") {
			if el == ".." || el == "." || el == "" {
				t.Fatalf("CleanPath(%q) = %q: has element %q", in, got, el)
			}
		}
		if strings.ContainsAny(got, "\\\x00") {
			t.Fatalf("CleanPath(%q) = %q: has a backslash or NUL", in, got)
		}
		for i := 0; i < len(got); i++ {
			if got[i] < 0x20 || got[i] == 0x7f {
				t.Fatalf("CleanPath(%q) = %q: control byte", in, got)
			}
		}
		if again, err := CleanPath(got); err != nil || again != got {
			t.Fatalf("CleanPath not idempotent on %q: %q, %v", got, again, err)
		}
	})
}

func TestTFTPName(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{"GRUB's absolute prefix", "/grub/grub.cfg", "grub/grub.cfg"},
		{"several slashes", "//etc/passwd", "etc/passwd"},
		{"relative name unchanged", "pxelinux.0", "pxelinux.0"},
		{"parent still there for CleanPath to refuse", "/../secret", "../secret"},
		{"only slashes", "/", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := TFTPName(tc.in); got != tc.want {
				t.Fatalf("TFTPName(%q) = %q, want %q", tc.in, got, tc.want)
			}
		})
	}
}
