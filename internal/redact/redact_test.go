package redact

import (
	"strings"
	"testing"
)

func TestTarget(t *testing.T) {
	cases := []struct {
		name, path, query, want string
	}{
		{"no query", "/ks/52:54:00:00:00:01", "", "/ks/52:54:00:00:00:01"},
		{"build token", "/ks/52:54:00:00:00:01", "token=s3cr3t", "/ks/52:54:00:00:00:01?token=REDACTED"},
		{"token among others", "/boot.ipxe", "mac=52-54-00-00-00-01&token=s3cr3t&platform=efi", "/boot.ipxe?mac=52-54-00-00-00-01&token=REDACTED&platform=efi"},
		{"upper case key", "/x", "TOKEN=s3cr3t", "/x?TOKEN=REDACTED"},
		{"escaped key", "/x", "to%6Ben=s3cr3t", "/x?to%6Ben=REDACTED"},
		{"password", "/x", "root_password=s3cr3t", "/x?root_password=REDACTED"},
		{"secret key without value", "/x", "token", "/x?REDACTED"},
		{"bad escape", "/x", "a%zz=s3cr3t", "/x?REDACTED"},
		{"a flag named like a secret", "/api/v1/export", "secrets=1", "/api/v1/export?secrets=REDACTED"},
		{"empty pieces kept", "/x", "a=1&&b=2", "/x?a=1&&b=2"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := Target(tc.path, tc.query); got != tc.want {
				t.Fatalf("Target(%q, %q) = %q, want %q", tc.path, tc.query, got, tc.want)
			}
		})
	}
}

func TestURL(t *testing.T) {
	cases := []struct{ name, in, want string }{
		{"kickstart URL", "http://192.0.2.1:8080/ks/52:54:00:00:00:01?token=s3cr3t", "http://192.0.2.1:8080/ks/52:54:00:00:00:01?token=REDACTED"},
		{"userinfo password", "http://u:pw@192.0.2.1/x", "http://u:REDACTED@192.0.2.1/x"},
		{"not a URL", "http://[::1", Mark},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := URL(tc.in); got != tc.want {
				t.Fatalf("URL(%q) = %q, want %q", tc.in, got, tc.want)
			}
		})
	}
}

// FuzzQuery: whatever a client sends, the value of a token parameter never
// survives redaction.
func FuzzQuery(f *testing.F) {
	f.Add("token=abc&mac=1")
	f.Add("a%zz=1&token=x")
	f.Fuzz(func(t *testing.T, q string) {
		out := Query(q + "&token=SECRETVALUE")
		if strings.Contains(out, "SECRETVALUE") {
			t.Fatalf("Query(%q) = %q keeps the token", q, out)
		}
	})
}

func TestText(t *testing.T) {
	cases := []struct{ name, in, want string }{
		{"plain words", "host a01 (52:54:00:00:00:01): version 7.9 is not a version", "host a01 (52:54:00:00:00:01): version 7.9 is not a version"},
		{"quoted URL with a password", `profile p: install_url "ftp://u:s3cr3t@mirror/os": want http://`, `profile p: install_url "ftp://u:REDACTED@mirror/os": want http://`},
		{"URL with a token", "Get http://192.0.2.1/ks/x?token=s3cr3t: refused", "Get http://192.0.2.1/ks/x?token=REDACTED: refused"},
		{"path and query", "GET /ks/52:54:00:00:00:01?mac=1&token=s3cr3t failed", "GET /ks/52:54:00:00:00:01?mac=1&token=REDACTED failed"},
		{"key=value", "refused: password=s3cr3t, user=admin", "refused: password=REDACTED, user=admin"},
		{"key=value with a question mark", "password=s3cr3t?x", "password=REDACTED"},
		{"white space kept", "a  b\tc\n", "a  b\tc\n"},
		{"unparsable URL replaced whole", `"http://[::1%zz" s3cr3t`, `"` + Mark + `" s3cr3t`},
		{"empty", "", ""},
		{"URLs without secrets left as written", "want http://, https:// or nfs:", "want http://, https:// or nfs:"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := Text(tc.in); got != tc.want {
				t.Fatalf("Text(%q) = %q, want %q", tc.in, got, tc.want)
			}
		})
	}
}

// FuzzText: whatever an error says, a token given as a URL's or a
// key=value's value never survives.
func FuzzText(f *testing.F) {
	f.Add("refused ")
	f.Add(`"x `)
	f.Fuzz(func(t *testing.T, s string) {
		for _, tail := range []string{" token=SECRETVALUE", " http://h/x?token=SECRETVALUE", ` "http://u:SECRETVALUE@h/"`} {
			if out := Text(s + tail); strings.Contains(out, "SECRETVALUE") {
				t.Fatalf("Text(%q) = %q keeps the secret", s+tail, out)
			}
		}
	})
}
