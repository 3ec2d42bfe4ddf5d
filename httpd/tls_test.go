package httpd

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestAdminTLSSplit: with AdminTLS, the admin API and the web page answer
// only over TLS (plain HTTP: the API is refused naming the HTTPS URL, the
// page redirects there), while what installers fetch stays on plain HTTP.
func TestAdminTLSSplit(t *testing.T) {
	s, _ := newTestServerWith(t, func(o *Options) { o.AdminTLS = true })
	s.httpsPort.Store(8443) // as ServeTLS records it
	const mac = "52:54:00:4e:4b:01"
	for _, tc := range []struct {
		name, method, path string
		tls, auth          bool
		status             int
		want               string // in the body, or the Location of a redirect
	}{
		{name: "API over plain HTTP refused with the HTTPS URL", method: "GET", path: "/api/v1/hosts", auth: true, status: 403, want: "https://boot.example.net:8443"},
		{name: "API over plain HTTP without a token: same refusal", method: "GET", path: "/api/v1/hosts", status: 403, want: "HTTPS only"},
		{name: "import over plain HTTP refused", method: "POST", path: "/api/v1/import", auth: true, status: 403, want: "HTTPS only"},
		{name: "API over TLS", method: "GET", path: "/api/v1/hosts", tls: true, auth: true, status: 200, want: "a01"},
		{name: "kickstart over plain HTTP", method: "GET", path: "/ks/" + mac + "?token=" + testBuildToken, status: 200, want: "%post"},
		{name: "install report over plain HTTP", method: "POST", path: "/api/v1/hosts/" + mac + "/built?token=" + testBuildToken, status: 200, want: "installed"},
		{name: "healthz over plain HTTP", method: "GET", path: "/healthz", status: 200, want: "ok"},
		{name: "metrics over plain HTTP", method: "GET", path: "/metrics", status: 200, want: "netkick_store_up"},
		{name: "web page over plain HTTP redirects", method: "GET", path: "/hosts?state=build", status: 308, want: "https://boot.example.net:8443/hosts?state=build"},
		{name: "web form over plain HTTP refused", method: "POST", path: "/login", status: 403, want: "https://boot.example.net:8443/"},
		{name: "web page over TLS", method: "GET", path: "/login", tls: true, status: 200, want: "<form"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req := httptest.NewRequest(tc.method, tc.path, nil)
			req.Host = "boot.example.net:8080"
			if tc.tls {
				req.TLS = &tls.ConnectionState{}
			}
			if tc.auth {
				req.Header.Set("Authorization", "Bearer "+testToken)
			}
			rec := httptest.NewRecorder()
			s.Handler().ServeHTTP(rec, req)
			got := rec.Body.String()
			if rec.Code == http.StatusPermanentRedirect {
				got = rec.Header().Get("Location")
			}
			if rec.Code != tc.status || !strings.Contains(got, tc.want) {
				t.Errorf("%s %s: %d %q; want %d with %q", tc.method, tc.path, rec.Code, got, tc.status, tc.want)
			}
		})
	}
}

// TestNoAdminTLS: without AdminTLS plain HTTP serves the API and the page
// as before.
func TestNoAdminTLS(t *testing.T) {
	s, _ := newTestServer(t)
	if rec := s.do(call{method: "GET", path: "/api/v1/hosts", auth: true}); rec.Code != 200 {
		t.Errorf("API: %d %s", rec.Code, rec.Body)
	}
	if rec := s.do(call{method: "GET", path: "/login"}); rec.Code != 200 {
		t.Errorf("login page: %d", rec.Code)
	}
}

// writeSelfSigned writes a self-signed certificate named cn and its key.
func writeSelfSigned(t *testing.T, certFile, keyFile, cn string) {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: cn},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), DNSNames: []string{cn}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &k.PublicKey, k)
	if err != nil {
		t.Fatal(err)
	}
	kd, err := x509.MarshalECPrivateKey(k)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kd}), 0o600); err != nil {
		t.Fatal(err)
	}
}

// TestCertificateReload: Reload picks up renewed files for new handshakes;
// files that do not load are an error naming them, and the old certificate stays.
func TestCertificateReload(t *testing.T) {
	dir := t.TempDir()
	cf, kf := filepath.Join(dir, "tls.crt"), filepath.Join(dir, "tls.key")
	writeSelfSigned(t, cf, kf, "old.example.net")
	c, err := LoadCertificate(cf, kf)
	if err != nil {
		t.Fatal(err)
	}
	served := func() string {
		got, err := c.TLSConfig().GetCertificate(&tls.ClientHelloInfo{})
		if err != nil {
			t.Fatal(err)
		}
		leaf, err := x509.ParseCertificate(got.Certificate[0])
		if err != nil {
			t.Fatal(err)
		}
		return leaf.Subject.CommonName
	}
	if got := served(); got != "old.example.net" {
		t.Fatalf("served %s", got)
	}
	writeSelfSigned(t, cf, kf, "new.example.net")
	if err := c.Reload(); err != nil {
		t.Fatal(err)
	}
	if got := served(); got != "new.example.net" {
		t.Fatalf("after reload served %s, want new.example.net", got)
	}
	if err := os.WriteFile(kf, bytes.Repeat([]byte("x"), 10), 0o600); err != nil {
		t.Fatal(err)
	}
	err = c.Reload()
	if err == nil || !strings.Contains(err.Error(), cf) || !strings.Contains(err.Error(), kf) {
		t.Fatalf("broken key: %v, want an error naming both files", err)
	}
	if got := served(); got != "new.example.net" {
		t.Errorf("after a failed reload served %s, want the previous one", got)
	}
	if _, err := LoadCertificate(filepath.Join(dir, "none.crt"), kf); err == nil || !strings.Contains(err.Error(), "none.crt") {
		t.Errorf("missing file: %v", err)
	}
}
