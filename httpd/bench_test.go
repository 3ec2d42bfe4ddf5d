package httpd

import (
	"net/http/httptest"
	"testing"
)

// BenchmarkKickstart fetches one building host's kickstart, as an installer
// retrying would, from parallel clients.
func BenchmarkKickstart(b *testing.B) {
	s, _ := newTestServer(&testing.T{})
	h := s.Handler()
	url := "/ks/52:54:00:4e:4b:01?token=" + testBuildToken
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			req := httptest.NewRequest("GET", url, nil)
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Code != 200 {
				b.Fatal(rec.Code, rec.Body.String())
			}
		}
	})
}
