package kickstart

import (
	"context"
	"testing"
)

func BenchmarkRender(b *testing.B) {
	r, err := New(Options{})
	if err != nil {
		b.Fatal(err)
	}
	h := *demoHosts()[0]
	h.Profile = "centos-5.3"
	p := demoProfiles()[0]
	src := demoSource(&h, p)
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		if _, err := r.Kickstart(context.Background(), src, Request{Host: h.ID(), Server: "http://192.0.2.1:8080"}); err != nil {
			b.Fatal(err)
		}
	}
}
