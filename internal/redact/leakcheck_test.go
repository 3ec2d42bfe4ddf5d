package redact

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/netkick/netkick/internal/testenv"
)

// TestLeakcheck: scripts/leakcheck.sh, which scripts/test.sh runs over the
// test suite's output, fails on each kind of secret and passes redacted lines.
func TestLeakcheck(t *testing.T) {
	bash := testenv.RequireProgram(t, "bash")
	script, err := filepath.Abs("../../scripts/leakcheck.sh")
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name, log string
		leak      bool
	}{
		{"redacted access line", `msg=access stage=kickstart path="/ks/52:54:00:00:00:01?token=REDACTED" status=200`, false},
		{"build token in a URL", `inst.ks=http://192.0.2.1:8080/ks/52:54:00:00:00:01?token=0123456789abcdef0123456789abcdef`, true},
		{"API token", `token nk_0123456789abcdef0123456789abcdef0123456789abcdef made`, true},
		{"bearer header", `Authorization: Bearer 0123456789abcdef0123456789abcdef`, true},
		{"admin token notice", "netkick: admin token created in x (0600):\n0123456789abcdef0123456789abcdef0123456789abcdef", true},
		{"sha-512 crypt hash", `rootpw --iscrypted $6$saltsalt$` + strings.Repeat("a", 86), true},
		{"plain words", "ok  \tgithub.com/netkick/netkick/httpd\t10.6s", false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := filepath.Join(t.TempDir(), "log")
			if err := os.WriteFile(p, []byte(tc.log+"\n"), 0o600); err != nil {
				t.Fatal(err)
			}
			out, err := exec.Command(bash, script, p).CombinedOutput()
			if leaked := err != nil; leaked != tc.leak {
				t.Fatalf("leakcheck on %q: failed %v, want %v\n%s", tc.log, leaked, tc.leak, out)
			}
			if tc.leak && strings.Contains(string(out), "0123456789abcdef0123456789abcdef") {
				t.Fatalf("leakcheck repeats the secret it found:\n%s", out)
			}
		})
	}
}
