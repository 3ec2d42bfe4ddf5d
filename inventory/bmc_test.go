package inventory

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"
)

// The BMC cases run on both stores (storeCases).

func bmcsOf(t *testing.T, s Store) bmcKeeper {
	t.Helper()
	b, ok := s.(bmcKeeper)
	if !ok {
		t.Fatalf("%T keeps no BMC settings", s)
	}
	return b
}

func testBMCCRUD(t *testing.T, s Store, again func() Store) {
	ctx := context.Background()
	bs := bmcsOf(t, s)
	const macA, macB = "52:54:00:00:00:01", "52:54:00:00:00:02"
	if _, err := bs.GetBMC(ctx, macA); !errors.Is(err, ErrNotFound) || !strings.Contains(err.Error(), macA) {
		t.Fatalf("BMC of a host without one: %v", err)
	}
	if err := bs.PutBMC(ctx, BMC{HostID: macA, Driver: "ipmi", Address: "192.0.2.50"}); !errors.Is(err, ErrNotFound) || !strings.Contains(err.Error(), macA) {
		t.Fatalf("BMC of a host not stored: %v", err)
	}
	if l, err := bs.ListBMCs(ctx); err != nil || len(l) != 0 {
		t.Fatalf("BMC of a missing host stored: %+v %v", l, err)
	}
	if err := s.PutHosts(ctx, []Host{{MACs: []string{macB}, Hostname: "b01"}, {MACs: []string{macA}, Hostname: "a01"}}); err != nil {
		t.Fatal(err)
	}
	b := BMC{HostID: macB, Driver: "ipmi", Address: "192.0.2.51", Port: 6230, User: "admin", Password: "hunter2"}
	a := BMC{HostID: macA, Driver: "ipmi", Address: "bmc-a01.example.net", User: "root", PasswordFile: "/etc/netkick/bmc/a01.pw"}
	for _, x := range []BMC{b, a} {
		if err := bs.PutBMC(ctx, x); err != nil {
			t.Fatal(err)
		}
	}
	got, err := bs.GetBMC(ctx, macB)
	if err != nil || *got != b {
		t.Fatalf("GetBMC %+v %v, want %+v", got, err, b)
	}
	l, err := bs.ListBMCs(ctx)
	if err != nil || len(l) != 2 || l[0] != a || l[1] != b {
		t.Fatalf("ListBMCs (by MAC) %+v %v", l, err)
	}
	// Replacing keeps the power state read before; the password file replaces the password.
	at := time.Unix(1_800_000_000, 42).UTC()
	if err := bs.RecordPowerState(ctx, macB, "on", at); err != nil {
		t.Fatal(err)
	}
	b2 := BMC{HostID: macB, Driver: "ipmi", Address: "192.0.2.52", User: "ops", PasswordFile: "/run/b01.pw"}
	if err := bs.PutBMC(ctx, b2); err != nil {
		t.Fatal(err)
	}
	b2.PowerState, b2.PowerChecked = "on", at
	// Another handle (another server on the shared store) reads the same.
	other := again()
	defer other.Close()
	for name, st := range map[string]Store{"this handle": s, "another handle": other} {
		got, err := bmcsOf(t, st).GetBMC(ctx, macB)
		if err != nil || *got != b2 {
			t.Fatalf("%s: replaced BMC %+v %v, want %+v", name, got, err, b2)
		}
	}
	// The password is in the BMC table only: never in the host or an export.
	if err := bs.PutBMC(ctx, b); err != nil {
		t.Fatal(err)
	}
	h, err := s.GetHost(ctx, "b01")
	if err != nil {
		t.Fatal(err)
	}
	hraw, _ := json.Marshal(h)
	d, err := Export(ctx, s)
	if err != nil {
		t.Fatal(err)
	}
	draw, _ := json.Marshal(d)
	for what, text := range map[string]string{"host document": string(hraw), "export": string(draw)} {
		if strings.Contains(text, "hunter2") {
			t.Errorf("%s carries the BMC password: %s", what, text)
		}
	}
}

func testBMCPowerState(t *testing.T, s Store, _ func() Store) {
	ctx := context.Background()
	bs := bmcsOf(t, s)
	const mac = "52:54:00:00:00:01"
	if err := s.PutHost(ctx, &Host{MACs: []string{mac}, Hostname: "a01"}); err != nil {
		t.Fatal(err)
	}
	// A host without BMC settings: nothing to record, not an error.
	if err := bs.RecordPowerState(ctx, mac, "on", time.Now()); err != nil {
		t.Fatalf("record without settings: %v", err)
	}
	if _, err := bs.GetBMC(ctx, mac); !errors.Is(err, ErrNotFound) {
		t.Fatalf("recording a power state made settings: %v", err)
	}
	if err := bs.PutBMC(ctx, BMC{HostID: mac, Driver: "ipmi", Address: "192.0.2.50", User: "admin"}); err != nil {
		t.Fatal(err)
	}
	if got, err := bs.GetBMC(ctx, mac); err != nil || got.PowerState != "" || !got.PowerChecked.IsZero() {
		t.Fatalf("never read: %+v %v", got, err)
	}
	t1 := time.Unix(1_800_000_000, 123_456_789).UTC()
	t2 := t1.Add(90 * time.Second)
	for _, step := range []struct {
		state string
		at    time.Time
	}{{"off", t1}, {"on", t2}} {
		if err := bs.RecordPowerState(ctx, mac, step.state, step.at); err != nil {
			t.Fatal(err)
		}
		got, err := bs.GetBMC(ctx, mac)
		if err != nil || got.PowerState != step.state || !got.PowerChecked.Equal(step.at) || got.PowerChecked.Location() != time.UTC {
			t.Fatalf("after recording %s at %v: %+v %v", step.state, step.at, got, err)
		}
	}
	if l, err := bs.ListBMCs(ctx); err != nil || len(l) != 1 || l[0].PowerState != "on" || !l[0].PowerChecked.Equal(t2) {
		t.Fatalf("ListBMCs %+v %v", l, err)
	}
}

