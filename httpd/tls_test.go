package httpd

import (
	"crypto/tls"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
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
