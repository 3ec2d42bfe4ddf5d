package adopt

import (
	"os/exec"
	"strings"
	"testing"

	"github.com/netkick/netkick/internal/testenv"
)

// TestKeaFixtureIsARealConfig runs Kea's own check on the fixture.
func TestKeaFixtureIsARealConfig(t *testing.T) {
	bin := testenv.RequireProgram(t, "kea-dhcp4")
	out, err := exec.Command(bin, "-t", "testdata/kea-dhcp4.conf").CombinedOutput()
	if err != nil {
		t.Fatalf("kea-dhcp4 -t testdata/kea-dhcp4.conf: %v\n%s", err, out)
	}
}

func TestKeaGolden(t *testing.T) {
	r, err := ReadKea(mustRead(t, "testdata/kea-dhcp4.conf"))
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "kea.golden", render(t, r))
	if len(r.Dump.Hosts) < 16 {
		t.Fatalf("%d hosts imported from the fixture, want at least 16", len(r.Dump.Hosts))
	}
	i := hostByName(t, r, "roam01")
	if r.Dump.Hosts[i].Labels["class.pxe-bios"] != "set" {
		t.Fatalf("roam01's client class is not a label: %+v", r.Dump.Hosts[i])
	}
}

func TestKeaVariants(t *testing.T) {
	for _, tc := range []struct {
		name, conf string
		host       string
		macs, ip   string
		note       string
		err        string
	}{
		{name: "subnet reservation", conf: `{"Dhcp4":{"subnet4":[{"id":1,"subnet":"192.0.2.0/24","reservations":[{"hw-address":"52:54:00:00:00:01","ip-address":"192.0.2.1","hostname":"a1"}]}]}}`, host: "a1", macs: "52:54:00:00:00:01", ip: "192.0.2.1", note: "subnet 192.0.2.0/24"},
		{name: "global reservation", conf: `{"Dhcp4":{"reservations":[{"hw-address":"52-54-00-00-00-01","hostname":"A1"}]}}`, host: "a1", macs: "52:54:00:00:00:01"},
		{name: "shared network", conf: `{"Dhcp4":{"shared-networks":[{"name":"s","subnet4":[{"id":1,"subnet":"192.0.2.0/24","reservations":[{"hw-address":"52:54:00:00:00:01","hostname":"a1"}]}]}]}}`, host: "a1", macs: "52:54:00:00:00:01", note: "shared network s"},
		{name: "comments of three kinds", conf: "// a\n# b\n{ /* c\n d */ \"Dhcp4\": { \"reservations\": [ { \"hw-address\": \"52:54:00:00:00:01\", \"hostname\": \"a1\" } ] } }", host: "a1", macs: "52:54:00:00:00:01"},
		{name: "slashes inside strings stay", conf: `{"Dhcp4":{"reservations":[{"hw-address":"52:54:00:00:00:01","hostname":"a1","boot-file-name":"http://x/#/a"}]}}`, host: "a1", macs: "52:54:00:00:00:01", note: `"http://x/#/a"`},
		{name: "pool reported", conf: `{"Dhcp4":{"subnet4":[{"subnet":"192.0.2.0/24","pools":[{"pool":"192.0.2.5 - 192.0.2.9"}]}]}}`, note: "pool 192.0.2.5 - 192.0.2.9"},
		{name: "routers reported", conf: `{"Dhcp4":{"option-data":[{"name":"routers","data":"192.0.2.1"}]}}`, note: `option routers "192.0.2.1"`},
		{name: "client id only", conf: `{"Dhcp4":{"reservations":[{"client-id":"01:02","hostname":"a1"}]}}`, note: "no hw-address"},
		{name: "no hostname", conf: `{"Dhcp4":{"reservations":[{"hw-address":"52:54:00:00:00:01","ip-address":"192.0.2.1"}]}}`, host: "host-525400000001", macs: "52:54:00:00:00:01", ip: "192.0.2.1", note: "no host name"},
		{name: "bad mac", conf: `{"Dhcp4":{"reservations":[{"hw-address":"52:54","hostname":"a1"}]}}`, note: "not a 6-byte"},
		{name: "not dhcp4", conf: `{"Dhcp6":{}}`, err: `no "Dhcp4"`},
		{name: "bad json", conf: `{"Dhcp4":{,}}`, err: "not Kea JSON"},
		{name: "open comment", conf: `{"Dhcp4":{}} /* x`, err: "not closed"},
		{name: "include", conf: `{"Dhcp4":{ <?include "x.json"?> }}`, err: "include"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, err := ReadKea([]File{{Name: "t", Data: []byte(tc.conf)}})
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
		})
	}
}

func FuzzReadKea(f *testing.F) {
	f.Add([]byte(`{"Dhcp4":{"subnet4":[{"subnet":"192.0.2.0/24","pools":[{"pool":"a"}],"reservations":[{"hw-address":"52:54:00:00:00:01","hostname":"a","ip-address":"192.0.2.1","client-classes":["x"]}]}]}}`))
	f.Add([]byte("# c\n{\"Dhcp4\":{/* x */\"reservations\":[1,{},[]],\"shared-networks\":[{\"subnet4\":3}]}}"))
	f.Fuzz(func(t *testing.T, in []byte) { fuzzValid(t, ReadKea, "f", in) })
}
