package httpd

import (
	"net/http/httptest"
	"testing"
)

func BenchmarkKickstart(b *testing.B) {
	s, _ := newTestServer(&testing.T{})
	h := s.Handler()
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		req := httptest.NewRequest("GET", "/ks/52:54:00:4e:4b:01", nil)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != 200 {
			b.Fatal(rec.Code)
		}
	}
}
