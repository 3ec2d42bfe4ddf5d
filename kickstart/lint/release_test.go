package lint

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/netkick/netkick/internal/testenv"
)

// releaseCases are kickstarts whose verdict depends on the release: want
// says whether that release's parser refuses or warns.
func releaseCases() []struct {
	name  string
	major int
	ks    string
	want  string // substring of netkick's finding; "" when the release accepts it
} {
	base := "url --url=http://x/\nrootpw --iscrypted $6$x$y\ntimezone --utc UTC\nautopart\n"
	return []struct {
		name  string
		major int
		ks    string
		want  string
	}{
		{"firewall --service on 5", 5, base + "firewall --enabled --service=ssh\n", "no --service option"},
		{"firewall --ssh on 5", 5, base + "firewall --enabled --ssh\n", ""},
		{"firewall --service on 6", 6, base + "firewall --enabled --service=ssh\n", ""},
		{"zerombr yes on 5", 5, base + "zerombr yes\n", "zerombr takes no argument"},
		{"zerombr yes on 7", 7, base + "zerombr yes\n", "zerombr takes no argument"},
		{"zerombr on 5", 5, base + "zerombr\n", ""},
		{"install on 7", 7, base + "install\n", ""},
		{"install on 8", 8, base + "install\n", "deprecated on RHEL 8"},
		{"install on 9", 9, base + "install\n", "removed in RHEL 9"},
		{"authconfig on 7", 7, base + "authconfig --enableshadow --passalgo=sha512\n", ""},
		{"authconfig on 8", 8, base + "authconfig --enableshadow --passalgo=sha512\n", "use authselect"},
		{"timezone --isUtc on 7", 7, strings.Replace(base, "timezone --utc UTC", "timezone UTC --isUtc", 1), ""},
		{"timezone --isUtc on 9", 9, strings.Replace(base, "timezone --utc UTC", "timezone UTC --isUtc", 1), "use --utc"},
		{"no %end on 5", 5, base + "%packages\n@core\n%post\necho\n", ""},
		{"no %end on 6", 6, base + "%packages\n@core\n%post\necho\n", "does not end with %end"},
		{"%end on 9", 9, base + "%packages\n@core\n%end\n%post\necho\n%end\n", ""},
	}
}

// TestCheckRelease: netkick's own checks flag exactly what the release refuses.
func TestCheckRelease(t *testing.T) {
	for _, tc := range releaseCases() {
		t.Run(tc.name, func(t *testing.T) {
			fs, err := CheckRelease(strings.NewReader(tc.ks), Release{Major: tc.major})
			if err != nil {
				t.Fatal(err)
			}
			var all []string
			for _, f := range fs {
				all = append(all, f.String())
			}
			got := strings.Join(all, "\n")
			if tc.want == "" && len(fs) != 0 || tc.want != "" && (!strings.Contains(got, tc.want) || Errors(fs) == 0) {
				t.Fatalf("findings %q, want %q", got, tc.want)
			}
		})
	}
}

// validatorForTest finds ksvalidator as the template matrix does (the
// environment, PATH, then shared/tools/pykickstart beside the repository).
func validatorForTest(t *testing.T) *Validator {
	t.Helper()
	wd, _ := os.Getwd()
	v, err := FindValidator(os.Getenv, CheckoutsBeside(filepath.Dir(filepath.Dir(wd)))...)
	if err != nil {
		testenv.Missing(t, err.Error())
	}
	return v
}

// TestCheckReleaseAgreesWithValidator runs the same cases through
// pykickstart's ksvalidator: where netkick finds an error, so does the
// validator, and where the release accepts the file, the validator is silent.
func TestCheckReleaseAgreesWithValidator(t *testing.T) {
	v := validatorForTest(t)
	dir := t.TempDir()
	for i, tc := range releaseCases() {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := filepath.Join(dir, strings.ReplaceAll(tc.name, " ", "_")+".ks")
			if err := os.WriteFile(f, []byte(tc.ks), 0o644); err != nil {
				t.Fatal(err)
			}
			ver := "RHEL" + string(rune('0'+tc.major))
			fs, err := v.Check(context.Background(), ver, f)
			if err != nil {
				t.Fatal(err)
			}
			if (len(fs) > 0) != (tc.want != "") {
				t.Fatalf("case %d: ksvalidator -v %s found %v; netkick expects a finding: %v", i, ver, fs, tc.want != "")
			}
		})
	}
}

func TestParseValidatorOutput(t *testing.T) {
	for _, tc := range []struct {
		name, out string
		want      []Finding
	}{
		{"accepted", "\nChecking kickstart file /tmp/a.ks\n\n", nil},
		{"error with line", "\nChecking kickstart file a.ks\n\nThe following problem occurred on line 12 of the kickstart file:\n\nunrecognized arguments: --service=ssh\n\n",
			[]Finding{{Line: 12, Severity: "error", Message: "ksvalidator: The following problem occurred on line 12 of the kickstart file: unrecognized arguments: --service=ssh"}}},
		{"deprecation", "Checking kickstart file a.ks\n\nIgnoring deprecated option on line 20:  The zerombr command no longer takes any options.\n",
			[]Finding{{Line: 20, Severity: "error", Message: "ksvalidator: Ignoring deprecated option on line 20:  The zerombr command no longer takes any options."}}},
		{"no line", "Checking kickstart file a.ks\nThe authconfig command will be deprecated, use authselect instead.\n",
			[]Finding{{Severity: "error", Message: "ksvalidator: The authconfig command will be deprecated, use authselect instead."}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := ParseValidatorOutput(tc.out)
			if len(got) != len(tc.want) {
				t.Fatalf("got %+v want %+v", got, tc.want)
			}
			for i := range got {
				if got[i] != tc.want[i] {
					t.Fatalf("got %+v\nwant %+v", got[i], tc.want[i])
				}
			}
		})
	}
}

func TestCheckoutsBeside(t *testing.T) {
	got := CheckoutsBeside("/work/wt/ks")
	want := []string{"/work/wt/shared/tools/pykickstart", "/work/shared/tools/pykickstart", "/shared/tools/pykickstart"}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Fatalf("got %v want %v", got, want)
	}
}

// TestFindValidatorEnv: a set NETKICK_KSVALIDATOR that names nothing usable
// is an error naming it, not a silent fall-through to PATH.
func TestFindValidatorEnv(t *testing.T) {
	_, err := FindValidator(func(string) string { return "/nonexistent/ksvalidator" })
	if err == nil || !strings.Contains(err.Error(), EnvValidator+"=/nonexistent/ksvalidator") {
		t.Fatalf("got %v", err)
	}
	dir := t.TempDir()
	_, err = FindValidator(func(string) string { return dir })
	if err == nil || !strings.Contains(err.Error(), "holds no pykickstart/parser.py") {
		t.Fatalf("got %v", err)
	}
}
