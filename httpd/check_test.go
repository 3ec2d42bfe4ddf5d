package httpd

import (
	"context"
	"encoding/json"
	"net/http"
	"testing"

	"github.com/netkick/netkick/provision/check"
)

func TestCheckEndpoint(t *testing.T) {
	s, _ := newTestServer(t)
	if rec := s.do(call{method: "GET", path: "/api/v1/check"}); rec.Code != http.StatusUnauthorized {
		t.Fatalf("without the admin token: %d", rec.Code)
	}
	if rec := s.do(call{method: "GET", path: "/api/v1/check", auth: true}); rec.Code != http.StatusNotImplemented {
		t.Fatalf("without Options.Check: %d %s", rec.Code, rec.Body)
	}
	for _, tc := range []struct {
		name     string
		problems []check.Problem
		ok       bool
	}{
		{"nothing wrong", nil, true},
		{"one problem", []check.Problem{{Check: "token-file", Subject: "/d/admin.token", Problem: "mode 0644", Fix: "chmod 600 /d/admin.token"}}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s.opts.Check = func(context.Context) []check.Problem { return tc.problems }
			rec := s.do(call{method: "GET", path: "/api/v1/check", auth: true})
			var res CheckResult
			if err := json.Unmarshal(rec.Body.Bytes(), &res); err != nil || rec.Code != http.StatusOK {
				t.Fatalf("%d %v: %s", rec.Code, err, rec.Body)
			}
			if res.OK != tc.ok || len(res.Problems) != len(tc.problems) || res.Problems == nil {
				t.Fatalf("%+v (body %s)", res, rec.Body)
			}
		})
	}
}
