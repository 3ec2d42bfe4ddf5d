package boot

import (
	"errors"
	"testing"
	"time"

	"github.com/netkick/netkick/inventory"
)

func TestKickstartAccess(t *testing.T) {
	now := time.Date(2026, 11, 21, 12, 0, 0, 0, time.UTC)
	tok := "00112233445566778899aabbccddeeff"
	host := func(s inventory.State, token string, exp time.Time) *inventory.Host {
		return &inventory.Host{MACs: []string{"52:54:00:00:00:01"}, Hostname: "h", State: s, BuildToken: token, TokenExpires: exp}
	}
	later := now.Add(time.Hour)
	tests := []struct {
		name             string
		h                *inventory.Host
		token, remote, k string
		ok               bool
	}{
		{"build, right token", host(inventory.StateBuild, tok, later), tok, "192.0.2.5", "", true},
		{"installing refetch", host(inventory.StateInstalling, tok, later), tok, "192.0.2.5", "", true},
		{"right source", host(inventory.StateBuild, tok, later), tok, "192.0.2.5", "192.0.2.5", true},
		{"wrong source", host(inventory.StateBuild, tok, later), tok, "192.0.2.6", "192.0.2.5", false},
		{"ready host", host(inventory.StateReady, tok, later), tok, "192.0.2.5", "", false},
		{"installed host", host(inventory.StateInstalled, "", time.Time{}), tok, "192.0.2.5", "", false},
		{"no token presented", host(inventory.StateBuild, tok, later), "", "192.0.2.5", "", false},
		{"wrong token", host(inventory.StateBuild, tok, later), "ffffffffffffffffffffffffffffffff", "192.0.2.5", "", false},
		{"prefix of token", host(inventory.StateBuild, tok, later), tok[:16], "192.0.2.5", "", false},
		{"expired exactly now", host(inventory.StateBuild, tok, now), tok, "192.0.2.5", "", false},
		{"host without token", host(inventory.StateBuild, "", later), "", "192.0.2.5", "", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := KickstartAccess(tc.h, tc.token, tc.remote, tc.k, now)
			if (err == nil) != tc.ok {
				t.Fatalf("got %v, want ok=%v", err, tc.ok)
			}
			var r *Refusal
			if err != nil && !errors.As(err, &r) {
				t.Fatalf("refusal is not a *Refusal: %v", err)
			}
		})
	}
}

func TestNext(t *testing.T) {
	tests := []struct {
		name string
		from inventory.State
		t    Transition
		want inventory.State
		ok   bool
	}{
		{"ready to build", inventory.StateReady, EventBuild, inventory.StateBuild, true},
		{"installed to build (reinstall)", inventory.StateInstalled, EventBuild, inventory.StateBuild, true},
		{"build fetched", inventory.StateBuild, EventFetched, inventory.StateInstalling, true},
		{"installing built", inventory.StateInstalling, EventBuilt, inventory.StateInstalled, true},
		{"build built (no refetch seen)", inventory.StateBuild, EventBuilt, inventory.StateInstalled, true},
		{"installing failed", inventory.StateInstalling, EventFailed, inventory.StateFailed, true},
		{"ready cannot be built", inventory.StateReady, EventBuilt, inventory.StateReady, false},
		{"installed cannot be built again", inventory.StateInstalled, EventBuilt, inventory.StateInstalled, false},
		{"installed cannot fetch", inventory.StateInstalled, EventFetched, inventory.StateInstalled, false},
		{"cancel build", inventory.StateBuild, EventCancel, inventory.StateReady, true},
		{"cancel ready is an error", inventory.StateReady, EventCancel, inventory.StateReady, false},
		{"discover new", "", EventDiscover, inventory.StateDiscovered, true},
		{"discover known is refused", inventory.StateReady, EventDiscover, inventory.StateReady, false},
		{"register discovered", inventory.StateDiscovered, EventRegister, inventory.StateReady, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Next(tc.from, tc.t)
			if (err == nil) != tc.ok || got != tc.want {
				t.Fatalf("Next(%q,%q)=%q,%v want %q ok=%v", tc.from, tc.t, got, err, tc.want, tc.ok)
			}
		})
	}
}
