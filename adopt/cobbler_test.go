package adopt

import (
	"strings"
	"testing"
)

func TestCobblerGolden(t *testing.T) {
	r, err := ReadCobbler(mustRead(t, "testdata/cobbler/systems", "testdata/cobbler/get_systems.json"))
	if err != nil {
		t.Fatal(err)
	}
	out := render(t, r)
	golden(t, "cobbler.golden", out)
	if strings.Contains(out, "calvin") {
		t.Fatal("a power password reached the report")
	}
	i := hostByName(t, r, "db01.lab.example.net")
	if h := r.Dump.Hosts[i]; strings.Join(h.MACs, " ") != "52:54:00:0b:00:01 52:54:00:0b:01:01" || h.IP != "192.0.2.21" {
		t.Fatalf("db01 (bond of two NICs) = %+v", h)
	}
	if len(r.Dump.Hosts) != 6 {
		t.Fatalf("%d hosts, want 6", len(r.Dump.Hosts))
	}
}

func TestCobblerVariants(t *testing.T) {
	for _, tc := range []struct {
		name, conf string
		host       string
		macs, ip   string
		note       string
		err        string
	}{
		{name: "one record", conf: `{"name":"a1","interfaces":{"eth0":{"mac_address":"52:54:00:00:00:01","ip_address":"192.0.2.1"}}}`, host: "a1", macs: "52:54:00:00:00:01", ip: "192.0.2.1"},
		{name: "management interface first", conf: `{"name":"a1","interfaces":{"eth0":{"mac_address":"52:54:00:00:00:01"},"eth1":{"mac_address":"52:54:00:00:00:02","management":true}}}`, host: "a1", macs: "52:54:00:00:00:02 52:54:00:00:00:01"},
		{name: "dns name when no hostname", conf: `{"name":"x","interfaces":{"eth0":{"mac_address":"52:54:00:00:00:01","dns_name":"A1.example.net"}}}`, host: "a1.example.net", macs: "52:54:00:00:00:01"},
		{name: "array", conf: `[{"name":"a1","interfaces":{"eth0":{"mac_address":"52:54:00:00:00:01"}}}]`, host: "a1", macs: "52:54:00:00:00:01"},
		{name: "inherit is not set", conf: `{"name":"a1","autoinstall":"<<inherit>>","kernel_options":{},"interfaces":{"eth0":{"mac_address":"52:54:00:00:00:01"}}}`, host: "a1", macs: "52:54:00:00:00:01"},
		{name: "kernel options reported", conf: `{"name":"a1","kernel_options":{"quiet":""},"interfaces":{"eth0":{"mac_address":"52:54:00:00:00:01"}}}`, host: "a1", macs: "52:54:00:00:00:01", note: `kernel_options {"quiet":""}`},
		{name: "password not shown", conf: `{"name":"a1","power_pass":"s3cret","interfaces":{"eth0":{"mac_address":"52:54:00:00:00:01"}}}`, host: "a1", macs: "52:54:00:00:00:01", note: "power_pass (value not shown)"},
		{name: "no mac", conf: `{"name":"a1","interfaces":{"eth0":{"mac_address":""}}}`, note: "no interface with a mac_address"},
		{name: "not json", conf: `name: a1`, err: "not a Cobbler system record"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, err := ReadCobbler([]File{{Name: "t", Data: []byte(tc.conf)}})
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err = %v, want one with %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			wantHost(t, r, tc.host, tc.macs, tc.ip)
			wantNote(t, r, tc.note)
			if strings.Contains(render(t, r), "s3cret") {
				t.Fatal("a password reached the report")
			}
		})
	}
}

func FuzzReadCobbler(f *testing.F) {
	f.Add([]byte(`{"name":"a1","profile":"p","interfaces":{"eth0":{"mac_address":"52:54:00:00:00:01","ip_address":"192.0.2.1","management":true}}}`))
	f.Add([]byte(`[{"interfaces":{"x":1}},{"interfaces":[]},3]`))
	f.Fuzz(func(t *testing.T, in []byte) { fuzzValid(t, ReadCobbler, "f", in) })
}
