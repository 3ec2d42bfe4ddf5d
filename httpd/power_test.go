package httpd

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/netkick/netkick/internal/ipmisim"
	"github.com/netkick/netkick/internal/pgtest"
	"github.com/netkick/netkick/inventory"
	"github.com/netkick/netkick/provision"
)

// TestPowerAPI drives ipmi_sim through the API on either store: on the
// shared PostgreSQL store too, BMC settings, power, reinstall and the
// recorded power states work as on SQLite.
func TestPowerAPI(t *testing.T) {
	stores := map[string]func(t *testing.T) inventory.Store{
		"sqlite": func(t *testing.T) inventory.Store {
			st, err := inventory.OpenSQLite(filepath.Join(t.TempDir(), "inventory.db"))
			if err != nil {
				t.Fatal(err)
			}
			return st
		},
		"postgres": func(t *testing.T) inventory.Store {
			st, err := inventory.OpenPostgres(context.Background(), pgtest.Start(t).NewDatabase(t))
			if err != nil {
				t.Fatal(err)
			}
			return st
		},
	}
	for _, name := range []string{"sqlite", "postgres"} {
		t.Run(name, func(t *testing.T) {
			st := stores[name](t)
			t.Cleanup(func() { st.Close() })
			s, st := newTestServerOn(t, st, nil)
			ts := httptest.NewServer(s.Handler())
			t.Cleanup(ts.Close)
			testPowerAPI(t, st, ts.URL)
		})
	}
}

func testPowerAPI(t *testing.T, st inventory.Store, base string) {
	sim := ipmisim.Start(t)
	ctx := context.Background()
	if err := st.PutHost(ctx, &inventory.Host{MACs: []string{"52:54:00:4e:4b:20"}, Hostname: "p01", Profile: "centos-5.3"}); err != nil {
		t.Fatal(err)
	}
	url := base + "/api/v1/hosts/p01"
	if code, body := httpDo(t, "POST", url+"/power", `{"action":"status"}`, true); code != 400 || !strings.Contains(body, "--bmc-address") {
		t.Errorf("power without BMC settings: %d %s", code, body)
	}
	body := fmt.Sprintf(`{"address":"127.0.0.1","port":%d,"user":%q,"password":%q}`, sim.Port, ipmisim.User, ipmisim.Password)
	if code, _ := httpDo(t, "PATCH", url+"/bmc", body, false); code != 401 {
		t.Errorf("BMC settings without the admin token: %d", code)
	}
	code, out := httpDo(t, "PATCH", url+"/bmc", body, true)
	if code != 200 || strings.Contains(out, ipmisim.Password) || !strings.Contains(out, `"password_set":true`) {
		t.Fatalf("set BMC: %d %s", code, out)
	}
	for _, path := range []string{url + "/bmc", url, url + "/events", base + "/api/v1/export"} {
		if _, out := httpDo(t, "GET", path, "", true); strings.Contains(out, ipmisim.Password) {
			t.Errorf("GET %s shows the password: %s", path, out)
		}
	}
	// Only an export asked for with secrets carries it.
	if code, out := httpDo(t, "GET", base+"/api/v1/export?secrets=1", "", true); code != 200 || !strings.Contains(out, `"password":"`+ipmisim.Password+`"`) {
		t.Errorf("export with secrets: %d %s", code, out)
	}
	var r provision.PowerResult
	code, out = httpDo(t, "POST", url+"/power", `{"action":"status"}`, true)
	if err := json.Unmarshal([]byte(out), &r); code != 200 || err != nil || r.State != sim.PowerState(t) {
		t.Fatalf("status: %d %s (ipmitool: %s)", code, out, sim.PowerState(t))
	}
	if code, out := httpDo(t, "POST", url+"/power", `{"action":"explode"}`, true); code != 400 {
		t.Errorf("unknown action: %d %s", code, out)
	}
	code, out = httpDo(t, "POST", url+"/reinstall", "", true)
	if err := json.Unmarshal([]byte(out), &r); code != 200 || err != nil || len(r.Steps) != 3 || !strings.Contains(r.Steps[1], "refused") {
		t.Fatalf("reinstall: %d %s", code, out)
	}
	sim.WaitBoots(t, 1) // the chassis was off: the reinstall powered it on
	h, _ := st.GetHost(ctx, "p01")
	if h.State != inventory.StateBuild {
		t.Errorf("state %s after reinstall", h.State)
	}
	var all []provision.PowerResult
	code, out = httpDo(t, "POST", base+"/api/v1/power/status?parallel=2", "", true)
	if err := json.Unmarshal([]byte(out), &all); code != 200 || err != nil || len(all) != 1 || all[0].State != "on" {
		t.Fatalf("status of all: %d %s", code, out)
	}
	if _, m := httpDo(t, "GET", base+"/metrics", "", false); !strings.Contains(m, `netkick_power_hosts{state="on"} 1`) || !strings.Contains(m, `netkick_power_hosts{state="off"} 0`) {
		t.Errorf("metrics lack the power states:\n%s", m)
	}
	// A wrong password: 502 with what the BMC answered.
	httpDo(t, "PATCH", url+"/bmc", `{"password":"wrong"}`, true)
	code, out = httpDo(t, "POST", url+"/power", `{"action":"off"}`, true)
	if code != 502 || !strings.Contains(out, "rejected the user or password") || strings.Contains(out, "wrong") {
		t.Errorf("wrong password: %d %s", code, out)
	}
}