func testBMCRemovedWithHost(t *testing.T, s Store, _ func() Store) {
	ctx := context.Background()
	bs := bmcsOf(t, s)
	const macA, macB = "52:54:00:00:00:01", "52:54:00:00:00:02"
	if err := s.PutHosts(ctx, []Host{{MACs: []string{macA, "52:54:00:00:00:0a"}, Hostname: "a01"}, {MACs: []string{macB}, Hostname: "b01"}}); err != nil {
		t.Fatal(err)
	}
	for _, m := range []string{macA, macB} {
		if err := bs.PutBMC(ctx, BMC{HostID: m, Driver: "ipmi", Address: "192.0.2.50", User: "admin", Password: "pw"}); err != nil {
			t.Fatal(err)
		}
	}
	// Removed by its second MAC: the settings keyed by the first go with it.
	if err := s.DeleteHost(ctx, "52:54:00:00:00:0a"); err != nil {
		t.Fatal(err)
	}
	if _, err := bs.GetBMC(ctx, macA); !errors.Is(err, ErrNotFound) {
		t.Fatalf("BMC of a removed host: %v", err)
	}
	if n, err := countRows(s, `SELECT count(*) FROM host_bmcs WHERE mac = '`+macA+`'`); err != nil || n != 0 {
		t.Fatalf("rows of the removed host's BMC: %d %v", n, err)
	}
	if l, err := bs.ListBMCs(ctx); err != nil || len(l) != 1 || l[0].HostID != macB {
		t.Fatalf("the other host's BMC: %+v %v", l, err)
	}
	// The same machine added again starts without settings.
	if err := s.PutHost(ctx, &Host{MACs: []string{macA}, Hostname: "a01"}); err != nil {
		t.Fatal(err)
	}
	if _, err := bs.GetBMC(ctx, macA); !errors.Is(err, ErrNotFound) {
		t.Fatalf("BMC of a host added again: %v", err)
	}
}

// testBMCInWriteBatch: an import's BMC settings commit with its hosts, or
// nothing does; a batch that removes a host removes its settings.
func testBMCInWriteBatch(t *testing.T, s Store, _ func() Store) {
	ctx := context.Background()
	bs := bmcsOf(t, s)
	const macA, macB, macC = "52:54:00:00:00:01", "52:54:00:00:00:02", "52:54:00:00:00:03"
	bmc := func(mac string) BMC {
		return BMC{HostID: mac, Driver: "ipmi", Address: "192.0.2.50", User: "admin", Password: "pw-" + mac[len(mac)-2:]}
	}
	// Settings for a host neither stored nor in the batch: refused, nothing written.
	bad := &Batch{Hosts: []Host{{MACs: []string{macA}, Hostname: "a01"}}, BMCs: []BMC{bmc(macA), bmc(macC)}}
	if err := s.WriteBatch(ctx, bad); !errors.Is(err, ErrNotFound) || !strings.Contains(err.Error(), macC) {
		t.Fatalf("batch with settings for a missing host: %v", err)
	}
	if _, err := s.GetHost(ctx, "a01"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("host of the refused batch: %v", err)
	}
	if l, err := bs.ListBMCs(ctx); err != nil || len(l) != 0 {
		t.Fatalf("settings of the refused batch: %+v %v", l, err)
	}
	ok := &Batch{Hosts: []Host{{MACs: []string{macA}, Hostname: "a01"}, {MACs: []string{macB}, Hostname: "b01"}},
		BMCs: []BMC{bmc(macB), bmc(macA)}}
	if err := s.WriteBatch(ctx, ok); err != nil {
		t.Fatal(err)
	}
	l, err := bs.ListBMCs(ctx)
	if err != nil || len(l) != 2 || l[0] != bmc(macA) || l[1] != bmc(macB) {
		t.Fatalf("settings of the batch: %+v %v", l, err)
	}
	if err := s.WriteBatch(ctx, &Batch{DeleteHosts: []string{"b01"}}); err != nil {
		t.Fatal(err)
	}
	if l, err := bs.ListBMCs(ctx); err != nil || len(l) != 1 || l[0].HostID != macA {
		t.Fatalf("settings after the batch removed b01: %+v %v", l, err)
	}
}
