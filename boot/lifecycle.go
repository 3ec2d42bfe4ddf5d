package boot

import (
	"crypto/subtle"
	"fmt"
	"time"

	"github.com/netkick/netkick/inventory"
)

// Refusal is why a host's request was refused. Its text goes to the log, never
// to the client, which only sees 403.
type Refusal struct{ Reason string }

func (r *Refusal) Error() string { return r.Reason }

func refuse(format string, a ...any) error { return &Refusal{Reason: fmt.Sprintf(format, a...)} }

// Installing reports whether a host in state s boots the installer.
func Installing(s inventory.State) bool {
	return s == inventory.StateBuild || s == inventory.StateInstalling
}

// tokenOK compares the presented token with the host's in constant time and checks expiry.
func tokenOK(h *inventory.Host, token string, now time.Time) error {
	if h.BuildToken == "" {
		return refuse("host %s has no build token (state %s); put it in build mode with `netkick host build %s`", h.Hostname, h.State, h.Hostname)
	}
	if token == "" {
		return refuse("no token presented for host %s", h.Hostname)
	}
	if subtle.ConstantTimeCompare([]byte(token), []byte(h.BuildToken)) != 1 {
		return refuse("wrong token presented for host %s", h.Hostname)
	}
	if !h.TokenExpires.IsZero() && !now.Before(h.TokenExpires) {
		return refuse("build token of host %s expired at %s; run `netkick host build %s` again", h.Hostname, h.TokenExpires.UTC().Format(time.RFC3339), h.Hostname)
	}
	return nil
}

// KickstartAccess decides whether a kickstart fetch is served: the host must
// be in build or installing state, the token must match and be unexpired, and
// when the host has a known address (reservation or lease) the request must
// come from it. knownIP is empty when the host has none.
func KickstartAccess(h *inventory.Host, token, remoteIP, knownIP string, now time.Time) error {
	if !Installing(h.State) {
		return refuse("host %s is %s, not in build mode; its kickstart is not served", h.Hostname, h.State)
	}
	if err := tokenOK(h, token, now); err != nil {
		return err
	}
	if knownIP != "" && remoteIP != knownIP {
		return refuse("kickstart of host %s requested from %s, but the host's address is %s", h.Hostname, remoteIP, knownIP)
	}
	return nil
}

// CallbackAccess decides whether an install report (built or failed) is accepted.
func CallbackAccess(h *inventory.Host, token string, now time.Time) error {
	if !Installing(h.State) {
		return refuse("install report for host %s refused: it is %s, not building", h.Hostname, h.State)
	}
	return tokenOK(h, token, now)
}

// Transition is a lifecycle event.
type Transition string

// Lifecycle events.
const (
	EventBuild    Transition = "build"     // ops ask for a (re)install
	EventFetched  Transition = "kickstart" // the installer fetched its kickstart
	EventBuilt    Transition = "built"     // %post reported success
	EventFailed   Transition = "failed"    // the installer reported failure
	EventCancel   Transition = "cancel"    // ops cancel a build
	EventDiscover Transition = "discover"  // an unknown machine PXE-booted
	EventRegister Transition = "register"  // ops registered or tagged a discovered host
)

// Next returns the state after event t in state s, or an error for a
// transition the lifecycle does not allow.
func Next(s inventory.State, t Transition) (inventory.State, error) {
	switch t {
	case EventBuild:
		return inventory.StateBuild, nil
	case EventCancel:
		if Installing(s) || s == inventory.StateFailed {
			return inventory.StateReady, nil
		}
	case EventFetched:
		if Installing(s) {
			return inventory.StateInstalling, nil
		}
	case EventBuilt:
		if Installing(s) {
			return inventory.StateInstalled, nil
		}
	case EventFailed:
		if Installing(s) {
			return inventory.StateFailed, nil
		}
	case EventDiscover:
		if s == "" || s == inventory.StateDiscovered {
			return inventory.StateDiscovered, nil
		}
	case EventRegister:
		if s == inventory.StateDiscovered {
			return inventory.StateReady, nil
		}
	}
	return s, fmt.Errorf("%w: a host that is %q cannot take the %q transition", inventory.ErrInvalid, s, t)
}
