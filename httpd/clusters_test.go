package httpd

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/netkick/netkick/inventory"
	"github.com/netkick/netkick/lvs"
)

func TestClusterAPI(t *testing.T) {
	s, st := newTestServer(t)
	ctx := context.Background()
	for _, h := range lvs.DemoHosts() {
		h.Profile = "centos-5.3"
		if err := st.PutHost(ctx, &h); err != nil {
			t.Fatal(err)
		}
	}
	demo, err := json.Marshal(lvs.DemoCluster())
	if err != nil {
		t.Fatal(err)
	}
	withService := func(extra string) string {
		return strings.Replace(string(demo), `"services":[`, `"services":[`+extra+`,`, 1)
	}
	for _, tc := range []struct {
		name     string
		call     call
		status   int
		contains string
	}{
		{"needs the token", call{"GET", "/api/v1/clusters", "", false}, 401, "admin token"},
		{"empty list", call{"GET", "/api/v1/clusters", "", true}, 200, "[]"},
		{"put the demo", call{"PUT", "/api/v1/clusters/web", string(demo), true}, 200, `"scheduler":"lc"`},
		{"defaults stored", call{"GET", "/api/v1/clusters/web", "", true}, 200, `"netmask":"255.255.255.255"`},
		{"listed", call{"GET", "/api/v1/clusters", "", true}, 200, `"name":"web"`},
		{"name mismatch", call{"PUT", "/api/v1/clusters/other", string(demo), true}, 400, "differs from the path"},
		{"unknown field", call{"PUT", "/api/v1/clusters/web", `{"vips":[]}`, true}, 400, "unknown field"},
		{"nat refused", call{"PUT", "/api/v1/clusters/web", strings.Replace(string(demo), `"network":"direct"`, `"network":"nat"`, 1), true}, 400, "not supported yet"},
		{"same address:port refused", call{"PUT", "/api/v1/clusters/web", withService(`{"name":"dup","vip":"192.0.2.40","port":80,"interface":"eth0:1"}`), true}, 400, "each service needs its own address:port"},
		{"two VIPs on one alias refused", call{"PUT", "/api/v1/clusters/web", withService(`{"name":"mail","vip":"192.0.2.41","port":25,"interface":"eth0:1"}`), true}, 400, "one alias holds one VIP"},
		{"unknown scheduler refused", call{"PUT", "/api/v1/clusters/web", strings.Replace(string(demo), `"scheduler":"lc"`, `"scheduler":"fair"`, 1), true}, 400, "scheduler \\\"fair\\\" is unknown"},
		{"shell in interface refused", call{"PUT", "/api/v1/clusters/web", strings.Replace(string(demo), `"eth0:1"`, `"eth0:1$(reboot)"`, 1), true}, 400, "want an alias"},
		{"render piranha", call{"GET", "/api/v1/clusters/web/render/piranha", "", true}, 200, "server b02 {"},
		{"render keepalived backup", call{"GET", "/api/v1/clusters/web/render/keepalived?director=a02", "", true}, 200, "state BACKUP"},
		{"render ipvsadm", call{"GET", "/api/v1/clusters/web/render/ipvsadm", "", true}, 200, "-a -t 192.0.2.40:80 -r 192.0.2.22:80 -g -w 1"},
		{"render unknown format", call{"GET", "/api/v1/clusters/web/render/haproxy", "", true}, 400, "want one of piranha"},
		{"plan", call{"GET", "/api/v1/clusters/web/plan", "", true}, 200, `"Reals":[{"Name":"b01"`},
		{"missing cluster", call{"GET", "/api/v1/clusters/nope", "", true}, 404, "not found"},
		{"delete while hosts use it", call{"DELETE", "/api/v1/clusters/web", "", true}, 409, `"users":["host a01","host a02","host b01","host b02"]`},
		{"remove a director it names", call{"DELETE", "/api/v1/hosts/a01", "", true}, 409, "cluster web (primary)"},
		{"move a01 out", call{"PATCH", "/api/v1/hosts/a01", `{"cluster":null}`, true}, 200, ""},
		{"move a02 out", call{"PATCH", "/api/v1/hosts/a02", `{"cluster":null}`, true}, 200, ""},
		{"move b01 out", call{"PATCH", "/api/v1/hosts/b01", `{"cluster":null}`, true}, 200, ""},
		{"move b02 out", call{"PATCH", "/api/v1/hosts/b02", `{"cluster":null}`, true}, 200, ""},
		{"delete unused", call{"DELETE", "/api/v1/clusters/web", "", true}, 204, ""},
		{"gone", call{"GET", "/api/v1/clusters/web", "", true}, 404, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := s.do(tc.call)
			if rec.Code != tc.status || !strings.Contains(rec.Body.String(), tc.contains) {
				t.Fatalf("%s %s = %d %s; want %d containing %q", tc.call.method, tc.call.path, rec.Code, rec.Body.String(), tc.status, tc.contains)
			}
		})
	}
	// A director that is also its own real server is refused at PUT.
	if _, err := st.UpdateHost(ctx, "a01", func(h *inventory.Host) error {
		h.Roles = append(h.Roles, inventory.RoleLVSRealServer)
		h.Cluster = "web"
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	rec := s.do(call{"PUT", "/api/v1/clusters/web", string(demo), true})
	if rec.Code != 400 || !strings.Contains(rec.Body.String(), "also one of its real servers") {
		t.Fatalf("director as real server: %d %s", rec.Code, rec.Body.String())
	}
}
