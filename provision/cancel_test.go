package provision

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/netkick/netkick/boot"
	"github.com/netkick/netkick/inventory"
)

func TestStateBeforeBuild(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	ev := func(kinds ...string) []inventory.Event {
		var out []inventory.Event
		for i, k := range kinds {
			d := ""
			if k == "cancel-installed" {
				k, d = "cancel", "build cancelled by netkick; back to installed"
			}
			out = append(out, inventory.Event{ID: int64(i + 1), Kind: k, Detail: d, Time: t0.Add(time.Duration(i) * time.Minute)})
		}
		return out
	}
	for _, tc := range []struct {
		name   string
		events []inventory.Event
		want   inventory.State
	}{
		{"empty timeline", nil, inventory.StateReady},
		{"first build", ev("add", "build"), inventory.StateReady},
		{"rebuild of an installed host", ev("build", "kickstart", "built", "build"), inventory.StateInstalled},
		{"rebuild under way", ev("built", "build", "kickstart"), inventory.StateInstalled},
		{"build asked twice", ev("built", "build", "build"), inventory.StateInstalled},
		{"after a failed install", ev("build", "failed", "build"), inventory.StateReady},
		{"after a cancel back to installed", ev("built", "build", "cancel-installed", "build"), inventory.StateInstalled},
		{"after a cancel back to ready", ev("add", "build", "cancel", "build"), inventory.StateReady},
		{"events given newest first", func() []inventory.Event {
			e := ev("built", "build")
			return []inventory.Event{e[1], e[0]}
		}(), inventory.StateInstalled},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := stateBeforeBuild(tc.events); got != tc.want {
				t.Errorf("stateBeforeBuild = %s, want %s", got, tc.want)
			}
		})
	}
}

func TestCancelBuild(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name    string
		prepare func(t *testing.T, s *Service)
		want    inventory.State
		wantErr error
	}{
		{"ready host has nothing to cancel", func(t *testing.T, s *Service) {}, "", inventory.ErrInvalid},
		{"build mode goes back to ready", func(t *testing.T, s *Service) { build(t, s) }, inventory.StateReady, nil},
		{"installed host in build mode goes back to installed", func(t *testing.T, s *Service) {
			h := build(t, s)
			if _, err := s.Report(ctx, macB02, Requester{Addr: "192.0.2.22", Token: h.BuildToken}, boot.EventBuilt, ""); err != nil {
				t.Fatal(err)
			}
			build(t, s)
		}, inventory.StateInstalled, nil},
		{"installing goes back to ready", func(t *testing.T, s *Service) {
			h := build(t, s)
			if _, err := s.Kickstart(ctx, macB02, Requester{Addr: "192.0.2.22", Token: h.BuildToken}); err != nil {
				t.Fatal(err)
			}
		}, inventory.StateReady, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, st := newTestService(t)
			tc.prepare(t, s)
			before, _ := st.GetHost(ctx, macB02)
			h, err := s.CancelBuild(ctx, ops, "b02")
			if tc.wantErr != nil {
				if !errors.Is(err, tc.wantErr) {
					t.Fatalf("CancelBuild: err %v, want %v", err, tc.wantErr)
				}
				if after, _ := st.GetHost(ctx, macB02); after.State != before.State {
					t.Errorf("refused cancel changed the state to %s", after.State)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			stored, _ := st.GetHost(ctx, macB02)
			if h.State != tc.want || stored.State != tc.want || stored.BuildToken != "" || !stored.TokenExpires.IsZero() {
				t.Errorf("after cancel: state %s (stored %s), token %q expires %v; want %s and the token burnt",
					h.State, stored.State, stored.BuildToken, stored.TokenExpires, tc.want)
			}
			e := lastEvent(t, st, macB02)
			if e.Kind != "cancel" || !strings.Contains(e.Detail, ops.String()) || !strings.HasSuffix(e.Detail, "back to "+string(tc.want)) {
				t.Errorf("cancel event %+v: want kind cancel naming %s", e, ops)
			}
			if _, err := s.Kickstart(ctx, macB02, Requester{Addr: "192.0.2.22", Token: before.BuildToken}); !errors.Is(err, ErrRefused) {
				t.Errorf("kickstart with the cancelled token: err %v, want refused", err)
			}
		})
	}
}

func build(t *testing.T, s *Service) *inventory.Host {
	t.Helper()
	h, err := s.Build(context.Background(), ops, "b02", 0)
	if err != nil {
		t.Fatal(err)
	}
	return h
}
