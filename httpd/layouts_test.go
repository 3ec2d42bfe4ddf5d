package httpd

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/netkick/netkick/inventory"
	"github.com/netkick/netkick/kickstart/layout"
)

// TestLayoutsAPI: PUT validates (and refuses with a reason), GET serves stored
// and built-in layouts, DELETE removes, a host using a layout gets its %pre.
func TestLayoutsAPI(t *testing.T) {
	s, _ := newTestServer(t)
	good := `{"name":"data","label":"gpt","disks":[{"use":"first","partitions":[{"mount":"/boot","size":"1G"},{"mount":"swap","size":"ram:8G"},{"mount":"/","size":"grow"}]}]}`
	cases := []struct {
		name   string
		c      call
		status int
		want   string
	}{
		{"no token", call{"GET", "/api/v1/layouts", "", false}, 401, "admin token"},
		{"built-in home-opt", call{"GET", "/api/v1/layouts/home-opt", "", true}, 200, `"share:2"`},
		{"unknown layout", call{"GET", "/api/v1/layouts/nope", "", true}, 404, "does not exist"},
		{"put valid", call{"PUT", "/api/v1/layouts/data", good, true}, 200, `"ram:8G"`},
		{"get stored", call{"GET", "/api/v1/layouts/data", "", true}, 200, `"grow"`},
		{"list has stored and built-ins", call{"GET", "/api/v1/layouts", "", true}, 200, `"home-opt"`},
		{"name mismatch", call{"PUT", "/api/v1/layouts/other", good, true}, 400, "must match the path"},
		{"too big for its rule", call{"PUT", "/api/v1/layouts/x", `{"disks":[{"use":"first","partitions":[{"mount":"/","size":"grow"},{"mount":"/srv","size":100}]}],
			"rules":[{"below_mib":256000,"set":{"/srv":"300G"}}]}`, true}, 400, "rule 1 sizes cannot fit"},
		{"two grow", call{"PUT", "/api/v1/layouts/x", `{"disks":[{"use":"first","partitions":[{"mount":"/","size":"grow"},{"mount":"/srv","size":"grow"}]}]}`, true}, 400, "2 partitions grow"},
		{"five primaries", call{"PUT", "/api/v1/layouts/x", `{"label":"msdos","disks":[{"use":"first","partitions":[{"mount":"/a","size":1,"asprimary":true},
			{"mount":"/b","size":1,"asprimary":true},{"mount":"/c","size":1,"asprimary":true},{"mount":"/d","size":1,"asprimary":true},{"mount":"/","size":"grow","asprimary":true}]}]}`, true}, 400, "msdos allows 4 primaries"},
		{"unknown mount in a rule", call{"PUT", "/api/v1/layouts/x", `{"disks":[{"use":"first","partitions":[{"mount":"/","size":"grow"}]}],
			"rules":[{"min_mib":1,"set":{"/opt":"1G"}}]}`, true}, 400, `unknown mount \"/opt\"`},
		{"bad size text", call{"PUT", "/api/v1/layouts/x", `{"disks":[{"use":"first","partitions":[{"mount":"/","size":"huge"}]}]}`, true}, 400, "want MiB"},
		{"shell in a mount", call{"PUT", "/api/v1/layouts/x", `{"disks":[{"use":"first","partitions":[{"mount":"/$(reboot)","size":"grow"}]}]}`, true}, 400, "absolute path"},
		{"import refuses a bad layout", call{"POST", "/api/v1/import", `{"layouts":[{"name":"y","disks":[{"use":"first","partitions":[{"mount":"/","size":"grow"},{"mount":"/b","size":"grow"}]}]}]}`, true}, 400, "layouts[0]"},
		{"delete", call{"DELETE", "/api/v1/layouts/data", "", true}, 204, ""},
		{"deleted", call{"GET", "/api/v1/layouts/data", "", true}, 404, "does not exist"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			rec := s.do(c.c)
			if rec.Code != c.status || !strings.Contains(rec.Body.String(), c.want) {
				t.Fatalf("%s %s: %d %s; want %d containing %q", c.c.method, c.c.path, rec.Code, rec.Body, c.status, c.want)
			}
		})
	}
	var ls []inventory.Layout
	rec := s.do(call{"GET", "/api/v1/layouts", "", true})
	if err := json.Unmarshal(rec.Body.Bytes(), &ls); err != nil || len(ls) != len(layout.BuiltinNames()) {
		t.Fatalf("list after delete: %v %s", err, rec.Body)
	}

	// A host that names a layout gets its %pre and the %include of its file.
	if rec := s.do(call{"PUT", "/api/v1/layouts/data", good, true}); rec.Code != http.StatusOK {
		t.Fatal(rec.Body)
	}
	if rec := s.do(call{"PUT", "/api/v1/hosts/52:54:00:4e:4b:01", `{"hostname":"a01","profile":"centos-5.3","layout":"data"}`, true}); rec.Code != http.StatusOK {
		t.Fatal(rec.Body)
	}
	rec = s.do(call{"GET", "/api/v1/hosts/52:54:00:4e:4b:01/render/kickstart", "", true})
	if rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), "%include "+layout.IncludeFile) ||
		!strings.Contains(rec.Body.String(), "# netkick disk layout data") {
		t.Fatalf("render: %d\n%s", rec.Code, rec.Body)
	}
}
