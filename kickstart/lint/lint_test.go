package lint

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestCheck(t *testing.T) {
	base := "url --url=http://x/\nrootpw --iscrypted $6$x$y\ntimezone --utc UTC\nautopart\n"
	tests := []struct {
		name, ks string
		want     string // substring of a finding; empty: no findings
	}{
		{"clean", base, ""},
		{"clean with %end", base + "%packages\n@core\n%end\n%post\necho\n%end\n", ""},
		{"mixed %end styles", base + "%packages\n@core\n%end\n%post\necho\n", "expects one style"},
		{"stray %end", base + "%end\n", "without an open section"},
		{"clear-text rootpw", strings.Replace(base, "--iscrypted $6$x$y", "hunter2", 1), "clear text"},
		{"unknown command", base + "rebot\n", `unknown command "rebot"`},
		{"include nobody writes", strings.Replace(base, "autopart\n", "%include /tmp/part.ks\n", 1), "no %pre section writes"},
		{"include written by pre", strings.Replace(base, "autopart\n", "%include /tmp/part.ks\n", 1) + "%pre\necho part / --size=1 > /tmp/part.ks\n", ""},
		{"no source", strings.Replace(base, "url --url=http://x/\n", "", 1), "no installation source"},
		{"no partitioning", strings.Replace(base, "autopart\n", "", 1), "no partitioning"},
		{"duplicate command", base + "timezone UTC\n", "given again"},
		{"repo may repeat", base + "repo --name=a --baseurl=x\nrepo --name=b --baseurl=y\n", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			fs, err := Check(strings.NewReader(tc.ks))
			if err != nil {
				t.Fatal(err)
			}
			var all []string
			for _, f := range fs {
				all = append(all, f.String())
			}
			got := strings.Join(all, "\n")
			if tc.want == "" && len(fs) != 0 || tc.want != "" && !strings.Contains(got, tc.want) {
				t.Fatalf("findings:\n%s\nwant %q", got, tc.want)
			}
		})
	}
}

// TestRenderedKickstartsAreClean lints every golden kickstart the renderer produces.
func TestRenderedKickstartsAreClean(t *testing.T) {
	files, _ := filepath.Glob("../testdata/*.ks")
	if len(files) == 0 {
		t.Fatal("no golden kickstarts found in ../testdata")
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			b, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			fs, err := Check(strings.NewReader(string(b)))
			if err != nil {
				t.Fatal(err)
			}
			if len(fs) != 0 {
				t.Fatalf("%v", fs)
			}
		})
	}
}
