package inventory

import (
	"encoding/json"
	"testing"
)

// FuzzNormalizeMAC: any input either errors or gives a canonical MAC that
// normalises to itself.
func FuzzNormalizeMAC(f *testing.F) {
	for _, s := range []string{"aa:bb:cc:dd:ee:ff", "AA-BB-CC-DD-EE-FF", "aabb.ccdd.eeff", "01-aa-bb-cc-dd-ee-ff", "", "zz", "aa:bb:cc:dd:ee:f\x00"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		m, err := NormalizeMAC(s)
		if err != nil {
			return
		}
		if len(m) != 17 {
			t.Fatalf("%q -> %q", s, m)
		}
		if again, err := NormalizeMAC(m); err != nil || again != m {
			t.Fatalf("not idempotent: %q -> %q -> %q %v", s, m, again, err)
		}
	})
}

// FuzzNormalizeHost: a host body from the API either is refused or validates
// into a host whose shell-reaching fields are safe.
func FuzzNormalizeHost(f *testing.F) {
	f.Add(`{"macs":["52:54:00:00:00:01"],"hostname":"a01","labels":{"k":"v"},"timezone":"Europe/Paris"}`)
	f.Add(`{"macs":["x"],"hostname":"a$(reboot)"}`)
	f.Add(`{"macs":["52:54:00:00:00:01"],"hostname":"a","params":{"a":"b\nc"},"roles":["x","x"]}`)
	f.Fuzz(func(t *testing.T, body string) {
		var h Host
		if json.Unmarshal([]byte(body), &h) != nil {
			return
		}
		if err := NormalizeHost(&h); err != nil {
			return
		}
		if ValidateHostname(h.Hostname) != nil {
			t.Fatalf("accepted hostname %q", h.Hostname)
		}
		for _, r := range h.Roles {
			if ValidateName("role", r) != nil {
				t.Fatalf("accepted role %q", r)
			}
		}
		for k, v := range h.Params {
			if ValidateName("param", k) != nil || ValidateValue("param", v) != nil {
				t.Fatalf("accepted param %q=%q", k, v)
			}
		}
	})
}
