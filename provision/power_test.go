package provision

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/netkick/netkick/internal/ipmisim"
	"github.com/netkick/netkick/internal/pgtest"
	"github.com/netkick/netkick/inventory"
	"github.com/netkick/netkick/power"
)

func ptr[T any](v T) *T { return &v }

// storeKinds open a fresh, empty store of each kind: the BMC settings,
// power and reinstall work the same on both.
var storeKinds = []struct {
	name string
	open func(t *testing.T) inventory.Store
}{
	{"sqlite", openSQLite},
	{"postgres", func(t *testing.T) inventory.Store {
		st, err := inventory.OpenPostgres(context.Background(), pgtest.Start(t).NewDatabase(t))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		return st
	}},
}

// onEveryStore runs fn once per store kind.
func onEveryStore(t *testing.T, fn func(t *testing.T, st inventory.Store)) {
	for _, k := range storeKinds {
		t.Run(k.name, func(t *testing.T) { fn(t, k.open(t)) })
	}
}

func TestSetBMCKeepsThePasswordOut(t *testing.T) {
	onEveryStore(t, testSetBMCKeepsThePasswordOut)
}

func testSetBMCKeepsThePasswordOut(t *testing.T, st inventory.Store) {
	s, st := newTestServiceOn(t, st)
	ctx := context.Background()
	v, err := s.SetBMC(ctx, ops, "a01", BMCChange{Address: ptr("192.0.2.50"), User: ptr("admin"), Password: ptr("hunter2")})
	if err != nil {
		t.Fatal(err)
	}
	if !v.PasswordSet || v.Driver != "ipmi" || v.Address != "192.0.2.50" {
		t.Fatalf("view %+v", v)
	}
	raw, _ := json.Marshal(v)
	ev := lastEvent(t, st, macA01)
	h, _ := st.GetHost(ctx, "a01")
	hraw, _ := json.Marshal(h)
	d, _ := inventory.Export(ctx, st)
	draw, _ := json.Marshal(d)
	for what, b := range map[string]string{"API view": string(raw), "timeline": ev.Detail, "host document": string(hraw), "export": string(draw)} {
		if strings.Contains(b, "hunter2") {
			t.Errorf("%s carries the password: %s", what, b)
		}
	}
	if !strings.Contains(ev.Detail, "password set") || !strings.Contains(ev.Detail, "address 192.0.2.50") {
		t.Errorf("timeline says %q", ev.Detail)
	}
	// A password file replaces the stored password; a relative or missing one is refused.
	if _, err := s.SetBMC(ctx, ops, "a01", BMCChange{PasswordFile: ptr("bmc.pw")}); !errors.Is(err, inventory.ErrInvalid) {
		t.Errorf("relative password file: %v", err)
	}
	if _, err := s.SetBMC(ctx, ops, "a01", BMCChange{PasswordFile: ptr("/nonexistent/bmc.pw")}); !errors.Is(err, inventory.ErrInvalid) {
		t.Errorf("missing password file: %v", err)
	}
	pf := filepath.Join(t.TempDir(), "bmc.pw")
	if err := os.WriteFile(pf, []byte("s3cret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if v, err = s.SetBMC(ctx, ops, "a01", BMCChange{PasswordFile: ptr(pf)}); err != nil || !v.PasswordSet || v.PasswordFile != pf {
		t.Fatalf("password file: %+v %v", v, err)
	}
	b, _ := st.(BMCStore).GetBMC(ctx, macA01)
	if b.Password != "" {
		t.Error("the stored password stayed after a password file was set")
	}
	for _, c := range []BMCChange{{Driver: ptr("redfish")}, {Port: ptr(70000)}, {Address: ptr("a b")}, {Password: ptr("x"), PasswordFile: ptr(pf)}} {
		if _, err := s.SetBMC(ctx, ops, "a01", c); !errors.Is(err, inventory.ErrInvalid) {
			t.Errorf("change %+v accepted: %v", c, err)
		}
	}
	if _, err := s.Power(ctx, ops, "b02", "status"); !errors.Is(err, inventory.ErrInvalid) || !strings.Contains(HintOf(err), "--bmc-address") {
		t.Errorf("power of a host without BMC: %v (%s)", err, HintOf(err))
	}
	// Removing the host forgets its BMC.
	if _, err := s.SetBMC(ctx, ops, "b02", BMCChange{Address: ptr("192.0.2.51")}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Remove(ctx, ops, "b02", ""); err != nil {
		t.Fatal(err)
	}
	if _, err := st.(BMCStore).GetBMC(ctx, macB02); !errors.Is(err, inventory.ErrNotFound) {
		t.Errorf("BMC of a removed host: %v", err)
	}
}

// simService is the test service with a01's and b02's BMC the simulator.
func simService(t *testing.T, sims ...*ipmisim.Sim) (*Service, inventory.Store) {
	t.Helper()
	return simServiceOn(t, openSQLite(t), sims...)
}

// simServiceOn is simService on st, a fresh store.
func simServiceOn(t *testing.T, st inventory.Store, sims ...*ipmisim.Sim) (*Service, inventory.Store) {
	t.Helper()
	s, st := newTestServiceOn(t, st)
	s.o.Power = func(b power.BMC) (power.Driver, error) {
		return power.Open(b, power.Limits{Timeout: 500 * time.Millisecond, Retries: 1})
	}
	for i, k := range []string{"a01", "b02"} {
		if i >= len(sims) {
			break
		}
		if _, err := s.SetBMC(context.Background(), ops, k, BMCChange{Address: ptr("127.0.0.1"), Port: ptr(sims[i].Port),
			User: ptr(ipmisim.User), Password: ptr(ipmisim.Password)}); err != nil {
			t.Fatal(err)
		}
	}
	return s, st
}

func TestPowerAgainstIPMISim(t *testing.T) {
	onEveryStore(t, func(t *testing.T, st inventory.Store) {
		sim := ipmisim.Start(t)
		s, st := simServiceOn(t, st, sim)
		testPowerAgainstIPMISim(t, s, st, sim)
	})
}

func testPowerAgainstIPMISim(t *testing.T, s *Service, st inventory.Store, sim *ipmisim.Sim) {
	ctx := context.Background()
	r, err := s.Power(ctx, ops, "a01", "status")
	if err != nil || r.State != "off" || sim.PowerState(t) != "off" {
		t.Fatalf("status %+v %v", r, err)
	}
	if v, _ := s.GetBMC(ctx, "a01"); v.PowerState != "off" || v.PowerChecked.IsZero() {
		t.Errorf("state not recorded: %+v", v)
	}
	if _, err := s.Power(ctx, ops, "a01", "on"); err != nil {
		t.Fatal(err)
	}
	if ev := lastEvent(t, st, macA01); ev.Kind != "power" || !strings.Contains(ev.Detail, "power on by local CLI (ops)") {
		t.Errorf("timeline %+v", ev)
	}
	if got := sim.PowerState(t); got != "on" {
		t.Errorf("ipmitool says %s after power on", got)
	}
	if _, err := s.Power(ctx, ops, "a01", "reset"); !errors.Is(err, inventory.ErrInvalid) {
		t.Errorf("action reset: %v", err)
	}
}

// TestReinstall: ipmi_sim refuses the boot device; the refusal is on the
// timeline and the reinstall goes on: a chassis that is off is powered on,
// one that is on is cycled.
func TestReinstall(t *testing.T) {
	onEveryStore(t, func(t *testing.T, st inventory.Store) {
		simA, simB := ipmisim.Start(t), ipmisim.Start(t)
		s, st := simServiceOn(t, st, simA, simB)
		testReinstall(t, s, st, simA, simB)
	})
}

func testReinstall(t *testing.T, s *Service, st inventory.Store, simA, simB *ipmisim.Sim) {
	ctx := context.Background()
	simB.Ipmitool(t, "chassis", "power", "on")
	res := s.Many(ctx, []string{"a01", "b02", "nosuch"}, 2, func(ctx context.Context, k string) (*PowerResult, error) {
		return s.Reinstall(ctx, ops, k, 0)
	})
	if len(res) != 3 || res[0].Error != "" || res[1].Error != "" || res[2].Error == "" {
		t.Fatalf("results %+v", res)
	}
	for i, want := range []string{"power on (chassis was off)", "power cycle (chassis was on)"} {
		r := res[i]
		if len(r.Steps) != 3 || r.Steps[0] != "build mode on" || !strings.Contains(r.Steps[1], "next boot PXE refused by the BMC") ||
			!strings.Contains(r.Steps[1], "0xcc") || r.Steps[2] != want {
			t.Errorf("%s steps %q", r.Hostname, r.Steps)
		}
		h, _ := st.GetHost(ctx, r.Host)
		if h.State != inventory.StateBuild {
			t.Errorf("%s is %s, want build", r.Hostname, h.State)
		}
		ev, _ := st.Events(ctx, r.Host, 0)
		var kinds []string
		for _, e := range ev[len(ev)-3:] {
			kinds = append(kinds, e.Kind)
		}
		if strings.Join(kinds, ",") != "build,power,power" || !strings.Contains(ev[len(ev)-1].Detail, "reinstall by local CLI (ops)") {
			t.Errorf("%s timeline ends %q: %+v", r.Hostname, kinds, ev[len(ev)-1])
		}
	}
	// a01 was off (one start: the power on), b02 on (its second start ends the cycle).
	simA.WaitBoots(t, 1)
	simB.WaitBoots(t, 2)
	// status --all reads and records every BMC.
	all, err := s.PowerStatusAll(ctx, ops, 2)
	if err != nil || len(all) != 2 || all[0].State != "on" || all[1].State != "on" {
		t.Fatalf("status all %+v %v", all, err)
	}
	for _, k := range []string{"a01", "b02"} {
		if v, err := s.GetBMC(ctx, k); err != nil || v.PowerState != "on" || v.PowerChecked.IsZero() {
			t.Errorf("%s: recorded power state %+v %v", k, v, err)
		}
	}
}

// TestReinstallWrongPassword: nothing is powered, the failure is on the
// timeline, the host stays in build mode.
func TestReinstallWrongPassword(t *testing.T) {
	sim := ipmisim.Start(t)
	s, st := simService(t, sim)
	var audit bytes.Buffer
	s.o.Audit = slog.New(slog.NewTextHandler(&audit, nil))
	ctx := context.Background()
	if _, err := s.SetBMC(ctx, ops, "a01", BMCChange{Password: ptr("wrong")}); err != nil {
		t.Fatal(err)
	}
	_, err := s.Reinstall(ctx, ops, "a01", 0)
	if !errors.Is(err, power.ErrAuth) {
		t.Fatalf("reinstall with a wrong password: %v", err)
	}
	ev := lastEvent(t, st, macA01)
	if !strings.Contains(ev.Detail, "read power state failed") || strings.Contains(ev.Detail, "wrong") {
		t.Errorf("timeline %q", ev.Detail)
	}
	// The refusal has its audit line, without the password.
	want := regexp.MustCompile(`level=WARN msg=audit by="local CLI \(ops\)" op=reinstall host="a01 \(` + macA01 + `\)" outcome=refused reason="[^"]*rejected the user or password`)
	if !want.MatchString(audit.String()) || strings.Contains(audit.String(), "wrong") {
		t.Errorf("audit log, want a line matching %s without the password:\n%s", want, audit.String())
	}
	if got := sim.PowerState(t); got != "off" {
		t.Errorf("chassis %s", got)
	}
}

func TestImportBMCsNeedTheirHost(t *testing.T) {
	onEveryStore(t, testImportBMCsNeedTheirHost)
}

func testImportBMCsNeedTheirHost(t *testing.T, st inventory.Store) {
	s, st := newTestServiceOn(t, st)
	ctx := context.Background()
	d, err := inventory.Export(ctx, st)
	if err != nil {
		t.Fatal(err)
	}
	d.Clusters = nil
	for _, h := range d.Hosts {
		if h.Hostname == "b02" {
			d.Hosts = []inventory.Host{h}
			break
		}
	}
	d.BMCs = []inventory.BMC{{HostID: "52:54:00:00:99:99", Address: "192.0.2.9", User: "admin", Password: "pw"}}
	if _, err := s.Import(ctx, ops, d, ImportOptions{}); !errors.Is(err, inventory.ErrInvalid) || !strings.Contains(err.Error(), "not among the file's hosts") {
		t.Fatalf("BMC of an unknown host: %v", err)
	}
	d.BMCs[0].HostID = strings.ToUpper(macB02)
	if _, err := s.Import(ctx, ops, d, ImportOptions{}); err != nil {
		t.Fatal(err)
	}
	v, err := s.GetBMC(ctx, "b02")
	if err != nil || v.Address != "192.0.2.9" || !v.PasswordSet || v.Driver != "ipmi" {
		t.Fatalf("imported BMC: %+v %v", v, err)
	}
}
