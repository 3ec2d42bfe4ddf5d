package httpd

import (
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"testing"

	"github.com/netkick/netkick/inventory"
	"github.com/netkick/netkick/inventory/invtest"
	"github.com/netkick/netkick/kickstart"
)

// TestStoreFailures: with the store gone, /healthz says degraded (503) and
// names the failure, and a kickstart request is a 503 with Retry-After
// (the fetch can be neither checked nor recorded), never a 404 that would
// tell the installer the host does not exist.
func TestStoreFailures(t *testing.T) {
	r, err := kickstart.New(kickstart.Options{})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name       string
		store      inventory.Store
		path       string
		wantStatus int
		wantBody   string
	}{
		{"healthy store", invtest.Empty(t), "/healthz", http.StatusOK, "ok"},
		{"lost store", invtest.Broken{Err: errors.New("connection refused")}, "/healthz", http.StatusServiceUnavailable, "degraded: inventory store unreachable: connection refused"},
		{"metrics, healthy store", invtest.Empty(t), "/metrics", http.StatusOK, "netkick_store_up 1\n"},
		{"metrics, lost store", invtest.Broken{Err: errors.New("connection refused")}, "/metrics", http.StatusOK, "netkick_store_up 0\n"},
		{"kickstart, unknown host", invtest.Empty(t), "/ks/52:54:00:00:00:01?token=x", http.StatusNotFound, ""},
		{"kickstart, lost store", invtest.Broken{Err: errors.New("connection refused")}, "/ks/52:54:00:00:00:01?token=x", http.StatusServiceUnavailable, "the inventory store is unreachable"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, err := New(Options{Store: tc.store, Renderer: r, AdminToken: testToken, Logger: slog.New(slog.NewTextHandler(testWriter{t}, nil))})
			if err != nil {
				t.Fatal(err)
			}
			rec := s.do(call{method: "GET", path: tc.path})
			if rec.Code != tc.wantStatus || !strings.Contains(rec.Body.String(), tc.wantBody) {
				t.Fatalf("GET %s: %d %q; want %d containing %q", tc.path, rec.Code, rec.Body.String(), tc.wantStatus, tc.wantBody)
			}
			if ra := rec.Header().Get("Retry-After"); (rec.Code == http.StatusServiceUnavailable && strings.HasPrefix(tc.path, "/ks/")) != (ra != "") {
				t.Errorf("GET %s: %d with Retry-After %q; want one exactly on a refused kickstart", tc.path, rec.Code, ra)
			}
		})
	}
}
