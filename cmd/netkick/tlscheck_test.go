package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestTLSProblems: what `netkick check` says of the HTTPS setup.
func TestTLSProblems(t *testing.T) {
	now := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name string
		f    *tlsFacts
		want string // in the one problem; empty: none
	}{
		{name: "no HTTPS", f: nil},
		{name: "certificate without key", f: &tlsFacts{Cert: "/etc/netkick/tls.crt"}, want: "only one of tls_cert and tls_key"},
		{name: "key without certificate", f: &tlsFacts{Key: "/etc/netkick/tls.key"}, want: "only one of tls_cert and tls_key"},
		{name: "files that do not load", f: &tlsFacts{Cert: "a", Key: "b", LoadErr: "TLS certificate a with key b: no PEM"}, want: "no PEM; fix: point tls_cert"},
		{name: "expired", f: &tlsFacts{Cert: "a", Key: "b", NotAfter: now.Add(-time.Hour)}, want: "expired on 2026-12-01"},
		{name: "expires soon", f: &tlsFacts{Cert: "a", Key: "b", NotAfter: now.Add(13 * 24 * time.Hour)}, want: "expires on 2026-12-14; fix: renew it"},
		{name: "valid for long", f: &tlsFacts{Cert: "a", Key: "b", NotAfter: now.Add(90 * 24 * time.Hour)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ps := tlsProblems(tc.f, now)
			if tc.want == "" {
				if len(ps) != 0 {
					t.Fatalf("problems %v, want none", ps)
				}
				return
			}
			if len(ps) != 1 || !strings.Contains(ps[0].String(), tc.want) {
				t.Fatalf("problems %v, want one with %q", ps, tc.want)
			}
		})
	}
}

// TestReadTLSFacts reads a certificate made in the test, and names files
// that are not one.
func TestReadTLSFacts(t *testing.T) {
	pki := newTestPKI(t)
	f := readTLSFacts(serveConfig{TLSCert: pki.cert, TLSKey: pki.key})
	if f == nil || f.LoadErr != "" || time.Until(f.NotAfter) <= 0 || time.Until(f.NotAfter) > 2*time.Hour {
		t.Fatalf("facts %+v: want the test certificate's expiry, an hour ahead", f)
	}
	bad := filepath.Join(t.TempDir(), "bad.pem")
	if err := os.WriteFile(bad, []byte("not a certificate\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	f = readTLSFacts(serveConfig{TLSCert: bad, TLSKey: pki.key})
	if f == nil || !strings.Contains(f.LoadErr, bad) {
		t.Fatalf("facts %+v: want an error naming %s", f, bad)
	}
	if readTLSFacts(serveConfig{}) != nil {
		t.Error("no TLS configured gave facts")
	}
}
