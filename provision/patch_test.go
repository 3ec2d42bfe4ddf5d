package provision

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/netkick/netkick/inventory"
)

func TestChangeFromMergePatch(t *testing.T) {
	old := &inventory.Host{MACs: []string{"52:54:00:00:00:01"}, Hostname: "a01", IP: "192.0.2.11", Profile: "c7", Timezone: "UTC",
		Roles: []string{"web"}, Labels: map[string]string{"rack": "r1", "row": "3"}, Params: map[string]string{"console": "ttyS0"}, State: inventory.StateBuild}
	for _, tc := range []struct {
		name, patch, err string
		want             func(h *inventory.Host) bool
	}{
		{"one field", `{"timezone":"Asia/Tokyo"}`, "", func(h *inventory.Host) bool {
			return h.Timezone == "Asia/Tokyo" && h.IP == "192.0.2.11" && h.Roles[0] == "web" && h.State == inventory.StateBuild
		}},
		{"null clears", `{"ip":null}`, "", func(h *inventory.Host) bool { return h.IP == "" && h.Profile == "c7" }},
		{"label merged", `{"labels":{"rack":null,"zone":"b"}}`, "", func(h *inventory.Host) bool {
			_, rack := h.Labels["rack"]
			return !rack && h.Labels["row"] == "3" && h.Labels["zone"] == "b"
		}},
		{"labels null drops all", `{"labels":null}`, "", func(h *inventory.Host) bool { return h.Labels == nil && h.Params["console"] == "ttyS0" }},
		{"array replaced", `{"roles":["db"]}`, "", func(h *inventory.Host) bool { return len(h.Roles) == 1 && h.Roles[0] == "db" }},
		{"empty patch", `{}`, "", func(h *inventory.Host) bool { return h.Timezone == "UTC" }},
		{"clear password hashed", `{"root_password":"s3cret"}`, "", func(h *inventory.Host) bool { return strings.HasPrefix(h.RootPasswordHash, "$6$") }},
		{"state", `{"state":"installed"}`, "state cannot be changed: state moves only through build", nil},
		{"token", `{"build_token":"x"}`, "build_token cannot be changed", nil},
		{"unknown", `{"hostnme":"x"}`, `unknown field "hostnme"`, nil},
		{"not an object", `["x"]`, "want a JSON object", nil},
		{"null document", `null`, "want a JSON object", nil},
		{"two documents", `{} {}`, "one JSON object only", nil},
		{"wrong type", `{"ip":5}`, "ip: want a string or null", nil},
		{"labels wrong type", `{"labels":["a"]}`, "labels: want an object", nil},
		{"password twice", `{"root_password":"a","root_password_hash":"$6$x$y"}`, "not both", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := ChangeFromMergePatch([]byte(tc.patch))
			check(t, err, tc.err, inventory.ErrInvalid)
			if err != nil {
				return
			}
			if h := c.Apply(old); !tc.want(h) {
				t.Fatalf("applied: %+v", h)
			}
			// The patch a Change makes reads back as the same change.
			b, _ := json.Marshal(c.MergePatch())
			c2, err := ChangeFromMergePatch(b)
			if err != nil {
				t.Fatalf("re-read %s: %v", b, err)
			}
			b1, _ := json.Marshal(c.Apply(old))
			b2, _ := json.Marshal(c2.Apply(old))
			if string(b1) != string(b2) {
				t.Fatalf("round trip through %s:\n%s\n%s", b, b1, b2)
			}
		})
	}
	if old.Timezone != "UTC" || old.Labels["rack"] != "r1" {
		t.Fatal("Apply changed its input")
	}
}

func TestParseKeyEdits(t *testing.T) {
	for _, tc := range []struct {
		name  string
		edits []string
		want  string
		err   string
	}{
		{"set", []string{"rack=r1"}, "rack=r1", ""},
		{"value with =", []string{"kernel_args=a=b c"}, "kernel_args=a=b c", ""},
		{"remove", []string{"rack-"}, "rack<removed>", ""},
		{"empty value", []string{"rack="}, "rack=", ""},
		{"neither", []string{"rack"}, "", "want key=value to set or key- to remove"},
		{"no key", []string{"=x"}, "", "want key=value or key-"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m, err := ParseKeyEdits("label", tc.edits)
			check(t, err, tc.err, inventory.ErrInvalid)
			if err != nil {
				return
			}
			var got []string
			for k, v := range m {
				if v == nil {
					got = append(got, k+"<removed>")
				} else {
					got = append(got, k+"="+*v)
				}
			}
			if strings.Join(got, ",") != tc.want {
				t.Fatalf("got %v", got)
			}
		})
	}
}

func TestETagAndIfMatch(t *testing.T) {
	h := &inventory.Host{MACs: []string{"52:54:00:00:00:01"}, Hostname: "a01", State: inventory.StateReady}
	e := ETag(h)
	b := cloneHost(h)
	b.BuildToken = "new"
	if ETag(b) == e {
		t.Fatal("a new build token does not change the ETag")
	}
	for _, tc := range []struct {
		name, ifMatch string
		ok            bool
	}{
		{"absent", "", true},
		{"any", "*", true},
		{"same", e, true},
		{"weak same", "W/" + e, true},
		{"in a list", `"x", ` + e, true},
		{"other", `"0000"`, false},
		{"unquoted", strings.Trim(e, `"`), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := matchETag(tc.ifMatch, e); got != tc.ok {
				t.Fatalf("matchETag(%q) = %v", tc.ifMatch, got)
			}
		})
	}
}

func TestActorString(t *testing.T) {
	for _, tc := range []struct {
		a    Actor
		want string
	}{
		{Actor{Via: "cli", Name: "ops"}, "local CLI (ops)"},
		{Actor{Via: "cli"}, "local CLI"},
		{Actor{Via: "api", Name: "ci-deploy"}, "API token ci-deploy"},
		{Actor{Via: "api", Name: "x y\n"}, `API token "x y\n"`},
		{Actor{Via: "web", Name: "alice"}, "web user alice"},
		{Actor{Via: "host", Name: "192.0.2.22"}, "the machine at 192.0.2.22"},
	} {
		if got := tc.a.String(); got != tc.want {
			t.Errorf("%+v: got %q want %q", tc.a, got, tc.want)
		}
	}
}

func FuzzChangeFromMergePatch(f *testing.F) {
	for _, s := range []string{`{"timezone":"UTC"}`, `{"labels":{"a":null}}`, `{"macs":["52:54:00:00:00:01"]}`, `null`, `{"params":{"x":"1"},"roles":[]}`} {
		f.Add([]byte(s))
	}
	old := &inventory.Host{MACs: []string{"52:54:00:00:00:01"}, Hostname: "a01"}
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := ChangeFromMergePatch(b)
		if err != nil {
			return
		}
		h := c.Apply(old)
		_ = CheckHost(h, Known{})
		_ = Diff(old, h)
	})
}
