package main

import (
	"testing"
)

// TestDemoSummary: serve --demo says per host its OS, roles and layout,
// and a02 has two disks.
func TestDemoSummary(t *testing.T) {
	d, err := decodeDump(demoYAML)
	if err != nil {
		t.Fatal(err)
	}
	ps := demoProfiles()
	want := map[string]string{
		"a01": "centos 5.3, roles lvs-director, layout home-opt on 300G (netkick layout plan home-opt --disk 300G)",
		"a02": "centos 5.3, roles lvs-director, layout home-opt on 500G+1T (netkick layout plan home-opt --disk 500G --disk 1T)",
		"b01": "rocky 9.4, roles lvs-real-server, layout home-opt on 200G (netkick layout plan home-opt --disk 200G)",
		"b02": "centos 7.9, roles lvs-real-server, layout home-opt on 600G (netkick layout plan home-opt --disk 600G)",
	}
	if len(d.Hosts) != len(want) {
		t.Fatalf("demo has %d hosts", len(d.Hosts))
	}
	for i := range d.Hosts {
		h := &d.Hosts[i]
		if got := demoSummary(h, ps[h.Profile]); got != want[h.Hostname] {
			t.Errorf("%s: %q\nwant %q", h.Hostname, got, want[h.Hostname])
		}
	}
	if _, ok := ps["rocky-8.10"]; !ok {
		t.Errorf("the demo has no EL8 profile")
	}
}
