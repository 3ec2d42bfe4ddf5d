package web

import "testing"

func TestSafeNext(t *testing.T) {
	for _, tc := range []struct{ name, in, want string }{
		{"a page", "/hosts/a01?tab=ipxe", "/hosts/a01?tab=ipxe"},
		{"empty", "", "/"},
		{"another site", "https://evil.example/", "/"},
		{"scheme-relative", "//evil.example/", "/"},
		{"backslash trick", "/\\evil.example", "/"},
		{"the login form itself", "/login?next=/", "/"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := safeNext(tc.in); got != tc.want {
				t.Errorf("safeNext(%q) = %q, want %q", tc.in, got, tc.want)
			}
		})
	}
}
